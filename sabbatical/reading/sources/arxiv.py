"""arXiv through its Atom API (export.arxiv.org/api/query): searches, ids and abs/pdf URLs.

Requests go through the run's one `Fetcher`, so the API gets the same total deadline, size limit,
retries and per-host politeness as every other source (arXiv asks for three seconds between requests;
the fetcher waits that long between two requests to an arxiv.org host, and not for other hosts). The
endpoint comes from [reading] arxiv_api_url, so a mirror or a test server on loopback is used exactly
like arXiv. The query string is built here, in the order arXiv's own clients send it.

Answers are Atom documents, read by `parse_atom` (lxml, no entities, no network): the same reader serves
saved API responses and the tour's sample file, so those carry arXiv-grade metadata too. An error answer
(an entry titled "Error") is reported in arXiv's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ..identity import ArxivId, looks_like_bad_arxiv_id, normalise_doi, parse_arxiv_id
from ..pile import Entry
from . import SourceError
from .fetch import Fetcher

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV_NS = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
IDS_PER_REQUEST = 100
SORTS = {"relevance": "relevance", "newest": "submittedDate", "updated": "lastUpdatedDate"}


@dataclass
class ArxivArgs:
    """The arguments of `read arxiv`, sorted into ids and search queries."""

    ids: list[ArxivId]
    queries: list[str]


def sort_arguments(args: Sequence[str]) -> ArxivArgs:
    """Ids and abs/pdf URLs become ids; anything else is a search query. A malformed id is an error."""
    ids, queries = [], []
    for arg in args:
        arg = arg.strip()
        if not arg:
            continue
        arxiv = parse_arxiv_id(arg)
        if arxiv:
            ids.append(arxiv)
        elif looks_like_bad_arxiv_id(arg) or ("arxiv.org/" in arg.lower() and " " not in arg):
            raise SourceError(
                f"'{arg}' is not a valid arXiv id — use a form like 2310.01405, 2310.01405v2, "
                "hep-th/9901001 or https://arxiv.org/abs/2310.01405"
            )
        else:
            queries.append(arg)
    return ArxivArgs(ids, queries)


@dataclass
class _Page:
    entries: list[Entry]
    total: int | None


class ArxivSource:
    """The arXiv API at `api_url`, page by page, through `fetcher` (or a fetcher of its own)."""

    def __init__(
        self,
        api_url: str,
        timeout: float = 30.0,
        page_size: int = 100,
        retries: int = 2,
        fetcher: Fetcher | None = None,
    ):
        self.api_url = api_url
        self.page_size = page_size
        self.fetcher = fetcher or Fetcher(timeout, retries=retries)

    def search(self, query: str, max_results: int | None = 100, sort: str = "relevance") -> Iterator[Entry]:
        """Entries for a search query, page by page (streamed, so each page can be stored as it comes)."""
        yield from self._pages({"search_query": query, "id_list": ""}, SORTS[sort], max_results)

    def by_ids(self, ids: Sequence[ArxivId]) -> dict[str, Entry]:
        """base id → entry for every requested id arXiv knows (missing ones are simply absent)."""
        found: dict[str, Entry] = {}
        wanted = list(dict.fromkeys(a.versioned.removeprefix("arxiv:") for a in ids))
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            chunk = wanted[start : start + IDS_PER_REQUEST]
            query = {"search_query": "", "id_list": ",".join(chunk)}
            for entry in self._pages(query, SORTS["relevance"], None):  # arXiv answers only the ids asked for
                found[entry.ids[0].removeprefix("arxiv:")] = entry
        return found

    def _pages(self, query: dict[str, str], sort_by: str, max_results: int | None) -> Iterator[Entry]:
        start = 0
        while max_results is None or start < max_results:
            params = {
                **query,
                "sortBy": sort_by,
                "sortOrder": "descending",
                "start": str(start),
                "max_results": str(self.page_size),
            }
            page = self._page(params)
            if not page.entries and page.total is not None and start < page.total:
                page = self._page(params)  # arXiv sometimes sends an empty page mid-way; once more
                if not page.entries:
                    raise SourceError(
                        "arXiv sent an empty page in the middle of the results — run the command "
                        "again later; what was read is kept"
                    )
            wanted = page.entries if max_results is None else page.entries[: max_results - start]
            yield from wanted
            start += len(page.entries)
            if not page.entries or page.total is None or start >= page.total:
                return

    def _page(self, params: dict[str, str]) -> _Page:
        url = f"{self.api_url}?{urlencode(params)}"
        try:
            fetched = self.fetcher.get(url, accept="application/atom+xml", keep_error_body=True)
        except SourceError as exc:
            raise SourceError(f"the arXiv API at {self.api_url}: {exc.message}") from None
        if fetched.status >= 400:
            said = api_error_text(fetched.body)
            if said:
                raise SourceError(f"arXiv refused the request: {said} (HTTP {fetched.status})")
            raise SourceError(
                f"the arXiv API answered HTTP {fetched.status} — check [reading] arxiv_api_url or try later"
            )
        root = _parse_xml(fetched.body)
        if root is None or root.tag != f"{ATOM}feed":
            raise SourceError(
                f"the arXiv API at {self.api_url} did not answer with an Atom feed — check [reading] arxiv_api_url"
            )
        _, entries = parse_atom(fetched.body)
        total = (root.findtext(f"{OPENSEARCH}totalResults") or "").strip()
        return _Page(entries, int(total) if total.isdigit() else None)


def api_error_text(body: bytes) -> str:
    """The message of an arXiv API error feed (an entry titled 'Error'), or ''."""
    if not body or b"<entry" not in body:
        return ""
    root = _parse_xml(body)
    if root is None:
        return ""
    for entry in root.iter(f"{ATOM}entry"):
        if (entry.findtext(f"{ATOM}title") or "").strip().lower() == "error":
            return " ".join((entry.findtext(f"{ATOM}summary") or "").split())
    return ""


def is_arxiv_atom(data: bytes) -> bool:
    """True for an Atom document in arXiv's API format (its namespaces, or entries with arxiv.org/abs ids)."""
    head = data[:4096]
    if b"http://www.w3.org/2005/Atom" not in head or b"arxiv" not in head.lower():
        return False
    if b"http://arxiv.org/schemas/atom" in head and b"opensearch" in head:
        return True  # an API answer, including an error answer or an empty one
    return re.search(rb"<id>\s*https?://arxiv\.org/abs/", data[:200_000]) is not None


