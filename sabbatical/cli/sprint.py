"""`sabbatical new-sprint`, `sabbatical sprint …`, `sabbatical lab`, `sabbatical mlflow`."""

from __future__ import annotations

import io
import sys
from contextlib import ExitStack
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .context import current_workspace, open_pile, open_pile_if_any, print_json, print_table, warn

sprint = typer.Typer(help="Two-week sprints: status, journal, reading list, close.", no_args_is_help=True)

# `new-sprint`, `lab` and `mlflow` stand at the top level: the root mounts this app without a name.
commands = typer.Typer()

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SprintId = Annotated[
    str | None,
    typer.Argument(
        help="Sprint number (03 or 3), folder name, slug or a unique prefix of it, or words of its question "
        "(default: the active sprint).",
        show_default=False,
    ),
]


class JournalKind(str, Enum):
    failure = "failure"
    finding = "finding"
    feedback = "feedback"
    note = "note"


class Answer(str, Enum):
    yes = "yes"
    no = "no"
    partly = "partly"


def _sprint(sprint_id: str | None):
    from ..sprints.model import Sprint

    return Sprint(current_workspace(), sprint_id)


@commands.command("new-sprint")
def new_sprint(
    question: Annotated[str, typer.Argument(help="The research question this sprint tries to answer.")],
    hypothesis: Annotated[str, typer.Option(help="What you expect, and what would change your mind.")] = "",
    start: Annotated[
        str | None,
        typer.Option(help="First day, YYYY-MM-DD (default: after the last sprint, or today).", show_default=False),
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Length in days (default: [sprints] days, 14).", show_default=False)
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day, YYYY-MM-DD (instead of --days).", show_default=False)
    ] = None,
    slug: Annotated[
        str | None, typer.Option(help="Folder name after the number (default: from the question).", show_default=False)
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Keep this sprint off the published site.")] = False,
) -> None:
    """Start a sprint: folder, notebooks tracked in MLflow, reading list, journal."""
    from ..sprints.scaffold import create_sprint

    with open_pile_if_any() as opened:
        made = create_sprint(
            current_workspace(),
            question,
            conn=opened.conn if opened else None,
            hypothesis=hypothesis,
            start=start,
            days=days,
            end=end,
            slug=slug,
            private=private,
        )
    for line in made.warnings:
        warn(line)
    meta, reading = made.meta, made.reading
    found = f"{len(reading.entries)} items from the pile" if reading.pile_exists else "no pile yet"
    typer.echo(
        f"Sprint {meta.id} started in sprints/{made.sprint.name}/\n"
        f"  question  {meta.question}\n  dates     {meta.start} → {meta.end} ({meta.days} days)\n"
        f'  reading   {found}\n  MLflow    experiment "{meta.mlflow_experiment}" (made at the first run)\n'
        f"Next: sabbatical lab {meta.id}"
    )


@commands.command("lab")
def lab(
    sprint_id: SprintId = None,
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: 8888 or the next free one).", show_default=False)
    ] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
) -> None:
    """Start JupyterLab in a sprint folder, tracking to the workspace's MLflow store."""
    from ..sprints.model import Sprint, active_or_latest
    from ..sprints.servers import lab_launch, serve

    workspace = current_workspace()
    chosen = Sprint(workspace, sprint_id) if sprint_id else active_or_latest(workspace)
    launch = lab_launch(workspace, chosen, port=port, open_browser=not no_browser)
    for line in launch.warnings:
        warn(line)
    typer.echo(f"JupyterLab in {launch.cwd}\n  {launch.url}\nCtrl-C stops it.")
    raise typer.Exit(serve(launch))


@commands.command("mlflow")
def mlflow_ui(
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: 5000 or the next free one).", show_default=False)
    ] = None,
) -> None:
    """Start the MLflow UI on the workspace's store, with the link to the open sprint's runs."""
    from ..sprints.model import active_or_latest
    from ..sprints.servers import mlflow_launch, serve

    workspace = current_workspace()
    chosen = active_or_latest(workspace)
    launch = mlflow_launch(workspace, chosen, port=port)
    for line in launch.warnings:
        warn(line)
    runs = f"  sprint {chosen.id}'s runs: {launch.sprint_runs_url}\n" if chosen and launch.sprint_runs_url else ""
    typer.echo(
        f"MLflow UI on {launch.command[launch.command.index('--backend-store-uri') + 1]}\n"
        f"  {launch.url}\n{runs}Ctrl-C stops it."
    )
    raise typer.Exit(serve(launch))


