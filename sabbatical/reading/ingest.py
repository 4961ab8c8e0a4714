"""Ingest: running sources into the pile, each independently, and reporting what happened.

Every command of `sabbatical read` lands here. Each source (a feed, a query, an id, a URL, a file) is read
on its own: a failure becomes one line "<source>: <why>" and the others go on. Good work is committed as
it is read (batched transactions in `Pile.add`), so a failure, Ctrl-C or kill -9 loses at most the batch
in flight, and running the command again completes it. `IngestReport.error()` says whether the run as a
whole failed (exit 1) or partly failed (exit 3).

Fetch state makes re-reading cheap: a URL is fetched with If-None-Match / If-Modified-Since from the
validators stored on its source, and a file is skipped when its sha256 is the one read last time
(`force` reads it anyway). The state is written only after the whole source was read.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..config import ReadingConfig
from ..errors import EveryUnitFailed, PartialFailure, SabbaticalError
from .identity import parse_arxiv_id
from .pile import AddCounts, Pile, Source
from .pile_write import ItemCounts
from .source_health import due, record_outcome
from .sources import SourceError, SourceRead

Progress = Callable[..., None]
UPDATE_QUERY_RESULTS = 200


@dataclass(kw_only=True)
class SourceOutcome(ItemCounts):
    """What happened to one source."""

    source: str
    status: str  # 'ok', 'not_modified', 'followed', 'failed', 'partial'
    message: str = ""


@dataclass
class IngestReport(ItemCounts):
    """Counts over all sources, one outcome per source, warnings, and the failures as one-liners."""

    failed: int = 0
    linked: int = 0  # minimal items made for papers that posts link to
    backing_off: int = 0  # `read update` left these failing sources alone (see source_health)
    muted: int = 0
    sources: list[SourceOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = f"{self.new} new, {self.updated} updated, {self.duplicate} duplicate, {self.failed} failed"
        return line + (f" ({self.linked} linked papers not read yet)" if self.linked else "")

    def update_summary(self) -> str:
        """`read update`'s one line: sources by outcome, then the items."""
        unchanged = sum(1 for s in self.sources if s.status == "not_modified")
        read = sum(1 for s in self.sources if s.status in ("ok", "partial"))
        parts = [f"{len(self.sources)} sources read: {read} fetched, {unchanged} unchanged, {self.failed} failed"]
        if self.backing_off:
            parts.append(
                f"{self.backing_off} failing sources left alone for now (`read sources` says until when; "
                "--force tries them)"
            )
        if self.muted:
            parts.append(f"{self.muted} muted")
        return "; ".join(parts) + " — " + self.summary()

    def error(self) -> SabbaticalError | None:
        """None when every source worked; exit 3 when some failed; exit 1 when all failed."""
        if not self.failures:
            return None
        worked = [s for s in self.sources if s.status != "failed"]
        if worked:
            return PartialFailure(
                f"{self.failed} of {len(self.sources)} sources failed; the rest was read "
                "and kept (run the command again to retry)",
                self.failures,
            )
        if len(self.failures) == 1:
            return SabbaticalError(self.failures[0])
        return EveryUnitFailed(f"all {self.failed} sources failed; nothing was read", self.failures)


