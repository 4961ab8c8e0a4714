"""The items already in the pile nearest to one being judged, for a prompt that shows them.

A summarise prompt with `neighbours: K` in its front matter is shown the K items nearest to the document
(their titles, and tldrs where they have a summary), so "new insight" is judged against what the
researcher has read. They are found by the pile's own search: `related` when the item has a stored
vector, else a search for its title (words, and meaning where the pile is embedded). Finding them only
reads. During a run, lookups go through their own read connections (a few, each used by one worker at
a time), so they neither wait for the run's writes nor hold them up.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from pathlib import Path

from .. import db
from ..config import Config
from ..errors import UsageError
from .prompt_files import Neighbour
from .summary_schema import SourceDocument

READERS = 2  # read connections for a run's lookups: about the cores a search can keep busy
MAX_QUERY_CHARS = 500


def pile_neighbours(
    conn: sqlite3.Connection,
    config: Config,
    document: SourceDocument,
    count: int,
    *,
    prefer: tuple[str, str] | None = None,
) -> list[Neighbour]:
    """The `count` items nearest to `document` already in the pile (never the item itself), each with
    its title and the tldr of its chosen summary (`prefer` as in `summarise.latest_summary_rows`)."""
    from .search import related, search
    from .summarise import latest_summary_rows

    hits = list(related(conn, config, document.id, limit=count)) if _in_pile(conn, document.id) else []
    if not hits:
        query = document.title.strip() or " ".join(document.body.split()[:30])
        try:
            found = search(conn, config, query[:MAX_QUERY_CHARS], limit=count + 1, explain=False)
            hits = [h for h in found if h.id != document.id]
        except UsageError:  # nothing searchable in the title
            hits = []
    hits = hits[:count]
    rows = latest_summary_rows(conn, [h.id for h in hits], prefer)
    tldrs = {item_id: row["tldr"] or "" for item_id, row in rows.items()}
    return [Neighbour(h.id, h.title or "", tldrs.get(h.id, "")) for h in hits]


def _in_pile(conn: sqlite3.Connection, item_id: str) -> bool:
    return conn.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is not None


class NeighbourFinder:
    """Neighbours for a run's worker threads; `close()` when the run ends.

    On a pile in a file, each lookup borrows one of up to READERS read connections of its own; an
    in-memory pile has no second connection, so lookups use the run's one under the run's lock."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        config: Config,
        count: int,
        *,
        prefer: tuple[str, str] | None = None,
        lock: threading.Lock | None = None,
    ):
        self.conn, self.config, self.count, self.prefer = conn, config, count, prefer
        self.lock = lock or threading.Lock()
        path = getattr(conn, "path", None)
        self._path = Path(path) if path else None
        self._free: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    def __call__(self, document: SourceDocument) -> list[Neighbour]:
        if self.count <= 0:
            return []
        if self._path is None:
            with self.lock:
                return pile_neighbours(self.conn, self.config, document, self.count, prefer=self.prefer)
        reader = self._borrow()
        try:
            return pile_neighbours(reader, self.config, document, self.count, prefer=self.prefer)
        finally:
            self._free.put(reader)

    def _borrow(self) -> sqlite3.Connection:
        with self._guard:
            if self._free.empty() and len(self._opened) < READERS:
                reader = db.connect(self._path, migrate=False)  # type: ignore[arg-type]
                self._opened.append(reader)
                return reader
        return self._free.get()

    def close(self) -> None:
        with self._guard:
            for reader in self._opened:
                reader.close()
            self._opened.clear()
