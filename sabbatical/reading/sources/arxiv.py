"""arXiv through its Atom API: searches, ids and abs/pdf URLs, with the `arxiv` package's client.

The client pages through results, waits between requests and retries failures; its endpoint comes from
[reading] arxiv_api_url, so a mirror or a test server on loopback is used exactly like arXiv. arXiv asks
for three seconds between requests; that delay applies to arxiv.org and to nothing else.

Atom documents in arXiv's API format are also read from files and feed URLs (`parse_atom`), so a saved
API response or the tour's sample file carries arXiv-grade metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..identity import ArxivId, looks_like_bad_arxiv_id, normalise_doi, parse_arxiv_id
from ..pile import Entry
from . import SourceError

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV_NS = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV_DELAY_SECONDS = 3.0
IDS_PER_REQUEST = 100
SORTS = {"relevance": "Relevance", "newest": "SubmittedDate", "updated": "LastUpdatedDate"}


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
            raise SourceError(f"'{arg}' is not a valid arXiv id — use a form like 2310.01405, 2310.01405v2, "
                              "hep-th/9901001 or https://arxiv.org/abs/2310.01405")
        else:
            queries.append(arg)
    return ArxivArgs(ids, queries)


class ArxivSource:
    """The real `arxiv.Client`, pointed at the configured endpoint, with a timeout on every request."""

    def __init__(self, api_url: str, timeout: float = 30.0, page_size: int = 100, delay: float | None = None,
                 retries: int = 3):
        import arxiv
        import requests

        self.api_url = api_url
        host = (urlsplit(api_url).hostname or "").lower()
        if delay is None:
            delay = ARXIV_DELAY_SECONDS if host == "arxiv.org" or host.endswith(".arxiv.org") else 0.0
        self.client = arxiv.Client(page_size=page_size, delay_seconds=delay, num_retries=retries)
        self.client.query_url_format = api_url + "?{}"
        self.last_error_body = b""

        source = self

        class _Session(requests.Session):
            # arxiv.Client sends no timeout (a silent server would hang the run forever) and drops the
            # body of an error answer (which says what was wrong); this session fixes both.
            def request(self, *args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("timeout", timeout)
                response = super().request(*args, **kwargs)
                source.last_error_body = response.content if response.status_code != 200 else b""
                return response

        self.client._session = _Session()
        self.timeout = timeout

    def search(self, query: str, max_results: int | None = 100, sort: str = "relevance") -> Iterator[Entry]:
        """Entries for a search query, page by page (streamed, so each page can be stored as it comes)."""
        import arxiv

        search = arxiv.Search(query=query, max_results=max_results,
                              sort_by=getattr(arxiv.SortCriterion, SORTS[sort]))
        yield from self._run(search)

    def by_ids(self, ids: Sequence[ArxivId]) -> dict[str, Entry]:
        """base id → entry for every requested id arXiv knows (missing ones are simply absent)."""
        import arxiv

        found: dict[str, Entry] = {}
        wanted = list(dict.fromkeys(a.versioned.removeprefix("arxiv:") for a in ids))
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            chunk = wanted[start:start + IDS_PER_REQUEST]
            search = arxiv.Search(id_list=chunk, max_results=None)  # arXiv answers only the ids asked for
            for entry in self._run(search):
                found[entry.ids[0].removeprefix("arxiv:")] = entry
        return found

    def _run(self, search: Any) -> Iterator[Entry]:
        import arxiv
        import requests

        try:
            for result in self.client.results(search):
                yield entry_from_result(result)
        except arxiv.HTTPError as exc:
            raise SourceError(self._http_message(exc)) from None
        except arxiv.UnexpectedEmptyPageError:
            raise SourceError("arXiv sent an empty page in the middle of the results (after retries) — "
                              "run the command again later; what was read is kept") from None
        except requests.exceptions.Timeout:
            raise SourceError(f"the arXiv API at {self.api_url} did not answer within {self.timeout:g} s — "
                              "try later or raise [reading] timeout") from None
        except requests.exceptions.ConnectionError:
            raise SourceError(f"cannot reach the arXiv API at {self.api_url} — check your network "
                              "or [reading] arxiv_api_url") from None

    def _http_message(self, exc: Any) -> str:
        said = api_error_text(self.last_error_body)
        tries = f" (after {exc.retry + 1} tries)" if exc.retry else ""
        if said:
            return f"arXiv refused the request: {said} (HTTP {exc.status}){tries}"
        return f"the arXiv API answered HTTP {exc.status}{tries} — try later"


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


def entry_from_result(result: Any) -> Entry:
    """An `arxiv.Result` as a pile entry (paper, arXiv-grade metadata, version kept)."""
    arxiv_id = parse_arxiv_id(result.entry_id)
    if arxiv_id is None:
        raise SourceError(f"arXiv returned an entry with an unrecognised id: {result.entry_id}")
    doi = normalise_doi(result.doi or "")
    extra = {k: v for k, v in {"comment": result.comment, "journal_ref": result.journal_ref,
                               "primary_category": result.primary_category,
                               "doi": doi.removeprefix("doi:") if doi else None}.items() if v}
    categories = list(dict.fromkeys([result.primary_category, *result.categories] if result.primary_category
                                    else result.categories))
    return Entry(ids=[arxiv_id.canonical, *([doi] if doi else [])], kind="paper",
                 title=" ".join(result.title.split()), authors=[a.name for a in result.authors],
                 abstract=_tidy_abstract(result.summary), url=arxiv_id.abs_url,
                 published=iso_datetime(result.published), updated=iso_datetime(result.updated),
                 categories=categories, extra=extra, version=arxiv_id.version,
                 entry_id=arxiv_id.versioned.removeprefix("arxiv:"))


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
    import arxiv

    root = _parse_xml(data)
    if root is None or root.tag != f"{ATOM}feed":
        raise SourceError("not an arXiv Atom document")
    said = api_error_text(data)
    if said:
        raise SourceError(f"this is an arXiv error answer: {said}")
    entries = []
    for node in root.iter(f"{ATOM}entry"):
        links = [arxiv.Result.Link(link.get("href"), title=link.get("title"), rel=link.get("rel") or "",
                                   content_type=link.get("type")) for link in node.iter(f"{ATOM}link")]
        primary = node.find(f"{ARXIV_NS}primary_category")
        result = arxiv.Result(
            entry_id=(node.findtext(f"{ATOM}id") or "").strip(),
            updated=_parse_date(node.findtext(f"{ATOM}updated")),
            published=_parse_date(node.findtext(f"{ATOM}published")),
            title=node.findtext(f"{ATOM}title") or "",
            authors=[arxiv.Result.Author(a.findtext(f"{ATOM}name") or "") for a in node.iter(f"{ATOM}author")],
            summary=node.findtext(f"{ATOM}summary") or "",
            comment=node.findtext(f"{ARXIV_NS}comment"), journal_ref=node.findtext(f"{ARXIV_NS}journal_ref"),
            doi=node.findtext(f"{ARXIV_NS}doi"),
            primary_category=primary.get("term", "") if primary is not None else "",
            categories=[c.get("term") for c in node.iter(f"{ATOM}category") if c.get("term")],
            links=links)
        entries.append(entry_from_result(result))
    return " ".join((root.findtext(f"{ATOM}title") or "").split()), entries


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
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def iso_datetime(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, to the second; None for a missing or placeholder date."""
    if value is None or value.year <= 1:
        return None
    if value.tzinfo:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tidy_abstract(text: str) -> str:
    """arXiv abstracts keep the submitter's hard line wraps; join them, keep paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", (text or "").strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