class Ingester:
    """Runs sources against one pile with the workspace's [reading] settings."""

    def __init__(self, pile: Pile, reading: ReadingConfig, *, on_progress: Progress | None = None, force: bool = False):
        self.pile = pile
        self.reading = reading
        self.on_progress = on_progress or (lambda *a, **k: None)
        self.force = force
        self.report = IngestReport()
        self._fetcher = None

    @property
    def fetcher(self):
        from .sources.fetch import Fetcher

        if self._fetcher is None:
            self._fetcher = Fetcher.for_reading(self.reading)
        return self._fetcher

    # -- running one source ------------------------------------------------------------------------------
    def run_source(
        self,
        name: str,
        kind: str,
        locator: str,
        produce: Callable[[Source | None], SourceRead],
        *,
        followed: bool | None = None,
    ) -> SourceOutcome:
        """Read one source with `produce(previous_state)` and store what it gives; never raises SourceError."""
        self.on_progress(advance=0, description=name)
        counts = AddCounts()
        source_id = None
        try:
            read = produce(self.pile.find_source(kind, locator))
            source_id = self.pile.ensure_source(kind, locator, title=read.title, followed=followed)
            if read.not_modified:
                self.pile.record_fetch(source_id, "not_modified")
                record_outcome(self.pile.conn, source_id, True)
                return self.add_outcome(name, "not_modified", message="not modified since last read")
            self.pile.add(
                read.entries,
                source_id,
                f"{read.metadata_from}:{source_id}",
                on_progress=self.on_progress,
                counts=counts,
            )
            self.pile.record_fetch(
                source_id,
                "ok",
                etag=read.etag,
                last_modified=read.last_modified,
                last_entry=read.last_entry,
                title=read.title,
            )
            record_outcome(self.pile.conn, source_id, True)
            if not (counts.stored or counts.duplicate) and not read.warnings:
                read.warnings.append("it has no entries")
            self.report.warnings += [f"{name}: {w}" for w in read.warnings]
            return self.add_outcome(name, "ok", counts)
        except (SourceError, UnicodeError, ValueError, OSError, LookupError) as exc:
            return self._failed(name, source_id, counts, _reason(exc), (kind, locator))
        except sqlite3.Error:
            raise  # the pile cannot be written (a full disk, say): no other source could be stored either
        except Exception as exc:  # a parser crashing on hostile input must not stop the other sources
            return self._failed(
                name, source_id, counts, f"unexpected {type(exc).__name__}: {_reason(exc)}", (kind, locator)
            )

    def _failed(
        self, name: str, source_id: int | None, counts: AddCounts, why: str, named: tuple[str, str] | None = None
    ) -> SourceOutcome:
        if source_id is None and named is not None:  # a known source that failed before it answered
            known = self.pile.find_source(*named)
            source_id = known.id if known else None
        if source_id is not None:
            self.pile.record_fetch(source_id, "partial" if counts.stored else "failed", error=why)
            record_outcome(self.pile.conn, source_id, False)
        self.report.failed += 1
        self.report.failures.append(f"{name}: {why}")
        status = "partial" if counts.stored + counts.duplicate else "failed"
        return self.add_outcome(name, status, counts, message=why)

    def add_outcome(self, name: str, status: str, counts: AddCounts | None = None, message: str = "") -> SourceOutcome:
        """One source's outcome, counted into the report."""
        outcome = SourceOutcome(source=name, status=status, message=message)
        if counts is not None:
            outcome += counts
            self.report += counts
            self.report.linked += counts.stubs
        self.report.sources.append(outcome)
        return outcome

    def fail(self, name: str, why: str) -> None:
        """A source that failed before it could be read (a malformed argument)."""
        self._failed(name, None, AddCounts(), why)

    # -- fetching with remembered state --------------------------------------------------------------------
    def fetch(self, url: str, state: Source | None, accept: str | None = None):
        etag = state.etag if state and not self.force else None
        modified = state.last_modified if state and not self.force else None
        return self.fetcher.get(url, etag=etag, last_modified=modified, accept=accept)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SabbaticalError):
        return exc.message
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}"
    if isinstance(exc, IsADirectoryError):
        return f"is a folder, not a file: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}"
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# -- the commands ------------------------------------------------------------------------------------------


