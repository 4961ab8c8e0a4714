"""Opening an item's web address in the researcher's browser: `pile open ID` and the triage screen's `o`.

The browser is Python's `webbrowser`, so the `BROWSER` environment variable chooses it as it does for
other tools (tests point it at a script that records the address). The address came from a feed or a
page, so only an http(s) address without spaces or control characters is handed on: a `file:` or
`javascript:` address, or one that a browser command line could read as an option, is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import CannotOpen
from .pile import handle_of, resolve_item

Browse = Callable[[str], object]


@dataclass
class Opened:
    """What was opened: the item, its short handle and title, and the address."""

    item_id: str
    handle: str
    title: str
    url: str


def open_item(conn: sqlite3.Connection, ref: str, browse: Browse | None = None) -> Opened:
    """Open the item `ref` names (a short handle or any id the resolver accepts) in the browser.

    `browse` is `webbrowser.open` unless given; it returns False when no browser could be started.
    """
    item_id = resolve_item(conn, ref)
    row = conn.execute("SELECT seq, title, url FROM items WHERE id = ?", (item_id,)).fetchone()
    opened = Opened(item_id, handle_of(row["seq"]), row["title"] or item_id, (row["url"] or "").strip())
    label = f"{opened.handle} {opened.title}"
    if not opened.url:
        raise CannotOpen(f"{label} has no URL to open (`sabbatical pile show {opened.handle}` shows what it has)")
    if not is_web_address(opened.url):
        raise CannotOpen(f"{label}: its address is not a web (http/https) address, so it is not opened")
    if browse is None:
        import webbrowser

        browse = webbrowser.open
    if browse(opened.url) is False:
        raise CannotOpen(f"no browser could be started to open {opened.url} — set BROWSER to your browser's command")
    return opened


def is_web_address(url: str) -> bool:
    """An http(s) address with a host and no whitespace or control characters."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
