"""OPML subscription lists: every outline with an `xmlUrl` becomes a followed feed.

Reading an OPML file only remembers the feeds; `sabbatical read update` fetches them. A list is someone
else's text: an `xmlUrl` that is malformed, or that points at a loopback, private or link-local address
(your router, a service on your machine), is refused unless [reading] allow_private_addresses is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import SourceError
from .fetch import check_url, is_public_url


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


def refusal(url: str, allow_private: bool) -> str | None:
    """Why a list's feed URL is not followed, or None when it may be."""
    try:
        check_url(url)
    except SourceError as exc:
        return exc.message
    if not allow_private and not is_public_url(url):
        return (
            "the list points at a loopback or private address; not followed — set "
            "[reading] allow_private_addresses = true to follow a local mirror"
        )
    return None
