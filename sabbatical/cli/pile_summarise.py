"""`sabbatical pile summarise` and `pile llm-log`: summaries, judgements, prompt comparisons, the call log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .context import current_workspace, open_pile, print_json, print_table, progress

# Merged into `sabbatical pile` by cli/pile.py.
commands = typer.Typer()

OFFLINE_NOTE = (
    "Note: summaries are made offline (extractive summariser + learned insight judge). For LLM "
    "summaries, set [llm] base_url in sabbatical.toml (or OPENAI_BASE_URL) and put the key in "
    "OPENAI_API_KEY."
)


def _selection(all_: bool, pending: bool, retry_failed: bool, ids: list[str]) -> str:
    from ..errors import UsageError

    chosen = [
        name
        for name, on in (("all", all_), ("pending", pending), ("retry-failed", retry_failed), ("ids", bool(ids)))
        if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"choose one of --all, --pending, --retry-failed, --ids (got {', '.join(chosen)})")
    return chosen[0] if chosen else "pending"


@commands.command("summarise")
def summarise(
    all_: Annotated[bool, typer.Option("--all", help="Every item (those already done count as cached).")] = False,
    pending: Annotated[
        bool, typer.Option("--pending", help="Items without a summary from the current producer (default).")
    ] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Only items whose last try failed.")] = False,
    ids: Annotated[
        list[str] | None, typer.Option("--ids", help="These items (repeat, or separate with commas).")
    ] = None,
    budget: Annotated[
        str | None, typer.Option("--budget", help="Stop after N tokens (5000, 20k) or dollars ($0.50).")
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Prompt version to use, e.g. v2 (default: [llm] prompt).")
    ] = None,
    sample: Annotated[
        int | None, typer.Option("--sample", help="Only this many items (a stable random sample).")
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option("--deadline", min=0, help="Stop after this many seconds; unfinished items stay pending."),
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="Compare --prompt with the current prompt on --sample items.")
    ] = False,
    dev_set: Annotated[
        Path | None,
        typer.Option(
            "--dev-set",
            help="With --compare: also score both prompts on this labelled dev set (JSON lines, e.g. "
            "benchmarks/data/judge-dev.jsonl).",
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Where --dev-set rows without text are read from (default: SABBATICAL_CORPUS)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Summarise and judge items (offline, or through the configured LLM endpoint)."""
    from ..llm import parse_budget
    from ..reading.summarise import SummariseRequest, summarise_workspace

    workspace = current_workspace()
    wanted = [part.strip() for value in ids or [] for part in value.split(",") if part.strip()]
    if compare:
        _compare(workspace, prompt, sample or 20, as_json, (dev_set, corpus))
        return
    if dev_set is not None:
        from ..errors import UsageError

        raise UsageError("--dev-set goes with --compare (e.g. --compare --prompt v3 --dev-set FILE)")
    selection = _selection(all_, pending, retry_failed, wanted)
    limit = parse_budget(budget) if budget else None  # None: the workspace's [llm] budget
    why = "`pile summarise` stores summaries in the pile"
    with open_pile(writes=True, why=why) as opened, progress("Summarising") as report_progress:
        run = SummariseRequest(
            selection=selection, ids=wanted, sample=sample, budget=limit, deadline=deadline, on_progress=report_progress
        )
        report = summarise_workspace(workspace, run, prompt_version=prompt, conn=opened.conn)
    _render_report(report, as_json)
    report.raise_for_failures()


def _render_report(report: Any, as_json: bool) -> None:
    if report.producer == "offline":
        typer.echo(OFFLINE_NOTE, err=True)
    if as_json:
        print_json(report)
    else:
        who = (
            f"offline ({report.model})"
            if report.producer == "offline"
            else f"{report.model} with prompt {report.prompt_version}"
        )
        line = (
            f"Summarised {report.done} of {report.selected} items {who}: {report.cached} cached, "
            f"{report.failed} failed, {report.pending} pending"
        )
        if report.producer == "llm":
            cost = f", ${report.cost_usd:.4f}" if report.cost_usd is not None else ""
            line += f"; {report.calls} calls, {report.tokens_in + report.tokens_out:,} tokens{cost}"
        if report.quotes_total:
            line += f"; {report.quotes_verified}/{report.quotes_total} quotes verified"
        typer.echo(line + ".")
    if report.stopped:
        typer.echo(
            f"Stopped early: {report.stopped}. {report.pending} items were left pending; run "
            "`sabbatical pile summarise` again to continue.",
            err=True,
        )


