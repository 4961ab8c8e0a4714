"""The pile store: items with one canonical id, their aliases, versions, sources and links.

`Pile(conn)` works over an open connection (`Pile.open(workspace)` opens the workspace's pile). Sources
turn what they read into `Entry` records; `Pile.add` writes a stream of them in batched transactions
(one per `batch_size` entries), so an interrupted ingest keeps every finished batch and a re-run completes
the rest. Each entry is resolved to an existing item through its ids and the alias table, or becomes a new
item named by its first id.

Who may overwrite an item's text, and how entries are merged into the pile, is `pile_write`'s (re-exported
here: `from sabbatical.reading.pile import Entry, Pile` stays the way in).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from .. import db
from ..errors import NotFound
from ..workspace import Workspace
from .identity import canonical_id
from .pile_write import (
    DEFAULT_BATCH,
    ITEM_FIELDS,
    LOOKUP_CHUNK,
    RANKS,
    TEXT_FIELDS,
    AddCounts,
    Entry,
    Mention,
    Progress,
    batches,
    chunks,
    content_hash,
    dump_json,
    lookup_ids,
    may_replace_text,
    rank_of,
    write_batch,
)

__all__ = [
    "DEFAULT_BATCH",
    "ITEM_FIELDS",
    "KINDS",
    "RANKS",
    "TEXT_FIELDS",
    "AddCounts",
    "EarlierText",
    "Entry",
    "Item",
    "ItemRow",
    "ItemSource",
    "LinkedItem",
    "Mention",
    "Pile",
    "Source",
    "Version",
    "content_hash",
    "dump_json",
    "handle_of",
    "item_labels",
    "lookup_ids",
    "may_replace_text",
    "rank_of",
    "resolve_item",
]

KINDS = ("paper", "post", "page", "document")


@dataclass
class Source:
    id: int
    kind: str
    locator: str
    title: str
    followed: bool
    etag: str | None
    last_modified: str | None
    last_entry: str | None
    last_fetched: str | None
    last_status: str | None
    last_error: str | None
    added_at: str


@dataclass
class ItemSource:
    kind: str
    locator: str
    title: str
    entry_id: str | None
    first_seen: str


@dataclass
class Version:
    version: int
    title: str
    published: str | None
    seen_at: str


@dataclass
class EarlierText:
    """A text the item had before a read replaced it (see `may_replace_text`)."""

    title: str
    abstract: str
    content: str
    url: str | None
    written_by: str
    replaced_by: str
    replaced_at: str


@dataclass
class LinkedItem:
    id: str
    kind: str
    title: str
    link: str


@dataclass
class Item:
    """One item with everything the pile knows about it."""

    id: str
    seq: int
    kind: str
    title: str
    authors: list[str]
    abstract: str
    content: str
    url: str | None
    published: str | None
    updated: str | None
    categories: list[str]
    content_hash: str
    private: bool
    extra: dict[str, Any]
    first_seen: str
    last_changed: str
    metadata_from: str
    aliases: list[tuple[str, str]] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    earlier_texts: list[EarlierText] = field(default_factory=list)
    sources: list[ItemSource] = field(default_factory=list)
    links_out: list[LinkedItem] = field(default_factory=list)
    links_in: list[LinkedItem] = field(default_factory=list)


# An Item's fields without a default are the items table's columns of the same names; these hold JSON text.
_ITEM_COLUMNS = tuple(f.name for f in fields(Item) if f.default is MISSING and f.default_factory is MISSING)
_JSON_COLUMNS = ("authors", "categories", "extra")


def _item_of(row: sqlite3.Row) -> Item:
    """An items row as an Item (its aliases, versions, sources and links are filled by `Pile.get`)."""
    columns = {name: row[name] for name in _ITEM_COLUMNS}
    columns.update({name: json.loads(columns[name]) for name in _JSON_COLUMNS})
    columns["private"] = bool(columns["private"])
    return Item(**columns)


@dataclass
class ItemRow:
    """An item as `Pile.list` shows it."""

    id: str
    kind: str
    title: str
    published: str | None
    first_seen: str
    url: str | None
    sources: int
    seq: int = 0

    @property
    def handle(self) -> str:
        return handle_of(self.seq)


class Pile:
    """The reading pile over one open SQLite connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @classmethod
    def open(cls, workspace: Workspace) -> Pile:
        """The workspace's pile (created and migrated on first use)."""
        return cls(db.connect(workspace.pile_path))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Pile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sources ---------------------------------------------------------------------------------------
    def ensure_source(self, kind: str, locator: str, title: str = "", followed: bool | None = None) -> int:
        """The id of the source (kind, locator), created if new; `followed` set when given."""
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT OR IGNORE INTO sources (kind, locator, title) VALUES (?, ?, ?)", (kind, locator, title)
            )
            row = self.conn.execute(
                "SELECT id, title FROM sources WHERE kind = ? AND locator = ?", (kind, locator)
            ).fetchone()
            if title and title != row["title"]:
                self.conn.execute("UPDATE sources SET title = ? WHERE id = ?", (title, row["id"]))
            if followed is not None:
                self.conn.execute("UPDATE sources SET followed = ? WHERE id = ?", (int(followed), row["id"]))
        return row["id"]

    def source(self, source_id: int) -> Source:
        row = self.conn.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise NotFound(f"No source {source_id} in the pile")
        return _source(row)

    def find_source(self, kind: str, locator: str) -> Source | None:
        row = self.conn.execute("SELECT * FROM sources WHERE kind = ? AND locator = ?", (kind, locator)).fetchone()
        return _source(row) if row else None

    def sources(self, followed: bool | None = None) -> list[Source]:
        sql = "SELECT * FROM sources" + ("" if followed is None else " WHERE followed = ?") + " ORDER BY id"
        rows = self.conn.execute(sql, () if followed is None else (int(followed),))
        return [_source(r) for r in rows]

    def record_fetch(
        self,
        source_id: int,
        status: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        last_entry: str | None = None,
        error: str | None = None,
        title: str | None = None,
    ) -> None:
        """Remember how the last fetch of a source went (and its validators for the next conditional GET)."""
        with db.transaction(self.conn):
            self.conn.execute(
                "UPDATE sources SET last_status = ?, last_error = ?, "
                "last_fetched = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
                "etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
                "last_entry = COALESCE(?, last_entry), title = COALESCE(NULLIF(?, ''), title) WHERE id = ?",
                (status, error, etag, last_modified, last_entry, title, source_id),
            )

    # -- writing ---------------------------------------------------------------------------------------
    def add(
        self,
        entries: Iterable[Entry],
        source_id: int | None,
        metadata_from: str,
        *,
        batch_size: int = DEFAULT_BATCH,
        on_progress: Progress | None = None,
        counts: AddCounts | None = None,
    ) -> AddCounts:
        """Upsert `entries` from one source, one transaction per batch; return what happened to them.

        `counts`, when given, is updated batch by batch, so a caller still knows what was stored when the
        entries' iterator fails part-way (every finished batch stays committed).
        """
        counts = counts if counts is not None else AddCounts()
        seen: set[str] = set()  # items already met in this read of the source
        for batch in batches(entries, batch_size):
            with db.transaction(self.conn):
                counts += write_batch(self.conn, batch, source_id, metadata_from, seen)
            if on_progress:
                on_progress(advance=len(batch))
        return counts

    # -- reading ---------------------------------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        """The canonical id for an id, alias, URL, arXiv id, `seq` number or unique id prefix."""
        return resolve_item(self.conn, ref)

    def get(self, ref: str) -> Item:
        """Everything about one item: fields, aliases, versions, sources and links."""
        item_id = self.resolve(ref)
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        item = _item_of(row)
        q = self.conn.execute
        item.aliases = [
            (r["alias"], r["kind"])
            for r in q("SELECT alias, kind FROM aliases WHERE item_id = ? ORDER BY alias", (item_id,))
        ]
        item.versions = [
            Version(r["version"], r["title"], r["published"], r["seen_at"])
            for r in q("SELECT * FROM item_versions WHERE item_id = ? ORDER BY version", (item_id,))
        ]
        item.earlier_texts = [
            EarlierText(
                r["title"], r["abstract"], r["content"], r["url"], r["written_by"], r["replaced_by"], r["replaced_at"]
            )
            for r in q("SELECT * FROM item_texts WHERE item_id = ? ORDER BY id", (item_id,))
        ]
        item.sources = [
            ItemSource(r["kind"], r["locator"], r["title"], r["entry_id"], r["first_seen"])
            for r in q(
                "SELECT s.kind, s.locator, s.title, x.entry_id, x.first_seen FROM item_sources x "
                "JOIN sources s ON s.id = x.source_id WHERE x.item_id = ? ORDER BY x.first_seen, s.id",
                (item_id,),
            )
        ]
        item.links_out = self._linked(item_id, outgoing=True)
        item.links_in = self._linked(item_id, outgoing=False)
        return item

    def _linked(self, item_id: str, *, outgoing: bool) -> list[LinkedItem]:
        """The items `item_id` links to (`outgoing`), or the items linking to it."""
        near, far = ("from_item", "to_item") if outgoing else ("to_item", "from_item")
        rows = self.conn.execute(
            f"SELECT i.id, i.kind, i.title, l.kind AS link FROM links l JOIN items i ON i.id = l.{far} "
            f"WHERE l.{near} = ? ORDER BY i.id",
            (item_id,),
        )
        return [LinkedItem(r["id"], r["kind"], r["title"], r["link"]) for r in rows]

    def list(
        self,
        *,
        kind: str | None = None,
        source: str | None = None,
        limit: int | None = 50,
        offset: int = 0,
        only: Collection[str] | None = None,
    ) -> list[ItemRow]:
        """Items, newest first; `source` matches a source id, kind, or part of its locator; `only` keeps
        just these ids (what a filter allows)."""
        if only is not None:
            wanted = [r for r in self.list(kind=kind, source=source, limit=None) if r.id in only]
            return wanted[offset : None if limit is None else offset + limit]
        where, params = [], []
        if kind:
            where.append("i.kind = ?")
            params.append(kind)
        if source:
            where.append(
                "i.id IN (SELECT x.item_id FROM item_sources x JOIN sources s ON s.id = x.source_id "
                "WHERE s.kind = ? OR s.locator LIKE ? OR CAST(s.id AS TEXT) = ?)"
            )
            params += [source, f"%{source}%", source]
        sql = (
            "SELECT i.id, i.seq, i.kind, i.title, i.published, i.first_seen, i.url, "
            "(SELECT COUNT(*) FROM item_sources x WHERE x.item_id = i.id) AS n FROM items i"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY COALESCE(i.published, i.first_seen) DESC, i.seq DESC LIMIT ? OFFSET ?"
        )
        rows = self.conn.execute(sql, (*params, -1 if limit is None else limit, offset))
        return [
            ItemRow(r["id"], r["kind"], r["title"], r["published"], r["first_seen"], r["url"], r["n"], r["seq"])
            for r in rows
        ]

    def count(self, kind: str | None = None) -> int:
        if kind:
            return self.conn.execute("SELECT COUNT(*) FROM items WHERE kind = ?", (kind,)).fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def counts_by_kind(self, *, include_stubs: bool = True) -> dict[str, int]:
        sql = "SELECT kind, COUNT(*) FROM items" + ("" if include_stubs else " WHERE metadata_from != 'link'")
        return {r[0]: r[1] for r in self.conn.execute(sql + " GROUP BY kind")}