def read_arxiv(
    ingester: Ingester,
    arguments: Sequence[str],
    *,
    max_results: int = 100,
    sort: str = "relevance",
    follow: bool = False,
    page_size: int = 100,
) -> IngestReport:
    """`read arxiv`: ids and abs/pdf URLs in one request, then each search query."""
    from .sources.arxiv import ArxivSource, sort_arguments

    ids, queries = [], []
    for argument in arguments:
        try:
            sorted_args = sort_arguments([argument])
        except SourceError as exc:
            ingester.fail(f"arxiv {argument}", exc.message)
            continue
        ids += sorted_args.ids
        queries += sorted_args.queries
    if ids or queries:
        source = ArxivSource(ingester.reading.arxiv_api_url, page_size=page_size, fetcher=ingester.fetcher)
        if ids:
            _read_arxiv_ids(ingester, source, ids)
        for query in queries:
            _read_arxiv_query(ingester, source, query, max_results, sort, follow)
    return ingester.report


def _read_arxiv_ids(ingester: Ingester, source, ids: list) -> None:
    try:
        found = source.by_ids(ids)
    except SourceError as exc:
        for arxiv in ids:
            ingester.fail(f"arxiv {arxiv.versioned.removeprefix('arxiv:')}", exc.message)
        return
    for arxiv in dict.fromkeys(ids):
        name = arxiv.versioned.removeprefix("arxiv:")

        def produce(_state, arxiv=arxiv, name=name) -> SourceRead:
            entry = found.get(arxiv.base)
            if entry is None:
                raise SourceError(f"arXiv has no paper {name} — check the id")
            return SourceRead(entries=[entry], metadata_from="arxiv", title=entry.title)

        ingester.run_source(f"arxiv {name}", "arxiv_ids", arxiv.base, produce)


def _read_arxiv_query(
    ingester: Ingester, source, query: str, max_results: int | None, sort: str, follow: bool | None
) -> None:
    def produce(_state) -> SourceRead:
        read = SourceRead(entries=[], metadata_from="arxiv", title=f"arXiv search: {query}")
        entries = source.search(query, max_results=max_results, sort=sort)
        first = next(entries, None)
        if first is None:
            read.warnings.append("the search found nothing")
            return read
        read.entries = _chain(first, entries)
        return read

    ingester.run_source(f"arxiv search '{query}'", "arxiv_query", query, produce, followed=follow or None)


def harvest_arxiv(
    ingester: Ingester, since: str, *, set_spec: str | None = None, until: str | None = None
) -> IngestReport:
    """`read arxiv --harvest`: every record since a date through OAI-PMH, streamed page by page."""
    from .sources import oai_pmh
    from .sources.fetch import Fetcher

    endpoint = ingester.reading.oai_pmh_url
    locator = (
        f"{endpoint}?from={since}" + (f"&until={until}" if until else "") + (f"&set={set_spec}" if set_spec else "")
    )
    fetcher = Fetcher.for_reading(ingester.reading, retries=5, max_retry_after=120)

    def produce(_state) -> SourceRead:
        entries = oai_pmh.harvest(
            fetcher,
            endpoint,
            since,
            until=until,
            set_spec=set_spec,
            on_page=lambda _n, total: ingester.on_progress(advance=0, total=total),
        )
        return SourceRead(entries=entries, metadata_from="arxiv", title=f"OAI-PMH harvest from {since}")

    ingester.run_source(f"harvest {locator}", "oai_pmh", locator, produce)
    return ingester.report


def read_feeds(ingester: Ingester, locators: Sequence[str], *, follow: bool = True) -> IngestReport:
    """`read feed`: each feed URL or file, remembered (followed) unless `follow` is False."""
    for locator in locators:
        _read_feed(ingester, locator, follow)
    return ingester.report