def _compare(workspace: Any, prompt: str | None, sample: int, as_json: bool, dev: tuple[Any, Any]) -> None:
    from ..errors import UsageError
    from ..reading.prompt_compare import compare_prompts

    if not prompt:
        raise UsageError("--compare needs --prompt VERSION, the version to try (e.g. --prompt v2)")
    why = "`pile summarise --compare` stores both prompts' summaries in the pile"
    with open_pile(writes=True, why=why) as opened, progress("Comparing prompts") as report_progress:
        comparison = compare_prompts(
            workspace, prompt, sample, conn=opened.conn, on_progress=report_progress, dev_set=dev[0], corpus=dev[1]
        )
    if as_json:
        print_json(comparison)
        return
    old, new = comparison.old, comparison.new
    rows = [
        [
            r.item_id,
            r.triage or "",
            _verdict(r.old_kind, r.old_score, r.old_status),
            _verdict(r.new_kind, r.new_score, r.new_status),
            _clip(r.old_tldr),
            _clip(r.new_tldr),
        ]
        for r in comparison.rows
    ]
    print_table(
        [
            "item",
            "triage",
            old.prompt_version,
            new.prompt_version,
            f"tldr ({old.prompt_version})",
            f"tldr ({new.prompt_version})",
        ],
        rows,
        title="Old vs new, side by side",
    )
    figures = [
        ["kind agreement", _pct(comparison.kind_agreement), ""],
        ["score correlation (Spearman)", _num(comparison.score_correlation), ""],
        [
            f"agreement with your triage ({comparison.triaged_items} items)",
            _pct(old.triage_agreement),
            _pct(new.triage_agreement),
        ],
        ["failure rate", _pct(old.failure_rate), _pct(new.failure_rate)],
        ["tokens per item", _num(old.tokens_per_item), _num(new.tokens_per_item)],
        ["latency per item (ms)", _num(old.latency_ms_per_item), _num(new.latency_ms_per_item)],
        ["calls made now", str(old.calls_this_run), str(new.calls_this_run)],
    ]
    print_table(["figure", old.prompt_version, new.prompt_version], figures, title="Agreement")
    if comparison.dev_set is not None:
        _render_dev_set(comparison.dev_set, old.prompt_version, new.prompt_version)
    typer.echo(
        f'Recorded as MLflow run {comparison.mlflow_run_id} in the "prompts" experiment '
        "(`sabbatical mlflow` to browse). To adopt the new prompt, set [llm] prompt = "
        f'"{new.prompt_version}" in sabbatical.toml.'
    )


def _render_dev_set(dev: Any, old: str, new: str) -> None:
    figures = [
        ["balanced accuracy, insight vs not", _num(dev.old_balanced_accuracy), _num(dev.new_balanced_accuracy)],
        ["labels changed (insight/sota/other)", "", f"{dev.labels_changed} of {dev.rows}"],
        ["failed", str(dev.old_failed), str(dev.new_failed)],
    ]
    skipped = f", {dev.missing} without text skipped" if dev.missing else ""
    print_table(["figure", old, new], figures, title=f"Dev set {dev.path} ({dev.rows} labelled abstracts{skipped})")


def _verdict(kind: str | None, score: float | None, status: str | None) -> str:
    if status == "failed":
        return "failed"
    if kind is None:
        return "—"
    return f"{kind} {score:.2f}" if score is not None else kind


def _clip(text: str | None, width: int = 70) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


@commands.command("llm-log")
def llm_log(
    limit: Annotated[int, typer.Option("--limit", help="How many calls, newest first.")] = 50,
    item: Annotated[str | None, typer.Option("--item", help="Only calls about this item.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only calls with this status (ok, invalid, http_error, timeout).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the calls as JSON.")] = False,
) -> None:
    """List logged LLM calls: provider, model, prompt, tokens, latency, cost, status, error."""
    from ..llm import recent_calls

    with open_pile() as opened:
        calls = recent_calls(opened.conn, limit, item, status)
    if as_json:
        print_json(calls)
        return
    rows = [
        [
            c.at[:19].replace("T", " "),
            c.purpose,
            f"{c.model} @ {c.provider}",
            c.prompt_version or "",
            c.item_id or "",
            c.structured_mode or "",
            f"{c.tokens_in}/{c.tokens_out}",
            "" if c.latency_ms is None else f"{c.latency_ms:.0f}",
            "" if c.cost_usd is None else f"{c.cost_usd:.5f}",
            c.status if c.attempt == 1 else f"{c.status} (try {c.attempt})",
            _clip(c.error, 60),
        ]
        for c in calls
    ]
    print_table(
        ["at", "purpose", "model", "prompt", "item", "mode", "tokens in/out", "ms", "$", "status", "error"],
        rows,
        title=None if rows else "No LLM calls logged yet",
    )
