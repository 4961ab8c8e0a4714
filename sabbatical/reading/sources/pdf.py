"""PDF files and PDF URLs: the text layer with pypdf, and the paper's identity when it shows one.

arXiv stamps its id down the side of the first page and journals print a DOI there, so a PDF that shows
either becomes that paper (and later arXiv metadata for it lands on the same item); any other PDF is a
document named by its URL or path. A PDF without a text layer (a scan) is an error: there is nothing to
read or summarise.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..identity import canonical_id, find_arxiv_links, normalise_doi, parse_arxiv_id
from ..pile import Entry, Mention
from . import SourceError

MAX_PAGES = 300
MAX_CHARS = 1_000_000
_ARXIV_STAMP = re.compile(r"arXiv:\s?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)")
_DOI_TEXT = re.compile(r"\b(?:doi:?\s*|https?://(?:dx\.)?doi\.org/)(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def read_pdf(data: bytes, url: str | None = None, path: Path | None = None) -> Entry:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError("the PDF is encrypted with a password — save an unlocked copy and read that")
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PAGES]]
        info: Any = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"not a readable PDF ({' '.join(str(exc).split())[:120]})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())[:MAX_CHARS]
    if not text:
        raise SourceError("the PDF has no text layer (a scan?) — nothing to read")
    first = pages[0] if pages else ""
    strong, version = _paper_id(first)
    ids = [i for i in dict.fromkeys([strong, canonical_id(url) if url else None]) if i]
    if not ids and path:
        ids = ["file://" + quote(str(path.resolve()))]
    if not ids:
        raise SourceError("the PDF has no URL or path to name it by")
    arxiv = parse_arxiv_id(strong) if strong else None
    author = str(info.get("/Author") or "").strip()
    mentions = [Mention(m.arxiv.canonical, m.text, m.arxiv.abs_url) for m in find_arxiv_links(text)]
    return Entry(
        ids=ids,
        kind="paper" if strong else "document",
        title=_title(info.get("/Title"), first),
        authors=[a.strip() for a in re.split(r";| and ", author) if a.strip()],
        content=text,
        url=url or (arxiv.abs_url if arxiv else None),
        extra={"pages": len(reader.pages)},
        version=version,
        entry_id=url or (str(path) if path else None),
        mentions=mentions,
    )


def _paper_id(first_page: str) -> tuple[str | None, int | None]:
    """('arxiv:…', version) from arXiv's side stamp, ('doi:…', None) from a printed DOI, else (None, None)."""
    stamp = _ARXIV_STAMP.search(first_page)
    arxiv = parse_arxiv_id(stamp[1]) if stamp else None
    if arxiv:
        return arxiv.canonical, arxiv.version
    doi = _DOI_TEXT.search(first_page)
    return (normalise_doi(doi[1]), None) if doi else (None, None)


def _title(declared: object, first_page: str) -> str:
    title = " ".join(str(declared or "").split())
    if title and not re.match(r"^(untitled|microsoft word|document\d*)\b", title, re.IGNORECASE):
        return title
    for line in first_page.splitlines():
        line = " ".join(line.split())
        if len(line) > 8 and not _ARXIV_STAMP.search(line):
            return line[:300]
    return ""
