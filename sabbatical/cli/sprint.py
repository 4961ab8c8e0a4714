"""`sabbatical new-sprint`, `sabbatical sprint …`, `sabbatical lab`, `sabbatical mlflow`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .context import current_workspace, print_json, print_table, warn

sprint = typer.Typer(help="Two-week sprints: status, journal, reading list, close.", no_args_is_help=True)

# `new-sprint`, `lab` and `mlflow` stand at the top level: the root mounts this app without a name.
commands = typer.Typer()

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SprintId = Annotated[str | None, typer.Argument(
    help="Sprint number (03 or 3), slug or folder name (default: the active sprint).", show_default=False)]


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
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: after the last sprint, or today).",
                                              show_default=False)] = None,
    days: Annotated[int | None, typer.Option(help="Length in days (default: [sprints] days, 14).",
                                             show_default=False)] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (instead of --days).", show_default=False)] = None,
    slug: Annotated[str | None, typer.Option(help="Folder name after the number (default: from the question).",
                                             show_default=False)] = None,
    private: Annotated[bool, typer.Option("--private", help="Keep this sprint off the published site.")] = False,
) -> None:
    """Start a sprint: folder, notebooks tracked in MLflow, reading list, journal."""
    from ..sprints.scaffold import create_sprint

    made = create_sprint(current_workspace(), question, hypothesis=hypothesis, start=start, days=days, end=end,
                         slug=slug, private=private)
    for line in made.warnings:
        warn(line)
    meta, reading = made.meta, made.reading
    found = f"{len(reading.entries)} items from the pile" if reading.pile_exists else "no pile yet"
    typer.echo(f"Sprint {meta.id} started in sprints/{made.sprint.name}/\n"
               f"  question  {meta.question}\n  dates     {meta.start} → {meta.end} ({meta.days} days)\n"
               f"  reading   {found}\n  MLflow    experiment \"{meta.mlflow_experiment}\" (made at the first run)\n"
               f"Next: sabbatical lab {meta.id}")


@commands.command("lab")
def lab(
    sprint_id: SprintId = None,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: 8888 or the next free one).",
                                             show_default=False)] = None,
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
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: 5000 or the next free one).",
                                             show_default=False)] = None,
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
    typer.echo(f"MLflow UI on {launch.command[launch.command.index('--backend-store-uri') + 1]}\n"
               f"  {launch.url}\n{runs}Ctrl-C stops it.")
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
        return
    if not result.sprints:
        typer.echo('No sprints yet — start one with `sabbatical new-sprint "QUESTION"`.')
        return
    print_table(["id", "question", "dates", "left", "status", "runs", "failures", "findings"],
                [[s.id, s.title, f"{s.start} → {s.end}", _left(s), _status(s), "?" if s.runs is None else s.runs,
                  s.failures, s.findings] for s in result.sprints])


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
    rows = [("question", s.question), ("hypothesis", result.hypothesis or "—"),
            ("dates", f"{s.start} → {s.end} ({s.days} days)"), ("folder", result.path),
            ("tracking", f"{result.tracking_uri} (experiment {s.mlflow_experiment_id})"),
            ("notebooks", ", ".join(result.notebooks) or "—"), ("artifacts", f"{len(result.artifacts)} files"),
            ("journal", f"{s.failures} failures, {s.findings} findings, {s.feedback} feedback, {s.notes} notes")]
    for label, value in rows:
        typer.echo(f"  {label:<11}{value}")
    if result.runs:
        print_table(["run", "status", "params", "best metrics"],
                    [[run.name, run.status, _params(run.params), _best(run.metrics)] for run in result.runs],
                    title="Runs")
    for entry in result.journal[-10:]:
        typer.echo(f"  {entry.time[:16].replace('T', ' ')}  {entry.kind:<8} {entry.text}")


def _params(params: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _best(metrics) -> str:
    return ", ".join(f"{name} {'↓' if m.goal == 'min' else '↑'} {m.best:.4g} @{m.best_step}"
                     for name, m in sorted(metrics.items()))


@sprint.command("log")
def log(
    kind: Annotated[JournalKind, typer.Argument(help="failure, finding, feedback or note.")],
    text: Annotated[str, typer.Argument(help="What happened, in a sentence or two.")],
    source: Annotated[str | None, typer.Option("--from", help="Who said it or where it came from.",
                                               show_default=False)] = None,
    private: Annotated[bool, typer.Option("--private", help="Keep this entry off the published site.")] = False,
    sprint_id: Annotated[str | None, typer.Option("--sprint", help="Sprint (default: the active one).",
                                                  show_default=False)] = None,
) -> None:
    """Write a failure, finding, feedback or note into the sprint journal."""
    from ..sprints.lifecycle import log_entry

    chosen = _sprint(sprint_id)
    entry = log_entry(chosen, kind.value, text, source=source, private=private)
    typer.echo(f"Logged a {entry.kind} in sprint {chosen.id}'s journal{' (private)' if entry.private else ''}.")


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
def reopen(sprint_id: Annotated[str | None, typer.Argument(
        help="Sprint number, slug or folder name (default: the latest sprint).", show_default=False)] = None) -> None:
    """Reopen a closed sprint."""
    from ..sprints.lifecycle import reopen_sprint
    from ..sprints.model import latest_sprint

    chosen = _sprint(sprint_id) if sprint_id else latest_sprint(current_workspace())
    reopen_sprint(chosen)
    typer.echo(f"Reopened sprint {chosen.id}.")


@sprint.command("reading")
def reading(
    sprint_id: SprintId = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Also rewrite the Reading list in sprint.md.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show (or --refresh) the sprint's reading list from the pile."""
    from ..sprints.lifecycle import refresh_reading
    from ..sprints.reading_list import render_markdown

    chosen = _sprint(sprint_id)
    result = refresh_reading(chosen, write=refresh)
    if as_json:
        print_json(result)
    elif result.entries:
        print_table(["#", "item", "kind", "title", "tldr"],
                    [[n, e.item_id, e.contribution or e.kind, e.title, e.tldr or ""]
                     for n, e in enumerate(result.entries, 1)])
    else:
        typer.echo(render_markdown(result))
    if refresh:
        typer.echo(f"Wrote the reading list into sprints/{chosen.name}/sprint.md.", err=as_json)
