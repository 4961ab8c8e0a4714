"""A sprint's life after `new-sprint`: listing, status, the journal from the CLI, close, reopen, reading.

Functions here take a `Sprint` (or the workspace) and return dataclasses for the CLI to render.
sprint.md stays the source of truth: closing writes its Retro section and front matter first, then tags
the MLflow experiment (when one was made); when only the tagging fails the close stands and the error
says so (exit 3). Listing sprints counts runs from each journal's run events and never loads MLflow;
a sprint's status reads its runs from MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ..errors import PartialFailure, SabbaticalError, SprintFileError, TrackingError, UsageError
from . import mlflow_store, tracking
from .journal import JournalEntry, count_kinds, read_events, record
from .model import ANSWERS, Sprint, SprintMeta, all_sprints
from .reading_list import ReadingList, render_markdown, search_pile

if TYPE_CHECKING:
    import sqlite3

    from ..workspace import Workspace


@dataclass
class SprintSummary:
    id: str
    folder: str
    title: str
    question: str
    start: str
    end: str
    days: int
    days_left: int | None
    status: str
    answer: str | None
    private: bool
    runs: int | None
    failures: int
    findings: int
    feedback: int
    notes: int
    mlflow_experiment_id: str | None


@dataclass
class SprintListing:
    sprints: list[SprintSummary]
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per sprint that could not be read


@dataclass
class SprintStatus:
    summary: SprintSummary
    hypothesis: str
    path: str
    tracking_uri: str
    notebooks: list[str]
    artifacts: list[str]
    journal: list[JournalEntry]
    runs: list[tracking.RunSummary] | None
    warnings: list[str] = field(default_factory=list)
    superseded_runs: list[str] = field(default_factory=list)  # runs of a notebook's earlier executions


def days_left(meta: SprintMeta, today: date | None = None) -> int | None:
    """Days until the end, counting today (0 once the end has passed; None when closed)."""
    if meta.status != "open":
        return None
    today = today or date.today()
    if today < meta.start:
        return meta.days
    return max(0, (meta.end - today).days + 1)


def summarise(sprint: Sprint, meta: SprintMeta, runs: int | None, today: date | None = None) -> SprintSummary:
    counts = count_kinds(sprint.journal())
    return SprintSummary(
        id=sprint.id,
        folder=sprint.name,
        title=meta.title,
        question=meta.question,
        start=meta.start.isoformat(),
        end=meta.end.isoformat(),
        days=meta.days,
        days_left=days_left(meta, today),
        status=meta.status,
        answer=meta.answer,
        private=meta.private,
        runs=runs,
        failures=counts["failure"],
        findings=counts["finding"],
        feedback=counts["feedback"],
        notes=counts["note"],
        mlflow_experiment_id=meta.mlflow_experiment_id,
    )


def list_sprints(workspace: Workspace, *, today: date | None = None, with_runs: bool = True) -> SprintListing:
    """Every sprint with its dates, status and journal counts, and (from its journal) its number of runs.

    A sprint whose sprint.md cannot be read is left out and named in `problems`; the others are listed."""
    listing = SprintListing([])
    for sprint in all_sprints(workspace):
        try:
            meta = sprint.meta
        except SprintFileError as exc:
            listing.problems.append(str(exc))
            continue
        listing.sprints.append(summarise(sprint, meta, journal_run_count(sprint) if with_runs else None, today))
    return listing


def journal_run_count(sprint: Sprint) -> int:
    """Tracked runs the sprint's journal saw start (each run once, however often it is recorded), leaving out
    the runs of a notebook's superseded executions."""
    started = {event.get("run_id") for event in read_events(sprint.journal_path, "run-started")}
    return len(started - set(superseded_runs(sprint)))