@contextmanager
def open_or_given(workspace: Workspace, conn: sqlite3.Connection | None) -> Iterator[sqlite3.Connection]:
    """`conn` when the caller holds the pile open (the CLI opens it once and hands it over), else the
    workspace's pile, opened for this block and closed after it."""
    if conn is not None:
        yield conn
        return
    with Pile.open(workspace) as pile:
        yield pile.conn


def handle_of(seq: int) -> str:
    """An item's short handle, as every table shows it: '#' and its `seq` number."""
    return f"#{seq}"


def item_labels(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """item id → (short handle, title), for the lines that say which item a command changed."""
    labels: dict[str, tuple[str, str]] = {}
    for chunk in chunks(list(dict.fromkeys(ids)), LOOKUP_CHUNK):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT id, seq, title FROM items WHERE id IN ({marks})", chunk):
            labels[row["id"]] = (handle_of(row["seq"]), row["title"] or row["id"])
    return labels


def resolve_item(conn: sqlite3.Connection, ref: str) -> str:
    """The canonical id of the item `ref` names: its short handle (`#12`, or `12`, its `seq` number as
    every table shows it), its id, an alias, a URL or arXiv id in any form (abs or pdf URL, any version),
    or a unique prefix of its id. The one resolver every command uses."""
    ref = (ref or "").strip()
    if not ref:
        raise NotFound("no item named '' — give an id, URL or arXiv id (`sabbatical pile list` shows them)")
    if ref.startswith("#"):
        return _resolve_handle(conn, ref)
    found = lookup_ids(conn, [ref, canonical_id(ref) or ""])
    for candidate in (ref, canonical_id(ref)):
        if candidate in found:
            return found[candidate]
    if ref.isdigit():
        row = conn.execute("SELECT id FROM items WHERE seq = ?", (int(ref),)).fetchone()
        if row:
            return row["id"]
    return _resolve_prefix(conn, ref)


def _resolve_handle(conn: sqlite3.Connection, ref: str) -> str:
    number = ref[1:].strip()
    row = conn.execute("SELECT id FROM items WHERE seq = ?", (int(number),)).fetchone() if number.isdigit() else None
    if row is None:
        raise NotFound(
            f"no item {ref} in the pile — the numbers `sabbatical pile list` and `pile inbox` show are the handles"
        )
    return row["id"]


def _resolve_prefix(conn: sqlite3.Connection, ref: str) -> str:
    pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        "SELECT id FROM items WHERE id LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6",
        (pattern, "arxiv:" + pattern),
    ).fetchall()
    if len(rows) == 1:
        return rows[0]["id"]
    if rows:
        shown = ", ".join(r["id"] for r in rows[:5])
        raise NotFound(f"'{ref}' matches several items ({shown}{', …' if len(rows) > 5 else ''}) — give more of the id")
    raise NotFound(f"no item {ref!r} in the pile — `sabbatical pile list` or `pile search` finds ids")


def _source(row: sqlite3.Row) -> Source:
    return Source(
        row["id"],
        row["kind"],
        row["locator"],
        row["title"],
        bool(row["followed"]),
        row["etag"],
        row["last_modified"],
        row["last_entry"],
        row["last_fetched"],
        row["last_status"],
        row["last_error"],
        row["added_at"],
    )