def _read_feed(ingester: Ingester, locator: str, follow: bool | None, prefetched: Future | None = None) -> None:
    """One feed, by URL or path; `prefetched` is its fetch already made (by `update`'s pool)."""
    from .sources.feeds import looks_like_url, parse_feed

    if not locator.strip():
        ingester.fail(f"feed '{locator}'", "an empty name — give a feed URL or a file")
        return
    if looks_like_url(locator):

        def produce(state: Source | None) -> SourceRead:
            fetched = prefetched.result() if prefetched else _fetch_feed(ingester, locator, state)
            if fetched.not_modified:
                return SourceRead(entries=[], metadata_from="feed", not_modified=True)
            read = parse_feed(fetched.body, locator, fetched.content_type)
            read.etag, read.last_modified = fetched.etag, fetched.last_modified
            return read

        ingester.run_source(f"feed {locator}", "feed", locator, produce, followed=follow)
        return
    path = Path(locator).expanduser().resolve()
    ingester.run_source(
        f"feed {locator}",
        "feed",
        str(path),
        _file_producer(ingester, path, lambda data: parse_feed(data, str(path))),
        followed=follow,
    )


def _fetch_feed(ingester: Ingester, locator: str, state: Source | None):
    return ingester.fetch(locator, state, accept=", ".join(FEED_ACCEPT))


FEED_ACCEPT = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/xml;q=0.9",
    "text/xml;q=0.9",
    "*/*;q=0.5",
)


def _file_producer(ingester: Ingester, path: Path, parse: Callable[[bytes], SourceRead]):
    from .sources.local import read_local_file

    def produce(state: Source | None) -> SourceRead:
        data = read_local_file(path, ingester.reading.max_response_mb)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if state and state.etag == digest and not ingester.force:
            return SourceRead(entries=[], metadata_from="file", not_modified=True)
        read = parse(data)
        read.etag = digest
        return read

    return produce


def read_urls(ingester: Ingester, urls: Sequence[str]) -> IngestReport:
    """`read url`: web pages (main text), PDFs by URL; arXiv URLs go through the arXiv API."""
    from .sources.feeds import looks_like_url

    arxiv_urls = [u for u in urls if parse_arxiv_id(u)]
    if arxiv_urls:
        read_arxiv(ingester, arxiv_urls)
    for url in urls:
        if url in arxiv_urls:
            continue
        if not looks_like_url(url):
            ingester.fail(
                f"url {url}", "not a web address (it needs http:// or https://); use `sabbatical read file` for files"
            )
            continue
        ingester.run_source(f"url {url}", "url", url, functools.partial(_read_page, ingester, url))
    return ingester.report


def _read_page(ingester: Ingester, url: str, state: Source | None) -> SourceRead:
    from .sources.pdf import read_pdf
    from .sources.web import extract_page

    fetched = ingester.fetch(url, state, accept="text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.5")
    if fetched.not_modified:
        return SourceRead(entries=[], metadata_from="web", not_modified=True)
    kind = fetched.content_type.split(";")[0].strip().lower()
    if kind == "application/pdf" or fetched.body[:5] == b"%PDF-":
        entry = read_pdf(fetched.body, url=url)
    elif kind and "html" not in kind and fetched.body.lstrip()[:1] != b"<":
        raise SourceError(f"not a web page (it is {kind}) — use `sabbatical read feed` for feeds")
    else:
        entry = extract_page(fetched.body, url=url)
    return SourceRead(
        entries=[entry], metadata_from="web", title=entry.title, etag=fetched.etag, last_modified=fetched.last_modified
    )


def read_files(ingester: Ingester, paths: Sequence[str | Path]) -> IngestReport:
    """`read file`: PDF, HTML, BibTeX, OPML, feeds, arXiv Atom/OAI-PMH/JSON-lines; folders are walked."""
    for path in _expand(paths):
        read_file(ingester, path)
    return ingester.report