def superseded_runs(sprint: Sprint) -> list[str]:
    """Ids of runs opened by an execution of a notebook that a later execution of it superseded."""
    started = read_events(sprint.journal_path, "run-started")
    latest: dict[str, str] = {}
    for event in started:
        if event.get("notebook_name") and event.get("execution"):
            latest[str(event["notebook_name"])] = str(event["execution"])
    for event in read_events(sprint.journal_path, "superseded"):
        latest[str(event.get("notebook"))] = str(event.get("execution"))
    return [
        str(event["run_id"])
        for event in started
        if event.get("notebook_name") in latest
        and event.get("run_id")
        and event.get("execution") != latest[str(event["notebook_name"])]
    ]


def sprint_status(sprint: Sprint, *, today: date | None = None) -> SprintStatus:
    """One sprint in detail: its journal, files, and every run (from MLflow) with its best metrics."""
    meta = sprint.meta
    warnings: list[str] = []
    runs: list[tracking.RunSummary] | None = []
    try:
        experiment_id = _experiment_id(sprint)
        meta.mlflow_experiment_id = experiment_id
        if experiment_id:
            runs = _run_summaries(sprint.workspace, experiment_id)
    except TrackingError as exc:
        runs = None
        warnings.append(f"runs are missing: {exc}")
    return SprintStatus(
        summary=summarise(sprint, meta, None if runs is None else len(runs), today),
        hypothesis=meta.hypothesis,
        path=str(sprint.folder),
        tracking_uri=sprint.workspace.tracking_uri,
        notebooks=_files(sprint.notebooks_dir, "*.ipynb"),
        artifacts=_files(sprint.artifacts_dir, "**/*"),
        journal=sprint.journal(),
        runs=runs,
        warnings=warnings,
        superseded_runs=superseded_runs(sprint),
    )


def _experiment_id(sprint: Sprint) -> str | None:
    """The sprint's experiment, read from the local store when it can be (importing MLflow is seconds)."""
    meta = sprint.meta
    if not meta.mlflow_experiment_id and not tracking.local_store_missing(sprint.workspace):
        answered, found = mlflow_store.experiment_id_by_name(sprint.workspace, tracking.sprint_experiment_name(meta))
        if answered:
            return found
    return tracking.find_sprint_experiment(sprint)


def _run_summaries(workspace: Workspace, experiment_id: str) -> list[tracking.RunSummary]:
    """The runs as MLflow gives them, read from the local store when it can be, else through MLflow."""
    if tracking.local_store_missing(workspace):
        return []
    read = mlflow_store.run_summaries(workspace, experiment_id)
    return read if read is not None else tracking.run_summaries(workspace, experiment_id)


def _files(folder, pattern: str) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        str(path.relative_to(folder))
        for path in folder.glob(pattern)
        if path.is_file() and not path.name.startswith(".")
    )


def log_entry(
    sprint: Sprint,
    kind: str,
    text: str,
    *,
    source: str | None = None,
    private: bool = False,
    cites: list[str] | None = None,
    runs: list[str] | None = None,
    figures: list[str] | None = None,
) -> JournalEntry:
    """A journal entry written from the command line (`--from NAME` names who said it), with its citations
    checked first; to a closed sprint it is recorded as logged after the close (`entry.after_close`)."""
    from .citations import check_evidence

    evidence = check_evidence(sprint, cites=cites, runs=runs, figures=figures)
    return record_entry(sprint, kind, text, source=source or "cli", private=private, **evidence.fields())


def record_entry(
    sprint: Sprint, kind: str, text: str, *, source: str, private: bool = False, **extra: Any
) -> JournalEntry:
    """Append an entry; to a closed sprint it is marked `after_close` and the retro says it is stale."""
    closed = sprint.meta.status == "closed"
    entry = record(
        sprint.journal_path, kind, text, source=source, private=private, after_close=True if closed else None, **extra
    )
    if closed:
        mark_stale_retro(sprint)
    return entry


def after_close_warning(sprint: Sprint, entry: JournalEntry) -> str:
    return (
        f"sprint {sprint.id} is closed: entry {_number_of(sprint, entry)} was recorded as logged after the "
        f"close, and its retro is stale until you reopen it (`sabbatical sprint reopen {sprint.id}`) or keep "
        f"the entry (`sabbatical sprint log --keep N --sprint {sprint.id}`)"
    )