@sprint.command("list")
def list_sprints(as_json: JsonOption = False) -> None:
    """List sprints with dates, status, runs, failures and findings."""
    from ..sprints.lifecycle import list_sprints as listing

    workspace = current_workspace()
    _ = workspace.config  # a broken sabbatical.toml is one clear error here too, as for every command
    result = listing(workspace)
    for line in result.warnings:
        warn(line)
    if as_json:
        print_json(result.sprints)
    elif not result.sprints and not result.problems:
        typer.echo('No sprints yet — start one with `sabbatical new-sprint "QUESTION"`.')
    elif result.sprints:
        _print_sprints(result.sprints)
    if result.problems:
        from ..errors import PartialFailure

        raise PartialFailure(
            f"listed {len(result.sprints)} sprint(s); {len(result.problems)} could not be read", result.problems
        )


def _print_sprints(sprints: list) -> None:
    print_table(
        ["id", "question", "dates", "left", "status", "runs", "failures", "findings"],
        [
            [
                s.id,
                s.title,
                f"{s.start} → {s.end}",
                _left(s),
                _status(s),
                "?" if s.runs is None else s.runs,
                s.failures,
                s.findings,
            ]
            for s in sprints
        ],
    )


def _left(summary) -> str:
    return "" if summary.days_left is None else f"{summary.days_left} d"


def _status(summary) -> str:
    status = f"closed ({summary.answer})" if summary.status == "closed" else summary.status
    return status + (" · private" if summary.private else "")


@sprint.command("status")
def status(sprint_id: SprintId = None, as_json: JsonOption = False) -> None:
    """Show one sprint in detail, with the best metrics per run."""
    from ..sprints.lifecycle import sprint_status

    result = sprint_status(_sprint(sprint_id))
    for line in result.warnings:
        warn(line)
    if as_json:
        print_json(result)
        return
    _render_status(result)


def _render_status(result) -> None:
    s = result.summary
    left = f", {s.days_left} days left" if s.days_left is not None else ""
    typer.echo(f"Sprint {s.id} · {s.title}  [{_status(s)}{left}]")
    rows = [
        ("question", s.question),
        ("hypothesis", result.hypothesis or "—"),
        ("dates", f"{s.start} → {s.end} ({s.days} days)"),
        ("folder", result.path),
        ("tracking", f"{result.tracking_uri} (experiment {s.mlflow_experiment_id})"),
        ("notebooks", ", ".join(result.notebooks) or "—"),
        ("artifacts", f"{len(result.artifacts)} files"),
        ("journal", f"{s.failures} failures, {s.findings} findings, {s.feedback} feedback, {s.notes} notes"),
    ]
    for label, value in rows:
        typer.echo(f"  {label:<11}{value}")
    superseded = set(result.superseded_runs)
    current_runs = [run for run in result.runs or [] if run.id not in superseded]
    if current_runs:
        print_table(
            ["run", "status", "params", "best metrics"],
            [[run.name, run.status, _params(run.params), _best(run.metrics)] for run in current_runs],
            title="Runs",
        )
    if len(current_runs) < len(result.runs or []):
        typer.echo(
            f"  ({len(result.runs or []) - len(current_runs)} runs of earlier executions of its notebooks, "
            "superseded, are left out; they stay in MLflow)"
        )
    current = [entry for entry in result.journal if entry.current]
    for entry in current[-10:]:
        typer.echo(
            f"  {entry.number:>3}  {entry.time[:16].replace('T', ' ')}  {entry.kind:<8} {entry.text}{_marks(entry)}"
        )
    hidden = len(result.journal) - len(current)
    if hidden:
        typer.echo(f"  ({hidden} retracted or superseded entries: `sabbatical sprint journal {s.id} --all`)")


def _marks(entry) -> str:
    marks = []
    if entry.seen_before:
        marks.append(f"also seen in {entry.seen_before} earlier run{'s' if entry.seen_before > 1 else ''}")
    if entry.example and not entry.kept:
        marks.append("example, not published")
    if entry.stale:
        marks.append("after close")
    if entry.retracted is not None:
        marks.append(f"retracted: {entry.retracted}")
    if entry.superseded_by is not None:
        marks.append("superseded by a later run of its notebook")
    if entry.cites:
        marks.append("cites " + ", ".join(entry.cites))
    evidence = [*entry.extra.get("evidence_runs", []), *entry.extra.get("evidence_figures", [])]
    if evidence:
        marks.append("evidence " + ", ".join(map(str, evidence)))
    return "".join(f"  [{mark}]" for mark in marks)