def parse_atom(data: bytes) -> tuple[str, list[Entry]]:
    """(feed title, entries) from an arXiv API Atom document; an error feed raises SourceError."""
    root = _parse_xml(data)
    if root is None or root.tag != f"{ATOM}feed":
        raise SourceError("not an arXiv Atom document")
    said = api_error_text(data)
    if said:
        raise SourceError(f"this is an arXiv error answer: {said}")
    entries = [entry_from_node(node) for node in root.iter(f"{ATOM}entry")]
    return " ".join((root.findtext(f"{ATOM}title") or "").split()), entries


def entry_from_node(node: Any) -> Entry:
    """One Atom <entry> of an arXiv answer as a pile entry (paper, arXiv-grade metadata, version kept)."""
    entry_id = (node.findtext(f"{ATOM}id") or "").strip()
    arxiv_id = parse_arxiv_id(entry_id)
    if arxiv_id is None:
        raise SourceError(f"arXiv returned an entry with an unrecognised id: {entry_id[:100]}")
    doi = normalise_doi(node.findtext(f"{ARXIV_NS}doi") or "")
    primary_node = node.find(f"{ARXIV_NS}primary_category")
    primary = primary_node.get("term", "") if primary_node is not None else ""
    extra = {
        k: v
        for k, v in {
            "comment": node.findtext(f"{ARXIV_NS}comment"),
            "journal_ref": node.findtext(f"{ARXIV_NS}journal_ref"),
            "primary_category": primary,
            "doi": doi.removeprefix("doi:") if doi else None,
        }.items()
        if v
    }
    terms = [c.get("term") for c in node.iter(f"{ATOM}category") if c.get("term")]
    return Entry(
        ids=[arxiv_id.canonical, *([doi] if doi else [])],
        kind="paper",
        title=" ".join((node.findtext(f"{ATOM}title") or "").split()),
        authors=[a.findtext(f"{ATOM}name") or "" for a in node.iter(f"{ATOM}author")],
        abstract=_tidy_abstract(node.findtext(f"{ATOM}summary") or ""),
        url=arxiv_id.abs_url,
        published=iso_datetime(_parse_date(node.findtext(f"{ATOM}published"))),
        updated=iso_datetime(_parse_date(node.findtext(f"{ATOM}updated"))),
        categories=list(dict.fromkeys([primary, *terms] if primary else terms)),
        extra=extra,
        version=arxiv_id.version,
        entry_id=arxiv_id.versioned.removeprefix("arxiv:"),
    )


def _parse_xml(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=True)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError:
        return None


def _parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso_datetime(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, to the second; None for a missing or placeholder date."""
    if value is None or value.year <= 1:
        return None
    if value.tzinfo:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tidy_abstract(text: str) -> str:
    """arXiv abstracts keep the submitter's hard line wraps; join them, keep paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", (text or "").strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
