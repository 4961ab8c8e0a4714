"""Summarising the pile: which items, by which producer, the cache, and the stored summaries.

A summary is stored per (item, content hash, prompt version, model). That triple is the cache: an item
whose current text already has an ok summary from the current producer costs nothing, so re-running
makes no calls; a changed text, a new prompt version or a new model makes a new row, and old rows are
kept. The producer is the configured endpoint with the configured prompt (`[llm] prompt`), or the
offline summariser when no endpoint is configured; a run never switches from one to the other.

Selections: `pending` (no ok summary for the current triple; the default), `all` (every item; those
already done count as cached), `retry-failed` (only those whose last try failed), or explicit ids.
Failures are recorded as rows with status 'failed' and their error, so `--retry-failed` finds them.
An item with too little text to judge is never sent to an endpoint: it gets the offline summariser's
"unjudged" summary (producer 'offline') under the run's (prompt version, model), so it is cached too.

A prompt that asks for neighbours (`neighbours: K` in its front matter) is shown the K items nearest to
the document already in the pile (`neighbours`). The cache still keys on (content, prompt version,
model): a pile that grows does not make an item due again; a new prompt version does.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from .. import db
from ..config import Config, LLMConfig
from ..errors import EveryUnitFailed, LLMFailure, NotFound, PartialFailure, RunStopped, UsageError
from ..llm import LLM, Budget, CallContext, Endpoint, budget_from_config, resolve_endpoint
from .neighbours import NeighbourFinder
from .offline import OFFLINE_MODEL, OFFLINE_VERSION, summarise_offline
from .prompt_files import Prompt, load_prompt, resolve_version
from .summary_rows import latest_summary_rows
from .summary_schema import (
    MIN_JUDGE_WORDS,
    JudgedSummary,
    QuoteCheck,
    SourceDocument,
    Summary,
    stored_form,
    verify_quotes,
)

SELECTIONS = ("pending", "all", "retry-failed", "ids")
UNJUDGED_RATIONALE = (
    f"Unjudged: the item has fewer than {MIN_JUDGE_WORDS} words besides its title, too little "
    "to say what it contributes (reading more of it, e.g. `sabbatical read url`, fixes that)"
)
WRITE_BATCH = 25
# What of an item goes into a prompt, at most (the prompt file caps the text itself, max_document_chars).
# A 1 MB title or author list is ingested text like any other; it is not sent whole.
PROMPT_FIELD_CHARS = {"id": 300, "kind": 40, "title": 500, "author": 120, "published": 40, "text": 200_000}
PROMPT_AUTHORS = 12

Progress = Callable[..., None]


# -- the producer ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Producer:
    """Who writes the summaries of a run: the offline summariser, or one endpoint with one prompt."""

    kind: str  # 'offline' or 'llm'
    model: str
    prompt_version: str
    endpoint: Endpoint | None = None
    prompt: Prompt | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.prompt_version, self.model)

    @property
    def label(self) -> str:
        if self.kind == "offline":
            return f"the offline summariser ({OFFLINE_MODEL}, {OFFLINE_VERSION})"
        return f"{self.model} at {self.endpoint.provider} with prompt {self.prompt_version}"  # type: ignore[union-attr]


OFFLINE = Producer("offline", OFFLINE_MODEL, OFFLINE_VERSION)


def choose_producer(
    config: LLMConfig, prompt_version: str | None = None, environ: dict[str, str] | None = None
) -> Producer:
    """The configured endpoint with `prompt_version` (default `[llm] prompt`), else the offline summariser.

    Asking for an LLM prompt version with no endpoint configured is an error, not a quiet offline run.
    """
    endpoint = resolve_endpoint(config, environ)
    version = resolve_version(prompt_version) if prompt_version else None
    if version == OFFLINE_VERSION:
        return OFFLINE
    if endpoint is None:
        if version is not None:
            raise UsageError(
                f"prompt {version} needs an LLM endpoint — set [llm] base_url in sabbatical.toml "
                "(or OPENAI_BASE_URL); without one, summaries are offline"
            )
        return OFFLINE
    version = version or resolve_version(config.prompt)
    return Producer("llm", endpoint.model, version, endpoint, load_prompt(version))


# -- the request ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SummariseRequest:
    """What one run summarises and how far it may go: built once (by the CLI, or a test) and handed
    down through `summarise_workspace` to `summarise_pile` unchanged.

    `selection` is one of SELECTIONS (`ids` with `ids`); `sample` keeps that many of the items needing
    work; `budget` is spent by this run alone (give each run its own; None: the workspace's `[llm]
    budget_tokens`/`budget_usd` through `summarise_workspace`, no limit through `summarise_pile`);
    `deadline` is seconds for the whole run; `backoff_base` is the first retry's wait."""

    selection: str = "pending"
    ids: Sequence[str] = ()
    sample: int | None = None
    budget: Budget | None = None
    deadline: float | None = None
    on_progress: Progress | None = None
    backoff_base: float = 0.5


# -- the report -----------------------------------------------------------------------------------
@dataclass
class SummariseReport:
    producer: str
    model: str
    prompt_version: str
    selection: str
    selected: int = 0  # items in scope
    done: int = 0  # summarised in this run
    cached: int = 0  # already had an ok summary for this (content, prompt, model): no call
    failed: int = 0
    pending: int = 0  # left for a later run because the run stopped (budget, unreachable endpoint)
    calls: int = 0  # requests made to the endpoint (rows added to llm_calls)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    quotes_total: int = 0
    quotes_verified: int = 0
    stopped: str | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def raise_for_failures(self) -> None:
        """When any item failed: PartialFailure (exit 3) listing them, the rest already stored; when every
        item failed, EveryUnitFailed (exit 1)."""
        if self.failed and not self.done:
            raise EveryUnitFailed(
                f"none of the {self.failed} items could be summarised — "
                "`sabbatical pile summarise --retry-failed` tries them again",
                self.failures[:20],
            )
        if self.failed:
            raise PartialFailure(
                f"{self.failed} of {self.done + self.failed} items could not be summarised; the "
                f"other {self.done} were stored — `sabbatical pile summarise --retry-failed` "
                "tries the failed ones again",
                self.failures[:20],
            )


@dataclass
class _Outcome:
    document: SourceDocument
    summary: Summary | None = None
    checks: list[QuoteCheck] = field(default_factory=list)
    error: str | None = None
    offline: bool = False  # made by the offline summariser (also in an endpoint's run: unjudged items)


# -- choosing items -------------------------------------------------------------------------------
_ITEM_COLUMNS = "i.id, i.kind, i.title, i.abstract, i.content, i.content_hash, i.authors, i.published"


def _document(row: sqlite3.Row) -> SourceDocument:
    try:
        authors = tuple(str(a) for a in json.loads(row["authors"] or "[]"))
    except (json.JSONDecodeError, TypeError):
        authors = ()
    return SourceDocument(
        id=row["id"],
        kind=row["kind"],
        title=row["title"] or "",
        abstract=row["abstract"] or "",
        content=row["content"] or "",
        content_hash=row["content_hash"],
        authors=authors,
        published=row["published"],
    )


def select_items(
    conn: sqlite3.Connection, producer: Producer, selection: str = "pending", ids: Iterable[str] = ()
) -> tuple[list[SourceDocument], list[str]]:
    """(items that need work, ids of items in scope that are already cached) for a selection."""
    if selection not in SELECTIONS:
        raise UsageError(f"unknown selection {selection!r}; use one of {', '.join(SELECTIONS)}")
    status = (
        "SELECT s.status FROM summaries s WHERE s.item_id = i.id AND s.content_hash = i.content_hash "
        "AND s.prompt_version = ? AND s.model = ?"
    )
    rows = conn.execute(
        f"SELECT {_ITEM_COLUMNS}, ({status}) AS status FROM items i ORDER BY i.seq", producer.key
    ).fetchall()
    if selection == "ids":
        wanted = resolve_ids(conn, ids)
        by_id = {row["id"]: row for row in rows}
        rows = [by_id[item_id] for item_id in wanted]
    elif selection == "retry-failed":
        rows = [row for row in rows if row["status"] == "failed"]
    cached = [row["id"] for row in rows if row["status"] == "ok"]
    todo = [_document(row) for row in rows if row["status"] != "ok"]
    return todo, cached


def resolve_ids(conn: sqlite3.Connection, ids: Iterable[str]) -> list[str]:
    """Canonical ids for what the user typed (a canonical id or any alias), in order, without repeats."""
    resolved: list[str] = []
    for given in ids:
        row = conn.execute(
            "SELECT id FROM items WHERE id = ? UNION ALL SELECT item_id FROM aliases WHERE alias = ? LIMIT 1",
            (given, given),
        ).fetchone()
        if row is None:
            raise NotFound(f"No item {given!r} in the pile — `sabbatical pile list` shows the items")
        if row[0] not in resolved:
            resolved.append(row[0])
    return resolved


# -- the run --------------------------------------------------------------------------------------
def summarise_pile(
    conn: sqlite3.Connection,
    producer: Producer,
    run: SummariseRequest | None = None,
    *,
    config: Config | None = None,
) -> SummariseReport:
    """Summarise the items `run` selects (default: the pending ones) with `producer`; every result (ok or
    failed) is stored as it comes.

    `config` is the workspace's (its embedder finds each item's neighbours, for a prompt that shows
    them); without one, the default configuration's.

    `run.sample` keeps only that many of the items needing work (a stable pseudo-random choice). Stops
    cleanly when the budget is spent, the endpoint is unreachable or `run.deadline` seconds have passed:
    the items not yet started stay pending (no row), and the report says why. One item that cannot be
    summarised is that item's failure, stored for `--retry-failed`; the others go on.
    """
    run = run or SummariseRequest()
    started = time.monotonic()
    todo, cached = select_items(conn, producer, run.selection, run.ids)
    if run.sample is not None:
        todo = sorted(todo, key=lambda d: hashlib.sha256(d.id.encode()).hexdigest())[: max(0, run.sample)]
        cached = cached[: max(0, run.sample - len(todo))]
    report = SummariseReport(
        producer.kind,
        producer.model,
        producer.prompt_version,
        run.selection,
        selected=len(todo) + len(cached),
        cached=len(cached),
    )
    progress = run.on_progress or (lambda *a, **k: None)
    progress(0, total=len(todo))
    first_call = conn.execute("SELECT COALESCE(MAX(id), 0) FROM llm_calls").fetchone()[0]
    writer = _SummaryWriter(conn, producer, report)
    try:
        if producer.kind == "offline":
            _run_offline(todo, writer, progress)
        else:
            llm = LLM(
                producer.endpoint,  # type: ignore[arg-type]
                conn,
                run.budget or Budget(),
                lock=writer.lock,
                backoff_base=run.backoff_base,
                deadline=run.deadline,
            )
            near = _finder(conn, config, producer, writer.lock)
            try:
                _run_endpoint(llm, producer, todo, writer, progress, report, near)
            finally:
                near.close()
    finally:
        writer.flush()
    report.calls = conn.execute("SELECT COUNT(*) FROM llm_calls WHERE id > ?", (first_call,)).fetchone()[0]
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _run_offline(todo: list[SourceDocument], writer: _SummaryWriter, progress: Progress) -> None:
    for document in todo:
        writer.add(_offline_outcome(document))
        progress(1)


def _offline_outcome(document: SourceDocument) -> _Outcome:
    """One item through the offline summariser; a summary the schema refuses is that item's failure."""
    try:
        summary = summarise_offline(document)
    except ValidationError as exc:
        return _Outcome(
            document,
            error=f"the offline summary does not fit the schema ({_first_problem(exc)}) — "
            "`sabbatical pile summarise --retry-failed` tries it again",
            offline=True,
        )
    return _Outcome(document, summary, verify_quotes(summary, document.full_text), offline=True)


def _first_problem(exc: ValidationError) -> str:
    problems = exc.errors()
    if not problems:
        return "no detail"
    where = ".".join(str(part) for part in problems[0]["loc"]) or "summary"
    more = f", and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"{where}: {problems[0]['msg']}{more}"


def _run_endpoint(
    llm: LLM,
    producer: Producer,
    todo: list[SourceDocument],
    writer: _SummaryWriter,
    progress: Progress,
    report: SummariseReport,
    near: NeighbourFinder,
) -> None:
    assert producer.prompt is not None
    for document in [d for d in todo if not d.judgeable]:  # nothing to judge: no call
        writer.add(_offline_outcome(document))
        progress(1)
    todo = [d for d in todo if d.judgeable]
    near.run_ahead(todo)  # the workers take the items in this order
    with ThreadPoolExecutor(
        max_workers=producer.endpoint.concurrency,  # type: ignore[union-attr]
        thread_name_prefix="summarise",
    ) as pool:
        futures = [pool.submit(_ask_endpoint, llm, producer.prompt, document, near) for document in todo]
        try:
            for future in as_completed(futures):
                try:
                    writer.add(future.result())
                except RunStopped as stop:
                    report.pending += 1
                    report.stopped = report.stopped or stop.reason
                progress(1)
        except BaseException:  # Ctrl-C: finish what is in flight, start nothing new
            for future in futures:
                future.cancel()
            raise
    budget = llm.budget
    report.tokens_in, report.tokens_out = budget.tokens_in, budget.tokens_out
    report.cost_usd = round(budget.usd, 6) if budget.priced else None


def _ask_endpoint(
    llm: LLM, prompt: Prompt, document: SourceDocument, near: NeighbourFinder, purpose: str = "summarise"
) -> _Outcome:
    context = CallContext(purpose, prompt.version, document.id)
    messages = prompt.messages(for_prompt(document), near(document))
    try:
        answer = llm.structured(messages, JudgedSummary, context, max_tokens=prompt.max_tokens)
    except LLMFailure as failure:
        return _Outcome(document, error=failure.message)
    return _Outcome(document, answer.value, verify_quotes(answer.value, document.full_text))


def judge_documents(
    conn: sqlite3.Connection,
    producer: Producer,
    documents: list[SourceDocument],
    *,
    config: Config | None = None,
    purpose: str = "compare",
) -> dict[str, Summary | None]:
    """Summaries of documents that are not pile items (a dev set), by `producer`, stored nowhere.

    Each document's neighbours come from the pile, as for an item; calls are logged under `purpose`.
    A document that could not be summarised maps to None. Raises RunStopped when the endpoint is gone."""
    if producer.kind == "offline" or producer.prompt is None:
        return {d.id: _offline_outcome(d).summary for d in documents}
    lock = threading.Lock()
    llm = LLM(producer.endpoint, conn, Budget(), lock=lock)  # type: ignore[arg-type]
    near = _finder(conn, config, producer, lock)
    found: dict[str, Summary | None] = {d.id: _offline_outcome(d).summary for d in documents if not d.judgeable}
    asked = [d for d in documents if d.judgeable]
    prompt = producer.prompt
    near.run_ahead(asked)
    try:
        with ThreadPoolExecutor(max_workers=producer.endpoint.concurrency) as pool:  # type: ignore[union-attr]
            for outcome in pool.map(lambda d: _ask_endpoint(llm, prompt, d, near, purpose), asked):
                found[outcome.document.id] = outcome.summary
    finally:
        near.close()
    return found


def _finder(
    conn: sqlite3.Connection, config: Config | None, producer: Producer, lock: threading.Lock
) -> NeighbourFinder:
    count = producer.prompt.neighbours if producer.prompt is not None else 0
    return NeighbourFinder(conn, config or Config(), count, prefer=producer.key, lock=lock)


def for_prompt(document: SourceDocument) -> SourceDocument:
    """The item with every field that reaches a prompt cut to `PROMPT_FIELD_CHARS` (quotes are still
    checked against the whole text)."""
    limit = PROMPT_FIELD_CHARS
    return replace(
        document,
        id=document.id[: limit["id"]],
        kind=document.kind[: limit["kind"]],
        title=document.title[: limit["title"]],
        abstract=document.abstract[: limit["text"]],
        content=document.content[: limit["text"]],
        authors=tuple(author[: limit["author"]] for author in document.authors[:PROMPT_AUTHORS]),
        published=(document.published or "")[: limit["published"]] or None,
    )


class _SummaryWriter:
    """Stores outcomes in batches (one transaction each) and keeps the report's counts."""

    def __init__(self, conn: sqlite3.Connection, producer: Producer, report: SummariseReport):
        self.conn = conn
        self.producer = producer
        self.report = report
        self.lock = threading.Lock()
        self._batch: list[_Outcome] = []

    def add(self, outcome: _Outcome) -> None:
        self._batch.append(outcome)
        if outcome.summary is None:
            self.report.failed += 1
            self.report.failures.append(f"{outcome.document.id}: {outcome.error}")
        else:
            self.report.done += 1
            self.report.quotes_total += len(outcome.checks)
            self.report.quotes_verified += sum(c.verified for c in outcome.checks)
        if len(self._batch) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._batch:
            return
        rows = [self._row(o) for o in self._batch]
        with self.lock, db.transaction(self.conn):
            self.conn.executemany(_UPSERT, rows)
        self._batch = []

    def _row(self, outcome: _Outcome) -> tuple[Any, ...]:
        document, summary, producer = outcome.document, outcome.summary, self.producer
        made_by = "offline" if outcome.offline else producer.kind
        base = (document.id, document.content_hash, producer.prompt_version, producer.model, made_by)
        if summary is None:
            return (*base, "failed", None, None, None, None, 0, 0, outcome.error)
        data = json.dumps(stored_form(summary, outcome.checks), ensure_ascii=False)
        score = summary.insight.score if summary.insight is not None else None
        return (
            *base,
            "ok",
            data,
            summary.tldr,
            summary.contribution.value,
            score,
            len(outcome.checks),
            sum(c.verified for c in outcome.checks),
            None,
        )


# An ok row is final for its triple; a failed one is overwritten by the next try, which counts attempts.
_UPSERT = """
INSERT INTO summaries (item_id, content_hash, prompt_version, model, producer, status, data, tldr, contribution,
                       insight_score, quotes_total, quotes_verified, error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (item_id, content_hash, prompt_version, model) DO UPDATE SET
    producer = excluded.producer, status = excluded.status, data = excluded.data, tldr = excluded.tldr,
    contribution = excluded.contribution, insight_score = excluded.insight_score,
    quotes_total = excluded.quotes_total, quotes_verified = excluded.quotes_verified, error = excluded.error,
    attempts = summaries.attempts + 1, created_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
WHERE summaries.status != 'ok'
"""


def summarise_workspace(
    workspace: Any,
    run: SummariseRequest | None = None,
    *,
    prompt_version: str | None = None,
    conn: sqlite3.Connection | None = None,
    environ: dict[str, str] | None = None,
) -> SummariseReport:
    """`sabbatical pile summarise`: the workspace's producer (its `[llm] prompt`, or `prompt_version`)
    over its pile, as `run` asks; a run without a budget of its own gets the workspace's.

    `conn` is the open pile (the CLI opens it once and hands it over); without one, the workspace's pile
    is opened for this run and closed after it."""
    from .pile import open_or_given

    producer = choose_producer(workspace.config.llm, prompt_version, environ)
    run = run or SummariseRequest()
    if run.budget is None:
        run = replace(run, budget=budget_from_config(workspace.config.llm))
    with open_or_given(workspace, conn) as pile_conn:
        return summarise_pile(pile_conn, producer, run, config=workspace.config)


# -- reading summaries back -----------------------------------------------------------------------
@dataclass
class StoredSummary:
    """A stored summary row, with its parsed summary and quote checks."""

    item_id: str
    prompt_version: str
    model: str
    producer: str
    status: str
    tldr: str | None
    contribution: str | None
    insight_score: float | None
    quotes_total: int
    quotes_verified: int
    created_at: str
    current: bool  # made from the item's current text
    summary: Summary | None = None
    quote_checks: list[QuoteCheck] = field(default_factory=list)
    error: str | None = None


def latest_summaries(
    conn: sqlite3.Connection, item_ids: Iterable[str] | None = None, prefer: tuple[str, str] | None = None
) -> dict[str, StoredSummary]:
    """The chosen ok summary of each item (see `latest_summary_rows`), parsed, with its quote checks."""
    return {item_id: _stored(row) for item_id, row in latest_summary_rows(conn, item_ids, prefer).items()}


def latest_summary(
    conn: sqlite3.Connection, item_id: str, prefer: tuple[str, str] | None = None
) -> StoredSummary | None:
    """The latest ok summary of one item (see `latest_summaries`), or None."""
    return latest_summaries(conn, [item_id], prefer).get(item_id)


def _stored(row: sqlite3.Row) -> StoredSummary:
    summary, checks = None, []
    if row["data"]:
        data = json.loads(row["data"])
        summary = Summary.model_validate(data["summary"])
        checks = [QuoteCheck(**c) for c in data.get("quote_checks", [])]
    return StoredSummary(
        item_id=row["item_id"],
        prompt_version=row["prompt_version"],
        model=row["model"],
        producer=row["producer"],
        status=row["status"],
        tldr=row["tldr"],
        contribution=row["contribution"],
        insight_score=row["insight_score"],
        quotes_total=row["quotes_total"],
        quotes_verified=row["quotes_verified"],
        created_at=row["created_at"],
        current=bool(row["current"]),
        summary=summary,
        quote_checks=checks,
        error=row["error"],
    )


def summary_for_display(
    conn: sqlite3.Connection, item_id: str, prefer: tuple[str, str] | None = None
) -> dict[str, Any] | None:
    """The latest summary and judgement of an item as plain data for `pile show`: the item's JSON
    `summary` record (`item_json.summary_record`, the one source of both), plus what the text view says
    besides: `contribution` (the record's `kind`), `judged`, and why an unjudged item has no score."""
    from .item_json import summary_record

    stored = latest_summary(conn, item_id, prefer)
    if stored is None or stored.summary is None:
        return None
    record = summary_record(stored)
    judged = stored.summary.insight is not None
    return {
        **record,
        "contribution": record["kind"],
        "judged": judged,
        "rationale": record["rationale"] if judged else UNJUDGED_RATIONALE,
    }
