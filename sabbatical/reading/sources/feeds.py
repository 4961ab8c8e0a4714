"""Feeds: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed (and RSS-in-JSON) as JSON.

`parse_feed` turns the bytes of a feed into entries; fetching (conditional GET) and remembering the feed
are the orchestrator's. An Atom document in arXiv's API format is read as arXiv metadata. A feed that
feedparser reads only in part ("bozo") is read with a warning; a web page or anything else that is not a
feed is an error, and a web page that names its feed says where it is.

Identity of an entry (see `_assign_ids`): an entry linking an arXiv paper or a DOI *is* that paper; any
other entry is its link, normalised. Some feeds publish several entries at one page (changelogs, link
blogs, release notes); there the link alone would merge distinct entries, so they are told apart by the
link's fragment, else by their guid. Entries sharing guid and link are the same entry, published twice.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urljoin

from ..identity import canonical_id, find_arxiv_links, normalise_doi, normalise_url, parse_arxiv_id
from ..pile import Entry, Mention
from . import SourceError, SourceRead
from .arxiv import is_arxiv_atom, parse_atom
from .cleaning import drop_bylines, join_inline

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "text/xml",
    "application/xml",
)


@dataclass
class RawEntry:
    """An entry as any feed format gives it, before identity is assigned."""

    guid: str = ""
    link: str = ""
    title: str = ""
    summary: str = ""  # HTML or text
    content: str = ""  # HTML or text
    published: str | None = None
    updated: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def parse_feed(data: bytes, locator: str, content_type: str = "") -> SourceRead:
    """Entries of a feed document; SourceError when it is not a feed at all."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise SourceError("the document is empty — not a feed")
    if stripped[:1] in (b"{", b"["):
        title, site, raw, warnings = _parse_json(stripped)
    elif is_arxiv_atom(data):
        title, entries = parse_atom(data)
        return SourceRead(entries=entries, metadata_from="arxiv", title=title)
    else:
        title, site, raw, warnings = _parse_xml(data, content_type, locator)
    anonymous = sum(1 for r in raw if not r.guid and not _web(r.link))
    if anonymous:
        warnings.append(
            f"{anonymous} of {len(raw)} entries have no link or id; they are named by their text, "
            "so an edited entry will come back as a new one"
        )
    entries = _to_entries(raw, site or _locator_key(locator))
    return SourceRead(entries=entries, metadata_from="feed", title=title, warnings=warnings)


def _parse_xml(data: bytes, content_type: str, locator: str) -> tuple[str, str, list[RawEntry], list[str]]:
    import feedparser

    headers = {"content-type": content_type} if content_type else {}
    # Content is reduced to text here, so feedparser need not sanitise it or rewrite its relative links
    # (entry links are resolved either way); both passes cost more than the parse itself.
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.version and not parsed.entries:
        raise SourceError(_not_a_feed(data, parsed, locator))
    warnings = []
    if parsed.bozo and _cut_short(data):
        raise SourceError(
            "the feed is cut short (it ends before its closing tag) — the transfer broke or the "
            "server sent part of it; it is read again next time"
        )
    if parsed.bozo:
        problem = _one_line(parsed.get("bozo_exception"))
        count = len(parsed.entries)
        warnings.append(
            f"the feed is malformed ({problem}); read {count} {'entry' if count == 1 else 'entries'} anyway"
        )
    feed = parsed.feed
    raw = [_raw_from_feedparser(e) for e in parsed.entries]
    return _text(feed.get("title", "")), feed.get("link", ""), raw, warnings


_ROOT_END = re.compile(rb"</\s*(?:[\w.-]+:)?(?:rss|feed|rdf)\s*>\s*$", re.IGNORECASE)


def _cut_short(data: bytes) -> bool:
    """A feed whose root element is never closed was truncated (not merely sloppy)."""
    tail = data[-4096:].rstrip(b"\x00 \t\r\n")
    return _ROOT_END.search(tail) is None


def _raw_from_feedparser(e: Any) -> RawEntry:
    content = "\n".join(c.get("value", "") for c in e.get("content", []) if c.get("value"))
    summary = e.get("summary", "")
    authors = [a.get("name", "") for a in e.get("authors", []) if a.get("name")]
    if not authors and e.get("author"):
        authors = [e["author"]]
    return RawEntry(
        guid=e.get("id", "") or "",
        link=e.get("link", "") or "",
        title=_text(e.get("title", "")),
        summary=summary if summary != content else "",
        content=content,
        published=_struct_time(e.get("published_parsed")),
        # `in` first: feedparser's get("updated_parsed") falls back to the published date, with a warning
        updated=_struct_time(e["updated_parsed"]) if "updated_parsed" in e else None,
        authors=authors,
        tags=[t.get("term") for t in e.get("tags", []) if t.get("term")],
    )


