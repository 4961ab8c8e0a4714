"""OPML subscription lists: every outline with an `xmlUrl` becomes a followed feed.

Reading an OPML file only remembers the feeds; `sabbatical read update` fetches them.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import SourceError


@dataclass
class Subscription:
    url: str
    title: str


def is_opml(data: bytes) -> bool:
    return b"<opml" in data[:4096].lower()


def parse_opml(data: bytes) -> list[Subscription]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"not a readable OPML file ({exc})") from None
    if root is None or root.tag.lower() != "opml":
        raise SourceError("not an OPML file (no <opml> root)")
    found: dict[str, Subscription] = {}
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url.startswith(("http://", "https://")) and url not in found:
            title = outline.get("title") or outline.get("text") or ""
            found[url] = Subscription(url, " ".join(title.split()))
    if not found:
        raise SourceError("the OPML file lists no feeds (no outline has an xmlUrl)")
    return list(found.values())