def _number_of(sprint: Sprint, entry: JournalEntry) -> str:
    for candidate in reversed(sprint.journal()):
        if candidate.time == entry.time and candidate.text == entry.text and candidate.kind == entry.kind:
            return str(candidate.number)
    return "N"


STALE_MARK = "_Stale:"


def mark_stale_retro(sprint: Sprint) -> None:
    """Say at the top of the Retro section which entries came after the close (or nothing, once none is stale)."""
    from .model import folder_lock

    with folder_lock(sprint.folder):
        document = sprint.document()
        retro = document.section("Retro")
        if retro is None:
            return
        kept = [line for line in retro.strip("\n").splitlines() if not line.startswith(STALE_MARK)]
        while kept and not kept[0].strip():
            kept.pop(0)
        stale = [entry.number for entry in sprint.journal() if entry.stale]
        if stale and document.meta.status == "closed":
            numbers = ", ".join(map(str, stale))
            kept = [
                f"{STALE_MARK} {len(stale)} journal {'entry' if len(stale) == 1 else 'entries'} ({numbers}) "
                "came after the close and are not in this retro — reopen the sprint, or keep them with "
                "`sabbatical sprint log --keep N`._",
                "",
            ] + kept
        body = "\n".join(kept)
        if body.strip("\n") != retro.strip("\n"):
            document.replace_section("Retro", body)
            sprint.save(document)


def retract_entry(sprint: Sprint, number: int, why: str) -> JournalEntry:
    """Take entry N back (an event; the entry stays in the journal, marked retracted)."""
    from .journal import retract

    entry = retract(sprint.journal_path, number, why)
    mark_stale_retro(sprint)
    return entry


def keep_entry(sprint: Sprint, number: int) -> JournalEntry:
    """Keep entry N: an example entry is then published; an entry logged after the close joins the record."""
    from .journal import keep

    entry = keep(sprint.journal_path, number)
    mark_stale_retro(sprint)
    return entry


def close_sprint(sprint: Sprint, answer: str, summary: str, *, today: date | None = None) -> SprintMeta:
    """Write the retro, mark the sprint closed with its answer, and tag its MLflow experiment."""
    if answer not in ANSWERS:
        raise UsageError(f"--answer must be yes, no or partly, not {answer!r}")
    summary = summary.strip()
    if not summary:
        raise UsageError('the summary is empty — say in a few sentences what the sprint showed: --summary "…"')
    document = sprint.document()
    meta = document.meta
    if meta.status == "closed":
        raise SabbaticalError(
            f"sprint {sprint.id} is already closed (answer: {meta.answer}) — "
            f"`sabbatical sprint reopen {sprint.id}` first to close it again"
        )
    today = today or date.today()
    meta.status, meta.answer, meta.closed = "closed", answer, today
    document.replace_section("Retro", render_retro(meta, summary, sprint.journal()))
    sprint.save(document)
    record(
        sprint.journal_path,
        "note",
        f"closed with answer {answer}: {summary}",
        source="sabbatical sprint close",
        event="closed",
        answer=answer,
    )
    _tag_experiment(sprint, meta, "closed")
    return meta


def reopen_warnings(sprint: Sprint) -> list[str]:
    """What reopening `sprint` would overlap: other open sprints, and sprints whose dates cross its dates."""
    meta = sprint.meta
    warnings = []
    for other in all_sprints(sprint.workspace):
        if other.folder == sprint.folder:
            continue
        try:
            theirs = other.meta
        except SabbaticalError:
            continue
        if theirs.status == "open":
            where = "the newer one is where" if other.number > sprint.number else "this one becomes where"
            warnings.append(
                f"sprint {other.id} ({other.slug}) is open too — {where} `sprint log` and notebooks "
                "without a sprint named write; name a sprint with --sprint to choose"
            )
        if theirs.start <= meta.end and meta.start <= theirs.end:
            warnings.append(
                f"sprint {other.id} ({other.slug}, {theirs.start} → {theirs.end}) overlaps this "
                f"sprint's dates ({meta.start} → {meta.end})"
            )
    return warnings


