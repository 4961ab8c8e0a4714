"""The items already in the pile nearest to one being judged, for a prompt that shows them.

A summarise prompt with `neighbours: K` in its front matter is shown the K items nearest to the document
(their titles, and tldrs where they have a summary), so "new insight" is judged against what the
researcher has read. They are the pile's own answer: by the stored vectors when the item has one (the
items nearest in meaning, as `related` finds them), else a search for its title (words, and meaning
where the pile is embedded). An item never lists itself or its own duplicates: the item it is an alias
of, an item with the same text (content hash), or one with the same title (the same paper from two
pools of a corpus). Finding them only reads.

A run asks for many items' neighbours, and a search in a worker thread held that worker's request back
while it competed with sixteen clients for the interpreter. So `NeighbourFinder.run_ahead` finds them in
a thread of its own, in the order the workers will ask, ahead of the requests: items with stored vectors
a block at a time (one matrix product for the block, not one per item), the others one search each. A
worker that gets ahead of it finds its item's neighbours itself, so nothing is found twice and nobody
waits for more than one item. Lookups go through their own read connections (a few, each used by one
thread at a time), so they neither wait for the run's writes nor hold them up.
"""

from __future__ import annotations

import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from .. import db
from ..config import Config
from ..errors import UsageError
from .pile_write import chunks
from .prompt_files import Neighbour
from .summary_schema import SourceDocument

READERS = 2  # read connections for a run's lookups: about the cores a search can keep busy
MAX_QUERY_CHARS = 500
VECTOR_BLOCK = 64  # items with vectors whose nearest are found by one matrix product
IN_LIST = 500  # ids per `IN (...)` query
_WORD = re.compile(r"\w+", re.UNICODE)
T = TypeVar("T")


# -- one lookup, for one item or many -----------------------------------------------------------
def pile_neighbours(
    conn: sqlite3.Connection,
    config: Config,
    document: SourceDocument,
    count: int,
    *,
    prefer: tuple[str, str] | None = None,
) -> list[Neighbour]:
    """The `count` items nearest to `document` already in the pile (never the item itself or its
    duplicates), each with its title and the tldr of its chosen summary (`prefer` as in
    `latest_summary_rows`)."""
    return neighbours_of(conn, config, [document], count, prefer=prefer)[0]


def neighbours_of(
    conn: sqlite3.Connection,
    config: Config,
    documents: Sequence[SourceDocument],
    count: int,
    *,
    prefer: tuple[str, str] | None = None,
) -> list[list[Neighbour]]:
    """`pile_neighbours` of each document, in order: those with a stored vector by one matrix product
    per VECTOR_BLOCK of them, the others by a search each; titles and tldrs read once for all."""
    from .search import nearest_rows, stored_index

    if count <= 0 or not documents:
        return [[] for _ in documents]
    depth = 2 * count + 1  # room to drop duplicates and still show `count`
    canonical = canonical_ids(conn, [d.id for d in documents])
    index = stored_index(conn, config)
    candidates: list[list[str] | None] = [None] * len(documents)
    with_vectors = [n for n, d in enumerate(documents) if index is not None and canonical.get(d.id) in index.row_of]
    for start in range(0, len(with_vectors), VECTOR_BLOCK):
        block = with_vectors[start : start + VECTOR_BLOCK]
        rows = [index.row_of[canonical[documents[n].id]] for n in block]  # type: ignore[union-attr]
        for n, found in zip(block, nearest_rows(index, rows, depth), strict=True):  # type: ignore[arg-type]
            candidates[n] = [item_id for item_id, _ in found]
    for n, document in enumerate(documents):
        if candidates[n] is None:
            candidates[n] = _by_search(conn, config, document, depth)
    return _chosen(conn, documents, canonical, [c or [] for c in candidates], count, prefer)


def _by_search(conn: sqlite3.Connection, config: Config, document: SourceDocument, depth: int) -> list[str]:
    from .search import search

    query = document.title.strip() or " ".join(document.body.split()[:30])
    try:
        return [h.id for h in search(conn, config, query[:MAX_QUERY_CHARS], limit=depth + 1, explain=False)]
    except UsageError:  # nothing searchable in the title
        return []


def canonical_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
    """Each id that names a pile item (its own id or an alias of it) → that item's id."""
    found: dict[str, str] = {}
    for chunk in chunks(list(dict.fromkeys(ids)), IN_LIST):
        marks = ",".join("?" * len(chunk))
        for alias, item_id in conn.execute(f"SELECT alias, item_id FROM aliases WHERE alias IN ({marks})", chunk):
            found[alias] = item_id
        found.update((r[0], r[0]) for r in conn.execute(f"SELECT id FROM items WHERE id IN ({marks})", chunk))
    return found


def _chosen(
    conn: sqlite3.Connection,
    documents: Sequence[SourceDocument],
    canonical: dict[str, str],
    candidates: list[list[str]],
    count: int,
    prefer: tuple[str, str] | None,
) -> list[list[Neighbour]]:
    """The first `count` candidates of each document that are not the same work as it, with titles and
    tldrs (two queries per IN_LIST ids for the whole batch)."""
    from .summary_rows import latest_summary_rows

    rows = _item_rows(conn, {item_id for found in candidates for item_id in found})
    kept = [
        [item_id for item_id in found if item_id in rows and not _same_work(document, canonical, rows[item_id])][:count]
        for document, found in zip(documents, candidates, strict=True)
    ]
    wanted = list(dict.fromkeys(item_id for ids in kept for item_id in ids))
    summaries: dict[str, sqlite3.Row] = {}
    for chunk in chunks(wanted, IN_LIST):
        summaries.update(latest_summary_rows(conn, chunk, prefer))
    return [
        [Neighbour(i, rows[i]["title"] or "", (summaries[i]["tldr"] or "") if i in summaries else "") for i in ids]
        for ids in kept
    ]