def read_file(ingester: Ingester, path: Path) -> None:
    """One file, read by what it is (its content decides, its name helps)."""
    from .sources import kaggle, oai_pmh
    from .sources.feeds import parse_feed
    from .sources.local import check_regular_file
    from .sources.pdf import read_pdf
    from .sources.web import extract_page

    name = f"file {path}"
    try:
        check_regular_file(path)
    except SourceError as exc:
        ingester.fail(name, exc.message)
        return
    with path.open("rb") as handle:
        head = handle.read(8192)
    kind = detect_file_kind(path, head)
    parsers: dict[str, Callable[[bytes], SourceRead]] = {
        "pdf": lambda data: SourceRead([read_pdf(data, path=path)], "file"),
        "html": lambda data: SourceRead([extract_page(data, path=path)], "file"),
        "bibtex": _bibtex_read,
        "oai_pmh": lambda data: SourceRead(oai_pmh.parse_file(data), "arxiv"),
        "feed": lambda data: parse_feed(data, str(path)),
    }
    if kind == "opml":
        _follow_opml(ingester, name, path)
    elif kind == "arxiv_jsonl":

        def produce(state: Source | None) -> SourceRead:
            digest = file_digest(path)
            if state and state.etag == digest and not ingester.force:
                return SourceRead(entries=[], metadata_from="arxiv", not_modified=True)
            read = SourceRead(entries=[], metadata_from="arxiv", etag=digest)
            read.entries = kaggle.read_lines(path, read.warnings)
            return read

        ingester.run_source(name, "file", str(path), produce)
    elif kind in parsers:
        ingester.run_source(name, "file", str(path), _file_producer(ingester, path, parsers[kind]))
    else:
        ingester.fail(
            name,
            "not a file type sabbatical reads (PDF, HTML, BibTeX, OPML, RSS/Atom/JSON feed, "
            "arXiv Atom, OAI-PMH XML or arXiv JSON lines)",
        )


def _bibtex_read(data: bytes) -> SourceRead:
    from .sources.bibtex import parse_bibtex

    entries, warnings = parse_bibtex(data.decode("utf-8", errors="replace"))
    return SourceRead(entries=entries, metadata_from="bibtex", warnings=warnings)


def _follow_opml(ingester: Ingester, name: str, path: Path) -> None:
    from .sources.local import read_local_file
    from .sources.opml import parse_opml, refusal

    try:
        subscriptions = parse_opml(read_local_file(path, ingester.reading.max_response_mb))
    except (SourceError, OSError) as exc:
        ingester.fail(name, _reason(exc))
        return
    followed = 0
    for subscription in subscriptions:
        refused = refusal(subscription.url, ingester.reading.allow_private_addresses)
        if refused:
            ingester.fail(f"feed {subscription.url} (in {path.name})", refused)
            continue
        ingester.pile.ensure_source("feed", subscription.url, title=subscription.title, followed=True)
        followed += 1
    ingester.add_outcome(
        name, "followed", message=f"following {followed} feeds — `sabbatical read update` fetches them"
    )


def detect_file_kind(path: Path, head: bytes) -> str | None:
    """'pdf', 'bibtex', 'opml', 'arxiv_jsonl', 'oai_pmh', 'html', 'feed', or None."""
    from .sources.kaggle import looks_like_arxiv_jsonl
    from .sources.oai_pmh import is_oai_pmh
    from .sources.opml import is_opml

    suffix = path.suffix.lower()
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = text[:2048].lower()
    if text.startswith(b"%PDF-"):
        return "pdf"
    if suffix == ".bib" or re.match(rb"(%[^\n]*\n\s*)*@[a-zA-Z]+\s*[{(]", text):
        return "bibtex"
    if is_opml(text):
        return "opml"
    if text[:1] == b"{" and looks_like_arxiv_jsonl(text.split(b"\n", 1)[0].decode("utf-8", errors="replace")):
        return "arxiv_jsonl"
    if is_oai_pmh(text):
        return "oai_pmh"
    feedish = any(marker in lowered for marker in (b"<rss", b"<feed", b"<rdf:rdf", b"<channel"))
    if not feedish and (b"<html" in lowered or b"<!doctype html" in lowered or suffix in (".html", ".htm")):
        return "html"
    if feedish or text[:1] in (b"{", b"<") or suffix in (".rss", ".atom", ".xml", ".rdf", ".json"):
        return "feed"
    return None