def reopen_sprint(sprint: Sprint) -> SprintMeta:
    """Open a closed sprint again; its retro stays in sprint.md as a record of the first close."""
    document = sprint.document()
    meta = document.meta
    if meta.status == "open":
        raise SabbaticalError(f"sprint {sprint.id} is already open")
    previous = meta.answer
    meta.status, meta.answer, meta.closed = "open", None, None
    retro = document.section("Retro") or ""
    retro = "\n".join(line for line in retro.strip().splitlines() if not line.startswith(STALE_MARK)).strip()
    document.replace_section(
        "Retro", f"_Reopened on {date.today()}; the retro below is from the earlier close._\n\n{retro}"
    )
    sprint.save(document)
    record(
        sprint.journal_path,
        "note",
        f"reopened (it was closed with answer {previous})",
        source="sabbatical sprint reopen",
        event="reopened",
    )
    _tag_experiment(sprint, meta, "open")
    return meta


def _tag_experiment(sprint: Sprint, meta: SprintMeta, status: str) -> None:
    """Tag the sprint's experiment with its new status; a sprint with no experiment yet has nothing to tag
    (its experiment is made with the status it has then)."""
    tags = {
        "sabbatical.status": status,
        "sabbatical.answer": meta.answer or "",
        "sabbatical.closed": meta.closed.isoformat() if meta.closed else "",
    }
    try:
        experiment_id = tracking.find_sprint_experiment(sprint)
        if experiment_id is None:
            return
        tracking.set_experiment_tags(sprint.workspace, experiment_id, tags)
    except TrackingError as exc:
        raise PartialFailure(
            f"sprint {sprint.id} is {status} in sprint.md, but its MLflow experiment was not tagged", [str(exc)]
        ) from exc


def render_retro(meta: SprintMeta, summary: str, journal: list[JournalEntry]) -> str:
    """The Retro section: the answer, the summary, and the public findings, failures and feedback."""
    day = min(meta.days, max(1, ((meta.closed or date.today()) - meta.start).days + 1))
    lines = [f"**Answer: {meta.answer}** (closed {meta.closed}, day {day} of {meta.days})", "", summary]
    public = [entry for entry in journal if entry.publishable]
    for kind, heading in (("finding", "Findings"), ("failure", "Failures"), ("feedback", "Feedback")):
        entries = [entry for entry in public if entry.kind == kind]
        if entries:
            lines += ["", f"{heading}:", ""] + [f"- {_retro_line(entry)}" for entry in entries]
    return "\n".join(lines)


def _retro_line(entry: JournalEntry) -> str:
    detail = entry.extra.get("why") or entry.extra.get("evidence")
    text = entry.text.replace("\n", " ")
    if detail:
        text += f" ({str(detail).replace(chr(10), ' ')})"
    if entry.cites:
        text += " [" + "; ".join(entry.cites) + "]"
    if entry.seen_before:
        text += f" (also seen in {entry.seen_before} earlier run{'s' if entry.seen_before > 1 else ''})"
    if entry.kind == "feedback" and entry.source not in ("cli", ""):
        text += f" (from {entry.source})"
    return text


def refresh_reading(
    sprint: Sprint, *, write: bool, conn: sqlite3.Connection | None = None, check: bool = False
) -> ReadingList:
    """Search the pile (`conn`, else opened here) with the sprint's question, its pins first; with `write`,
    replace the Reading list in sprint.md; with `check`, the configured LLM judges the best candidates."""
    document = sprint.document()
    reading = search_pile(
        sprint.workspace,
        document.meta.question,
        include_private=document.meta.private,
        conn=conn,
        sprint=sprint.id,
        check=check,
    )
    if write:
        document.replace_section("Reading list", render_markdown(reading))
        sprint.save(document)
    return reading