def _item_rows(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, sqlite3.Row]:
    found: dict[str, sqlite3.Row] = {}
    for chunk in chunks(sorted(ids), IN_LIST):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT id, title, content_hash FROM items WHERE id IN ({marks})", chunk):
            found[row["id"]] = row
    return found


def _same_work(document: SourceDocument, canonical: dict[str, str], row: sqlite3.Row) -> bool:
    """Whether a pile item is the document itself or a copy of it under another identity."""
    if row["id"] in (document.id, canonical.get(document.id)):
        return True
    if document.content_hash and row["content_hash"] == document.content_hash:
        return True
    title = title_key(document.title)
    return bool(title) and title_key(row["title"] or "") == title


def title_key(title: str) -> str:
    """A title as two copies of one work share it: case, spacing and punctuation folded."""
    return " ".join(_WORD.findall(title.casefold()))


# -- a run's lookups ------------------------------------------------------------------------------
class _Slot:
    """One item's neighbours in a run: unclaimed, being found (by the look-ahead or a worker), or found."""

    def __init__(self) -> None:
        self.claimed = False
        self.done = threading.Event()
        self.value: list[Neighbour] = []
        self.error: BaseException | None = None

    def settle(self, value: list[Neighbour] | None = None, error: BaseException | None = None) -> None:
        self.value, self.error = value or [], error
        self.done.set()

    def result(self) -> list[Neighbour]:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class NeighbourFinder:
    """Neighbours for a run's worker threads; `run_ahead(documents)` to find them before they are asked
    for, `close()` when the run ends.

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
        self._slots: dict[str, _Slot] = {}
        self._ahead: threading.Thread | None = None
        self._stop = threading.Event()

    def __call__(self, document: SourceDocument) -> list[Neighbour]:
        if self.count <= 0:
            return []
        slot = self._slots.get(document.id)
        if slot is None:
            return self._find([document])[0]
        if self._claim([slot]):  # the look-ahead has not reached it: find it here rather than wait
            self._settle([document], [slot])
        return slot.result()

    def run_ahead(self, documents: Sequence[SourceDocument]) -> None:
        """Start finding the neighbours of `documents`, in this order, in a thread of its own."""
        if self.count <= 0 or not documents or self._ahead is not None:
            return
        self._slots = {d.id: _Slot() for d in documents}
        self._ahead = threading.Thread(target=self._look_ahead, args=(list(documents),), name="neighbours", daemon=True)
        self._ahead.start()

    def _look_ahead(self, documents: list[SourceDocument]) -> None:
        has_vector = self._vector_test(documents)
        start = 0
        while start < len(documents) and not self._stop.is_set():
            size = 1
            if has_vector(documents[start]):  # a run of items with vectors goes in one matrix product
                while size < VECTOR_BLOCK and start + size < len(documents) and has_vector(documents[start + size]):
                    size += 1
            block = documents[start : start + size]
            slots = [self._slots[d.id] for d in block]
            claimed = self._claim(slots)
            if claimed:
                self._settle([d for d, s in zip(block, slots, strict=True) if s in claimed], claimed)
            start += size

    def _vector_test(self, documents: list[SourceDocument]) -> Callable[[SourceDocument], bool]:
        """Which documents have a stored vector (so a block of them is one matrix product)."""
        from .search import stored_index

        def read(conn: sqlite3.Connection) -> set[str]:
            index = stored_index(conn, self.config)
            if index is None:
                return set()
            canonical = canonical_ids(conn, [d.id for d in documents])
            return {doc_id for doc_id, item_id in canonical.items() if item_id in index.row_of}

        try:
            embedded = self._with_reader(read)
        except sqlite3.Error:
            embedded = set()
        return lambda document: document.id in embedded

    def _claim(self, slots: list[_Slot]) -> list[_Slot]:
        with self._guard:
            free = [slot for slot in slots if not slot.claimed]
            for slot in free:
                slot.claimed = True
        return free

    def _settle(self, documents: list[SourceDocument], slots: list[_Slot]) -> None:
        try:
            found = self._find(documents)
        except Exception as exc:  # each waiting worker sees its lookup's failure, as if it had looked itself
            for slot in slots:
                slot.settle(error=exc)
            return
        for slot, value in zip(slots, found, strict=True):
            slot.settle(value)

    def _find(self, documents: list[SourceDocument]) -> list[list[Neighbour]]:
        return self._with_reader(
            lambda conn: neighbours_of(conn, self.config, documents, self.count, prefer=self.prefer)
        )

    def _with_reader(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._path is None:
            with self.lock:
                return work(self.conn)
        reader = self._borrow()
        try:
            return work(reader)
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
        """Stop the look-ahead (after the block it is on) and close the read connections."""
        self._stop.set()
        if self._ahead is not None:
            self._ahead.join()
        with self._guard:
            for reader in self._opened:
                reader.close()
            self._opened.clear()
