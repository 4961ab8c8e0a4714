"""Web pages: main text, title, author and date with trafilatura, from a URL or a saved HTML file.

Fetching is the shared `Fetcher`'s (timeouts, size limit); this module only extracts. The page's id is
its URL, normalised; a saved file without a URL is named by the page's own canonical URL when it declares
one, else by its path. arXiv papers linked anywhere in the page are recorded as mentions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..identity import canonical_id, find_arxiv_links
from ..pile import Entry, Mention
from . import SourceError
from .cleaning import drop_bylines, join_inline


def extract_page(data: bytes, url: str | None = None, path: Path | None = None) -> Entry:
    """A page entry from HTML bytes; SourceError when there is no main text to keep."""
    import trafilatura

    # trafilatura types its answer as Document | dict; with its defaults it is a Document or None.
    document: Any = trafilatura.bare_extraction(
        join_inline(data.decode("utf-8", errors="replace")),
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
    )
    text = drop_bylines((document.text or "").strip()) if document is not None else ""
    if not text:
        raise SourceError("no main text found in the page (a page of links, a login wall or a script-only app?)")
    declared = document.url if document.url and document.url.startswith(("http://", "https://")) else None
    ids = [i for i in dict.fromkeys(canonical_id(u) for u in (url, declared) if u) if i]
    if not ids:
        ids = ["file://" + quote(str(path.resolve()))] if path else []
    if not ids:
        raise SourceError("the page has no URL to name it by")
    markup = data.decode("utf-8", errors="replace")
    mentions = [Mention(link.arxiv.canonical, link.text, link.arxiv.abs_url) for link in find_arxiv_links(markup)]
    authors = [a.strip() for a in (document.author or "").split(";") if a.strip()]
    tags = [t for t in [*(document.categories or []), *(document.tags or [])] if t]
    return Entry(
        ids=ids,
        kind="page",
        title=" ".join((document.title or "").split()),
        authors=authors,
        abstract=" ".join((document.description or "").split()),
        content=text,
        url=url or declared,
        published=document.date or None,
        categories=tags,
        extra={"site": document.sitename} if document.sitename else {},
        entry_id=url or (str(path) if path else None),
        mentions=mentions,
    )
