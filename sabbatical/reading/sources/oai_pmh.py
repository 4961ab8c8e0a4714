"""Bulk arXiv metadata through OAI-PMH (`read arxiv --harvest --from DATE [--set cs]`).

ListRecords in the oai_dc format, page after page, following resumption tokens until the list is done;
a token that comes back a second time would make the list endless, so the harvest stops there with an
error. Pages are paced by the shared `Fetcher` (one request at a time per host, [reading] host_delay
between them, three seconds for arXiv's hosts), and a too-eager harvester's 503 with Retry-After is
waited out (capped, and never past the request's deadline) and retried.
Records are streamed, so every page is stored as it arrives and an interrupted harvest keeps its pages.
Saved ListRecords/GetRecord responses are read from files the same way (`parse_records`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..identity import normalise_doi, parse_arxiv_id
from ..pile import Entry
from . import SourceError
from .fetch import Fetcher

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"


def harvest(
    fetcher: Fetcher,
    endpoint: str,
    since: str,
    until: str | None = None,
    set_spec: str | None = None,
    on_page: Callable[[int, int | None], None] | None = None,
) -> Iterator[Entry]:
    """Every record changed since `since` (YYYY-MM-DD), optionally in one set (`cs`, `math`, `physics:hep-th`)."""
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": since}
    if until:
        params["until"] = until
    if set_spec:
        params["set"] = set_spec
    seen: set[str] = set()
    while True:
        response = fetcher.get(endpoint, params=params, accept="text/xml")
        root = _parse(response.body)
        records, token, total = parse_records(root)
        yield from records
        if on_page:
            on_page(0, total)
        if not token:
            return
        if token in seen:
            raise SourceError(
                f"the endpoint sent the resumption token '{token[:60]}' a second time, so the "
                "list would never end — stopped; what was read is kept (try again later)"
            )
        seen.add(token)
        params = {"verb": "ListRecords", "resumptionToken": token}


def parse_records(root: Any) -> tuple[list[Entry], str | None, int | None]:
    """(entries, next resumption token or None, completeListSize) from one OAI-PMH response."""
    error = root.find(f"{OAI}error")
    if error is not None:
        code = error.get("code", "")
        if code == "noRecordsMatch":
            return [], None, 0
        raise SourceError(f"the OAI-PMH endpoint refused the request: {code} {(error.text or '').strip()}".strip())
    entries = [e for e in (entry_from_record(r) for r in root.iter(f"{OAI}record")) if e is not None]
    token_node = root.find(f".//{OAI}resumptionToken")
    token = (token_node.text or "").strip() if token_node is not None else ""
    total = token_node.get("completeListSize") if token_node is not None else None
    return entries, token or None, int(total) if total and total.isdigit() else None


def parse_file(data: bytes) -> list[Entry]:
    """Entries from a saved OAI-PMH response (ListRecords or GetRecord)."""
    records, _, _ = parse_records(_parse(data))
    return records


def is_oai_pmh(data: bytes) -> bool:
    return b"http://www.openarchives.org/OAI/2.0/" in data[:2048]


def entry_from_record(record: Any) -> Entry | None:
    """One oai_dc record as a paper entry; deleted records and non-arXiv identifiers give None."""
    header = record.find(f"{OAI}header")
    if header is None or header.get("status") == "deleted":
        return None
    identifier = (header.findtext(f"{OAI}identifier") or "").strip()
    arxiv = parse_arxiv_id(identifier.rsplit(":", 1)[-1]) if identifier.lower().startswith("oai:arxiv.org:") else None
    dc = record.find(f".//{OAI}metadata")
    if arxiv is None or dc is None:
        return None
    values = _dc_values(dc)
    descriptions = values.get("description", [])
    abstract = next((d for d in descriptions if not d.startswith("Comment:")), "")
    comment = next((d.removeprefix("Comment:").strip() for d in descriptions if d.startswith("Comment:")), "")
    dois = [d for d in (normalise_doi(i) for i in values.get("identifier", [])) if d]
    dates = sorted(values.get("date", []))
    extra = {"comment": " ".join(comment.split())} if comment else {}
    if dois:
        extra["doi"] = dois[0].removeprefix("doi:")
    return Entry(
        ids=[arxiv.canonical, *dois[:1]],
        kind="paper",
        title=" ".join(" ".join(values.get("title", [""])).split()),
        authors=[_first_last(name) for name in values.get("creator", [])],
        abstract="\n\n".join(" ".join(p.split()) for p in abstract.split("\n\n") if p.strip()),
        url=arxiv.abs_url,
        published=dates[0] if dates else None,
        updated=dates[-1] if len(dates) > 1 else None,
        categories=values.get("subject", []),
        extra=extra,
        entry_id=identifier,
    )


def _dc_values(dc: Any) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for node in dc.iter():
        if isinstance(node.tag, str) and node.tag.startswith(DC) and node.text and node.text.strip():
            values.setdefault(node.tag[len(DC) :], []).append(node.text.strip())
    return values


def _first_last(name: str) -> str:
    """oai_dc writes 'Last, First'; the pile writes names as people sign them."""
    last, sep, first = name.partition(",")
    return " ".join(f"{first.strip()} {last.strip()}".split()) if sep and first.strip() else name.strip()


def _parse(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"the OAI-PMH answer is not valid XML ({exc})") from None
    if root.tag != f"{OAI}OAI-PMH":
        raise SourceError("the answer is not an OAI-PMH document — check [reading] oai_pmh_url")
    return root