def _params(params: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _best(metrics) -> str:
    return ", ".join(_metric(name, m) for name, m in sorted(metrics.items()))


def _metric(name: str, m) -> str:
    """`loss ↓ 0.3 @1` when the goal is known; `loss 0.6` (the last value) when not; no step for one value."""
    at = f" @{m.best_step}" if m.points > 1 else ""
    if m.goal is None:
        return f"{name} {m.last:.4g}" + (f" @{m.last_step}" if m.points > 1 else "")
    return f"{name} {'↓' if m.goal == 'min' else '↑'} {m.best:.4g}{at}"


@sprint.command("journal")
def journal(
    sprint_id: SprintId = None,
    everything: Annotated[bool, typer.Option("--all", help="Also list retracted and superseded entries.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the journal's entries with their numbers (for `sprint log --retract N` and `--keep N`)."""
    chosen = _sprint_to_read(sprint_id)
    entries = [entry for entry in chosen.journal() if everything or entry.current]
    if as_json:
        print_json([_entry_json(entry) for entry in entries])
        return
    if not entries:
        typer.echo(f'Sprint {chosen.id}\'s journal is empty — `sabbatical sprint log finding "…"` writes one.')
        return
    print_table(
        ["#", "time", "kind", "text", "from"],
        [
            [entry.number, entry.time[:16].replace("T", " "), entry.kind, entry.text + _marks(entry), entry.source]
            for entry in entries
        ],
        title=f"Sprint {chosen.id} journal",
    )


def _entry_json(entry) -> dict:
    return {
        "number": entry.number,
        **entry.to_dict(),
        "current": entry.current,
        "retracted": entry.retracted,
        "superseded_by": entry.superseded_by,
        "kept": entry.kept,
        "stale": entry.stale,
        "example": entry.example,
        "seen_before": entry.seen_before,
    }


def _sprint_to_read(sprint_id: str | None):
    """The sprint named, else the active one, else the latest (reading a closed sprint is fine)."""
    from ..errors import NotFound
    from ..sprints.model import Sprint, active_or_latest

    workspace = current_workspace()
    chosen = Sprint(workspace, sprint_id) if sprint_id else active_or_latest(workspace)
    if chosen is None:
        raise NotFound('No sprints yet — start one with `sabbatical new-sprint "QUESTION"`')
    return chosen


@sprint.command("log")
def log(
    kind: Annotated[
        JournalKind | None, typer.Argument(help="failure, finding, feedback or note.", show_default=False)
    ] = None,
    text: Annotated[str | None, typer.Argument(help="What happened, in a sentence or two.", show_default=False)] = None,
    source: Annotated[
        str | None, typer.Option("--from", help="Who said it or where it came from.", show_default=False)
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Keep this entry off the published site.")] = False,
    cite: Annotated[
        list[str] | None,
        typer.Option("--cite", help="A pile item the entry builds on (repeatable).", show_default=False),
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option("--run", help="A run (name or MLflow id) that shows it (repeatable).", show_default=False),
    ] = None,
    figure: Annotated[
        list[str] | None,
        typer.Option("--figure", help="A figure in artifacts/ that shows it (repeatable).", show_default=False),
    ] = None,
    retract: Annotated[
        int | None, typer.Option("--retract", help="Retract entry N (see `sprint journal`).", show_default=False)
    ] = None,
    why: Annotated[str | None, typer.Option("--why", help="Why the entry is retracted.", show_default=False)] = None,
    keep: Annotated[
        int | None,
        typer.Option(
            "--keep",
            help="Keep entry N: publish an example, or accept an entry logged after the close.",
            show_default=False,
        ),
    ] = None,
    sprint_id: Annotated[
        str | None, typer.Option("--sprint", help="Sprint (default: the active one).", show_default=False)
    ] = None,
) -> None:
    """Write a failure, finding, feedback or note into the sprint journal; or retract or keep entry N."""
    from ..errors import UsageError
    from ..sprints import lifecycle

    if retract is not None or keep is not None:
        if kind is not None or text is not None or (retract is not None and keep is not None):
            raise UsageError(
                "--retract N and --keep N stand alone: correct an entry by retracting it, then log the corrected one"
            )
        _correct(_sprint_to_read(sprint_id) if sprint_id else _sprint(None), retract, why, keep)
        return
    if kind is None or text is None:
        raise UsageError('say what to log: `sabbatical sprint log finding "what you found"`')
    chosen = _sprint(sprint_id)
    entry = lifecycle.log_entry(
        chosen, kind.value, text, source=source, private=private, cites=cite, runs=run, figures=figure
    )
    if entry.after_close:
        warn(lifecycle.after_close_warning(chosen, entry))
    typer.echo(f"Logged a {entry.kind} in sprint {chosen.id}'s journal{' (private)' if entry.private else ''}.")


def _correct(chosen, retract: int | None, why: str | None, keep: int | None) -> None:
    from ..sprints import lifecycle

    if retract is not None:
        entry = lifecycle.retract_entry(chosen, retract, why or "")
        typer.echo(
            f"Retracted entry {entry.number} of sprint {chosen.id} ({entry.kind}: {entry.text[:60]}); "
            "it stays in the journal, marked retracted."
        )
    elif keep is not None:
        entry = lifecycle.keep_entry(chosen, keep)
        typer.echo(f"Kept entry {entry.number} of sprint {chosen.id}; it is part of the published record.")


@sprint.command("close")
def close(
    sprint_id: SprintId = None,
    answer: Annotated[Answer, typer.Option(help="Did the sprint answer its question?")] = ...,  # type: ignore[assignment]
    summary: Annotated[str, typer.Option(help="What the sprint showed, in a few sentences.")] = ...,  # type: ignore[assignment]
) -> None:
    """Close a sprint with its answer and retro."""
    from ..sprints.lifecycle import close_sprint

    chosen = _sprint(sprint_id)
    meta = close_sprint(chosen, answer.value, summary)
    typer.echo(f"Closed sprint {chosen.id} (answer: {meta.answer}); the retro is in sprints/{chosen.name}/sprint.md.")


@sprint.command("reopen")
def reopen(
    sprint_id: Annotated[
        str | None,
        typer.Argument(help="Sprint number, slug or folder name (default: the latest sprint).", show_default=False),
    ] = None,
) -> None:
    """Reopen a closed sprint."""
    from ..sprints.lifecycle import reopen_sprint, reopen_warnings
    from ..sprints.model import latest_sprint

    chosen = _sprint(sprint_id) if sprint_id else latest_sprint(current_workspace())
    overlaps = reopen_warnings(chosen)
    reopen_sprint(chosen)
    for line in overlaps:
        warn(line)
    typer.echo(f"Reopened sprint {chosen.id}.")


@sprint.command("run")
def run_notebook(
    notebook: Annotated[str, typer.Argument(help="The notebook: a path, or a name in the sprint's notebooks/.")],
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "-p", "--parameter", help="name=value, injected as papermill does (repeatable).", show_default=False
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Save the executed copy here (default: over the notebook).", show_default=False),
    ] = None,
    sprint_id: Annotated[
        str | None, typer.Option("--sprint", help="Sprint (default: the active one).", show_default=False)
    ] = None,
    timeout: Annotated[int, typer.Option(help="Seconds a cell may run.")] = 600,
) -> None:
    """Run a notebook headless in the sprint; what it logs replaces what its earlier runs logged."""
    from ..errors import SabbaticalError
    from ..sprints.notebooks import parse_parameters
    from ..sprints.notebooks import run_notebook as execute

    chosen = _sprint(sprint_id)
    if chosen.meta.status == "closed":
        warn(
            f"sprint {chosen.id} is closed: what this run logs is recorded as after the close, and the retro is "
            f"stale until you reopen it (`sabbatical sprint reopen {chosen.id}`) or keep the entries"
        )
    done = execute(chosen, notebook, parameters=parse_parameters(parameter or []), output=output, timeout=timeout)
    _render_execution(chosen, done)
    if done.error:
        raise SabbaticalError(done.error)


def _render_execution(chosen, done) -> None:
    given = ", ".join(f"{key}={value!r}" for key, value in done.parameters.items())
    typer.echo(
        f"Ran {done.notebook} in sprint {chosen.id} ({done.seconds:.1f} s{'; ' + given if given else ''}); "
        f"executed copy: {done.output}"
    )
    if done.superseded:
        typer.echo(f"  replaces {done.superseded} entries its earlier runs logged (marked superseded)")
    for executed in done.runs:
        typer.echo(f"  run      {executed.name}  {executed.status}  {executed.id}")
    for entry in done.entries:
        typer.echo(f"  {entry.kind:<8} #{entry.number} {entry.text}{_marks(entry)}")
    if not done.runs and not done.entries:
        typer.echo("  it opened no runs and logged nothing")


@sprint.command("bib")
def bib(
    sprint_id: SprintId = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write here (default: the sprint's references.bib; - for stdout).", show_default=False
        ),
    ] = None,
) -> None:
    """Write BibTeX of the sprint's reading list and of every item its journal cites."""
    from ..sprints.citations import default_bib_path, write_bibliography

    chosen = _sprint_to_read(sprint_id)
    if out is not None and str(out) == "-":
        write_bibliography(chosen, sys.stdout)
        return
    target = out or default_bib_path(chosen)
    buffer = io.StringIO()
    count = write_bibliography(chosen, buffer)
    target.write_text(buffer.getvalue(), encoding="utf-8")
    typer.echo(f"Wrote {count} BibTeX entries (reading list and citations of sprint {chosen.id}) to {target}.")


@sprint.command("reading")
def reading(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="[SPRINT] to show the list (default: the active sprint), or `add ID…` / `remove ID…` to pin items "
            "to it or keep them off it (pins survive --refresh).",
            show_default=False,
            metavar="[SPRINT | add|remove ID…]",
        ),
    ] = None,
    sprint_id: Annotated[
        str | None, typer.Option("--sprint", help="The sprint to pin to or show (default: active).", show_default=False)
    ] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Also rewrite the Reading list in sprint.md.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Ask the [llm] endpoint whether each of the best candidates helps answer the question; list "
            "the ones it says do (its verdicts are kept, so a second check asks nothing again).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show (or --refresh) the sprint's reading list from the pile; `add`/`remove ID` pin or remove items."""
    from ..sprints.lifecycle import refresh_reading
    from ..sprints.reading_list import pin, render_markdown

    words = list(args or [])
    action = words.pop(0) if words and words[0] in ("add", "remove") else None
    if action is None and len(words) > 1:
        raise typer.BadParameter("give one sprint, or `add ID…` / `remove ID…`")
    if action and not words:
        raise typer.BadParameter(f"`sprint reading {action}` needs the id of at least one pile item")
    chosen = _sprint(sprint_id or (words[0] if action is None and words else None))
    if check:
        from ..sprints.reading_check import required_endpoint

        required_endpoint(current_workspace().config)
    with ExitStack() as stack:
        opened = None
        if action or current_workspace().pile_path.exists():  # a check of no pile asks nothing and makes none
            why = "the reading check's calls to the LLM" if check and not action else "the sprint's reading-list pins"
            opened = stack.enter_context(open_pile(writes=bool(action) or check, why=why))
        if action and opened is not None:
            for ref in words:
                item_id = pin(opened.conn, chosen.id, ref, remove=action == "remove")
                typer.echo(
                    f"{'Removed' if action == 'remove' else 'Pinned'} {item_id} "
                    f"{'from' if action == 'remove' else 'to'} sprint {chosen.id}'s reading list.",
                    err=as_json,
                )
        result = refresh_reading(chosen, write=refresh, conn=opened.conn if opened else None, check=check)
    if check and result.pile_exists:
        typer.echo(f"The model judged {result.checked} candidate(s) and left out {result.left_by_check}.", err=True)
    if as_json:
        print_json(result)
    elif result.entries:
        print_table(
            ["#", "item", "kind", "title", "why"],
            [[n, e.item_id, e.contribution or e.kind, e.title, e.why] for n, e in enumerate(result.entries, 1)],
        )
    else:
        typer.echo(render_markdown(result))
    if refresh:
        typer.echo(f"Wrote the reading list into sprints/{chosen.name}/sprint.md.", err=as_json)
    if result.check_problems:
        from ..errors import PartialFailure

        raise PartialFailure(
            f"the reading list was made; {len(result.check_problems)} problem(s) with its check",
            result.check_problems,
        )