def _expand(paths: Sequence[str | Path]) -> Iterable[Path]:
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            yield from sorted(p.resolve() for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path.resolve() if path.exists() else path


def update(ingester: Ingester) -> IngestReport:
    """`read update`: follow the config's feeds, then refresh every followed source and config query.

    Muted sources and failing ones still backing off are left alone (`force` tries those backing off);
    progress counts sources (N/total, with the failures so far), not entries."""
    pile, reading = ingester.pile, ingester.reading
    for url in reading.feeds:
        pile.ensure_source("feed", url, followed=True)
    followed = pile.sources(followed=True)
    queries = list(dict.fromkeys([*reading.arxiv_queries, *(s.locator for s in followed if s.kind == "arxiv_query")]))
    feeds = [s for s in followed if s.kind == "feed" and _due(ingester, s.kind, s.locator)]
    queries = [q for q in queries if _due(ingester, "arxiv_query", q)]
    step = _count_sources(ingester, len(feeds) + len(queries))
    _update_feeds(ingester, feeds, step)
    if queries:
        from .sources.arxiv import ArxivSource

        arxiv = ArxivSource(reading.arxiv_api_url, fetcher=ingester.fetcher)
        for query in queries:
            _read_arxiv_query(ingester, arxiv, query, UPDATE_QUERY_RESULTS, "newest", None)
            step()
    return ingester.report


def _due(ingester: Ingester, kind: str, locator: str) -> bool:
    """Whether `read update` reads this source now; a skipped one is counted in the report."""
    why = due(ingester.pile.conn, kind, locator)
    if why == "muted":
        ingester.report.muted += 1
        return False
    if why and not ingester.force:
        ingester.report.backing_off += 1
        return False
    return True


def _count_sources(ingester: Ingester, total: int) -> Callable[[], None]:
    """Make the progress bar count sources: returns the step to call after each one."""
    report, outer = ingester.report, ingester.on_progress
    ingester.on_progress = lambda *a, **k: None  # entries and per-source names would make the bar jump
    done = [0]
    outer(advance=0, total=total, description=f"Updating 0/{total} sources")

    def step() -> None:
        done[0] += 1
        failed = f", {report.failed} failed" if report.failed else ""
        outer(advance=1, description=f"Updating {done[0]}/{total} sources{failed}")

    return step


def _update_feeds(ingester: Ingester, feeds: list[Source], step: Callable[[], None]) -> None:
    """Fetch followed feeds a few at a time (one at a time per host, see `HostPacer`) and store each as it
    arrives, so a slow source holds up only itself, up to its deadline. Storing stays on this thread: the
    pile's connection is not shared."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from .sources.feeds import looks_like_url

    web = [s for s in feeds if looks_like_url(s.locator)]
    for source in feeds:
        if source not in web:
            _read_feed(ingester, source.locator, None)
            step()
    if not web:
        return
    ingester.fetcher  # noqa: B018 (made here, on this thread, before the pool's threads share it)
    workers = max(1, min(ingester.reading.concurrency, len(web)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        pending = {pool.submit(_fetch_feed, ingester, s.locator, s): s for s in web}
        for done in as_completed(pending):
            _read_feed(ingester, pending[done].locator, None, prefetched=done)
            step()


def unfollow(pile: Pile, given: str) -> Source:
    """Stop following a source, named by its id (as `read sources` shows) or its URL, query or path.

    Its items stay in the pile; only the source's `followed` mark changes. `reading.feeds` in the config
    is not edited: a feed listed there is followed again by the next `read update` (the CLI says so).
    """
    from .source_health import find_followed

    source = find_followed(pile.conn, given)
    pile.ensure_source(source.kind, source.locator, followed=False)
    return pile.source(source.id)


def _chain(first, rest):
    yield first
    yield from rest


# -- bundled samples (the tour reads them) ---------------------------------------------------------------


def sample_path(name: str) -> Path:
    """A bundled sample input (package data)."""
    return Path(str(resources.files("sabbatical") / "samples" / name))