def _parse_json(data: bytes) -> tuple[str, str, list[RawEntry], list[str]]:
    """JSON Feed 1.x, or RSS 2.0 written as JSON. (feedparser reads neither.)"""
    try:
        doc = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise SourceError(
            f"the document looks like JSON but is not valid JSON ({exc}) — it may be cut short; fetch it again"
        ) from None
    if isinstance(doc, dict) and "jsonfeed.org/version" in str(doc.get("version", "")):
        items = doc.get("items") or []
        raw, warnings = _json_entries(items if isinstance(items, list) else [items], _raw_from_json_feed)
        return _text(_lenient(doc.get("title"))), _lenient(doc.get("home_page_url")), raw, warnings
    channel = doc.get("rss", {}).get("channel") if isinstance(doc, dict) and isinstance(doc.get("rss"), dict) else None
    if isinstance(channel, dict):
        items = channel.get("item") or []
        raw, warnings = _json_entries(items if isinstance(items, list) else [items], _raw_from_rss_json)
        return _text(_lenient(channel.get("title"))), _lenient(channel.get("link")), raw, warnings
    raise SourceError("the document is JSON but not a JSON Feed (no https://jsonfeed.org/version) — not a feed")


def _json_entries(items: list[Any], convert: Any) -> tuple[list[RawEntry], list[str]]:
    """Each item converted on its own: a wrong-typed item is skipped with a warning, not the whole feed."""
    raw, skipped = [], 0
    for item in items:
        try:
            if not isinstance(item, dict):
                raise TypeError("an item is not an object")
            raw.append(convert(item))
        except (TypeError, ValueError, AttributeError):
            skipped += 1
    warnings = [f"{skipped} of {len(items)} items are malformed (wrong types) and were skipped"] if skipped else []
    return raw, warnings


def _str(value: Any) -> str:
    """A field that must be a string: numbers are written out, anything else is wrong."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return str(value)


def _lenient(value: Any) -> str:
    try:
        return _str(value)
    except TypeError:
        return ""


def _raw_from_json_feed(item: dict[str, Any]) -> RawEntry:
    people = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    people = people if isinstance(people, list) else []
    authors = [_str(p.get("name")) for p in people if isinstance(p, dict) and p.get("name")]
    content = _str(item.get("content_html")) or _paragraphs_html(_str(item.get("content_text")))
    tags = item.get("tags") or []
    return RawEntry(
        guid=_str(item.get("id")),
        link=_str(item.get("url")) or _str(item.get("external_url")),
        title=_text(_str(item.get("title"))),
        summary=_str(item.get("summary")),
        content=content,
        published=_iso_text(item.get("date_published")),
        updated=_iso_text(item.get("date_modified")),
        authors=authors,
        tags=[_str(t) for t in (tags if isinstance(tags, list) else [tags])],
    )


def _raw_from_rss_json(item: dict[str, Any]) -> RawEntry:
    guid = item.get("guid")
    if isinstance(guid, dict):
        guid = guid.get("#value") or guid.get("value") or guid.get("content") or ""
    return RawEntry(
        guid=_str(guid),
        link=_str(item.get("link")),
        title=_text(_str(item.get("title"))),
        content=_str(item.get("description")),
        published=_rfc822(item.get("pubDate")),
    )


# -- identity ----------------------------------------------------------------------------------------------


def _to_entries(raw: list[RawEntry], feed_key: str) -> list[Entry]:
    ids = _assign_ids(raw, feed_key)
    return [_entry(r, entry_ids) for r, entry_ids in zip(raw, ids)]


def _strong_id(r: RawEntry) -> str | None:
    for value in (r.link, r.guid.removeprefix("oai:arXiv.org:")):
        arxiv = parse_arxiv_id(value)
        if arxiv:
            return arxiv.canonical
    for value in (r.link, r.guid):
        doi = normalise_doi(value)
        if doi:
            return doi
    return None


def _web(url: str, keep_fragment: bool = False) -> str | None:
    try:
        return normalise_url(url, keep_fragment=keep_fragment)
    except ValueError:
        return None


def _assign_ids(raw: list[RawEntry], feed_key: str) -> list[list[str]]:
    """Canonical ids (first) and further names (rest) for each entry of one feed."""
    result: list[list[str]] = [[] for _ in raw]
    pages: dict[str, list[int]] = {}
    for index, r in enumerate(raw):
        strong = _strong_id(r)
        if strong:
            result[index] = [strong, *_extra_names(r, strong)]
            continue
        page = _web(r.link) or _web(r.guid)
        if page:
            pages.setdefault(page, []).append(index)
        else:
            result[index] = [_id_without_url(r, feed_key)]
    for page, members in pages.items():
        keys = {_entry_key(raw[i]) for i in members}
        if len(keys) == 1:
            for i in members:
                result[i] = [page, *_extra_names(raw[i], page)]
        else:
            for i, item_id in zip(members, _tell_apart(page, [raw[i] for i in members])):
                result[i] = [item_id]
    return result


def _entry_key(r: RawEntry) -> str:
    return r.guid or r.link or _digest(r.title + r.summary + r.content)


def _tell_apart(page: str, members: list[RawEntry]) -> list[str]:
    """Distinct ids for distinct entries that share one page URL: the link's fragment, else the guid."""
    with_fragments = [_web(r.link or r.guid, keep_fragment=True) or page for r in members]
    if _one_to_one(members, with_fragments):
        return with_fragments
    ids = []
    for r in members:
        guid_url = _web(r.guid, keep_fragment=True)
        if guid_url and guid_url != page:
            ids.append(guid_url)
        elif r.guid and re.match(r"^(tag|urn):", r.guid, re.IGNORECASE):
            ids.append(r.guid)
        else:
            ids.append(f"{page}#{quote(_entry_key(r), safe='')}")
    return ids


def _one_to_one(members: list[RawEntry], ids: list[str]) -> bool:
    keys = [_entry_key(r) for r in members]
    return len(set(zip(keys, ids))) == len(set(keys)) == len(set(ids))


def _extra_names(r: RawEntry, item_id: str) -> list[str]:
    names = []
    for value in (r.link, r.guid):
        name = canonical_id(value) if value else None
        if name and name != item_id and name not in names:
            names.append(name)
    return names


def _id_without_url(r: RawEntry, feed_key: str) -> str:
    if r.guid and re.match(r"^(tag|urn):", r.guid, re.IGNORECASE):
        return r.guid
    return f"{feed_key}#{quote(r.guid, safe='') if r.guid else _digest(r.title + r.summary + r.content)}"


def _locator_key(locator: str) -> str:
    web = _web(locator)
    if web:
        return web
    return "file://" + quote(locator)


def _entry(r: RawEntry, ids: list[str]) -> Entry:
    paper = ids[0].startswith(("arxiv:", "doi:"))
    body = r.content or r.summary
    mentions = [
        Mention(link.arxiv.canonical, link.text, link.arxiv.abs_url)
        for link in find_arxiv_links(r.summary + "\n" + r.content)
    ]
    link = r.link if _web(r.link) else (r.guid if _web(r.guid) else None)
    return Entry(
        ids=ids,
        kind="paper" if paper else "post",
        title=r.title,
        authors=r.authors,
        abstract=html_to_text(r.summary) if r.content and r.summary else "",
        content=html_to_text(body),
        url=link,
        published=r.published or r.updated,
        updated=r.updated,
        categories=r.tags,
        entry_id=r.guid or r.link or None,
        mentions=mentions,
    )


# -- text helpers --------------------------------------------------------------------------------------------

_BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|pre|tr|section|article)\s*>|<br\s*/?>", re.IGNORECASE)
_DROP = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")


def html_to_text(markup: str) -> str:
    """Plain text from an HTML fragment: tags out, entities decoded, paragraphs kept."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return "\n\n".join(" ".join(p.split()) for p in markup.split("\n\n") if p.strip())
    text = _TAGS.sub(" ", _BLOCK_END.sub("\n\n", join_inline(_DROP.sub(" ", markup))))
    paragraphs = (" ".join(p.split()) for p in html.unescape(text).split("\n\n"))
    return drop_bylines("\n\n".join(p for p in paragraphs if p))


def _text(value: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", value or "")).split())


def _paragraphs_html(text: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _struct_time(value: time.struct_time | None) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return None


def _iso_text(value: Any) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc822(value: Any) -> str | None:
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(exc: Any) -> str:
    text = " ".join(str(exc or "unknown problem").split())
    return text[:160]


# -- not a feed ----------------------------------------------------------------------------------------------

_ALTERNATE = re.compile(r"<link\b[^>]*>", re.IGNORECASE)


def _not_a_feed(data: bytes, parsed: Any, locator: str) -> str:
    head = data[:200_000].decode("utf-8", errors="replace")
    if re.search(r"<html\b|<!doctype\s+html|<body\b", head, re.IGNORECASE):
        found = discover_feeds(head, locator if looks_like_url(locator) else "")
        if found:
            return f"this is a web page, not a feed; the page names its feed at {found[0]} — read that instead"
        return "this is a web page, not a feed — use `sabbatical read url` for a page, or find the page's feed URL"
    problem = _one_line(parsed.get("bozo_exception")) if parsed.get("bozo") else "no feed elements"
    return f"not an RSS, Atom or JSON feed ({problem})"


def discover_feeds(page: str, base: str = "") -> list[str]:
    """Feed URLs a web page declares with <link rel="alternate" type="application/rss+xml" …>."""
    found = []
    for tag in _ALTERNATE.findall(page):
        attrs = {k: v for k, v in ((m[0].lower(), m[2]) for m in re.findall(r"""([\w-]+)\s*=\s*(["'])(.*?)\2""", tag))}
        rel = attrs.get("rel", "").lower().split()
        if "alternate" in rel and attrs.get("type", "").lower() in FEED_TYPES[:5] and attrs.get("href"):
            url = urljoin(base, html.unescape(attrs["href"])) if base else html.unescape(attrs["href"])
            if url not in found:
                found.append(url)
    return found


def looks_like_url(text: str) -> bool:
    """True for what is meant as a web address, even a malformed one (the fetch then says what is wrong)."""
    return text.strip().lower().startswith(("http://", "https://"))
