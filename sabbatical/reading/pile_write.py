"""Writing to the pile: the `Entry` records a source hands over, and how a stream of them is merged into the
items, aliases, versions, sources and links, in batched transactions with bulk reads and writes.

Who may overwrite what: every item remembers which source last wrote its metadata (`metadata_from`).
Sources rank by how authoritative their metadata is (arXiv > BibTeX > the page or file itself > a feed's
entry for it > a bare link: a feed often carries only a teaser, so reading the page brings its main text);
a stronger source, or the same source again, overwrites; a weaker source only fills empty fields. Between
two sources of the same rank, the one with the newer arXiv version or the later `updated` date overwrites,
and otherwise the first one stays. An older arXiv version never overwrites a newer one. Within one read
of a source the first occurrence of an item wins (feeds list newest first). So re-reading the same input,
in any order, changes nothing.

`content_hash` is the sha256 of title, abstract and content joined by blank lines; summaries and
embeddings key on it. The FTS index follows the items table through triggers.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self

from .identity import id_kind

RANKS = {"link": 0, "feed": 1, "web": 2, "file": 2, "bibtex": 3, "import": 3, "arxiv": 4}
ITEM_FIELDS = ("kind", "title", "authors", "abstract", "content", "url", "published", "updated", "categories", "extra")
TEXT_FIELDS = ("title", "abstract", "content", "url")  # what a replaced text keeps (`item_texts`)
DEFAULT_BATCH = 500
LOOKUP_CHUNK = 5_000

Progress = Callable[..., None]  # on_progress(advance=N), as the CLI's progress bar takes it


def dump_json(value: Any) -> str:
    """The one JSON form the pile stores (compact, keys sorted) so equal values are equal text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def content_hash(title: str, abstract: str, content: str) -> str:
    return hashlib.sha256(f"{title}\n\n{abstract}\n\n{content}".encode()).hexdigest()


def rank_of(metadata_from: str) -> int:
    return RANKS.get(metadata_from.split(":", 1)[0], 0)


@dataclass
class Mention:
    """An item an entry links to (a paper a post mentions). Missing targets become minimal items."""

    id: str
    title: str = ""
    url: str | None = None
    kind: str = "paper"


@dataclass
class Entry:
    """One record read from a source, before it meets the pile.

    `ids` are canonical ids, strongest first: the first names a new item, any of them finds an existing
    one, and the others become aliases. `aliases` are further (alias, kind) names, e.g. a raw URL.
    """

    ids: list[str]
    kind: str
    title: str = ""
    authors: list[str] = field(default_factory=list)
    abstract: str = ""
    content: str = ""
    url: str | None = None
    published: str | None = None
    updated: str | None = None
    categories: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    version: int | None = None
    entry_id: str | None = None
    mentions: list[Mention] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """The entry as item column values (JSON columns as stored text)."""
        return {
            "kind": self.kind,
            "title": self.title.strip(),
            "authors": dump_json(self.authors),
            "abstract": self.abstract.strip(),
            "content": self.content.strip(),
            "url": self.url,
            "published": self.published,
            "updated": self.updated,
            "categories": dump_json(self.categories),
            "extra": dump_json(self.extra),
        }


@dataclass
class ItemCounts:
    """What became of a stream of entries: new items, updated items, and items met again unchanged. Every
    ingest record counts these (a batch's AddCounts, a source's outcome, a whole read's report)."""

    new: int = 0
    updated: int = 0
    duplicate: int = 0

    def __iadd__(self, other: ItemCounts) -> Self:
        """Add `other`'s counts of whatever both records count."""
        mine = {f.name for f in fields(self)}
        for name in (f.name for f in fields(other) if f.name in mine):
            if isinstance(getattr(other, name), int):
                setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def stored(self) -> int:
        """Entries that changed the pile (new or updated items)."""
        return self.new + self.updated


@dataclass
class AddCounts(ItemCounts):
    stubs: int = 0  # minimal items made for papers that entries mention
    links: int = 0


def lookup_ids(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, str]:
    """name → item id for every name that is an item id or an alias (bulk, in chunks)."""
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(n for n in names if n))
    for chunk in chunks(unique, LOOKUP_CHUNK):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT id FROM items WHERE id IN ({marks})", chunk):
            found[row[0]] = row[0]
        for row in conn.execute(f"SELECT alias, item_id FROM aliases WHERE alias IN ({marks})", chunk):
            found.setdefault(row[0], row[1])
    return found


def write_batch(
    conn: sqlite3.Connection, batch: list[Entry], source_id: int | None, metadata_from: str, seen: set[str]
) -> AddCounts:
    """Merge one batch of entries into the pile inside the caller's transaction (`Pile.add` makes one per
    batch); `seen` holds the items already met in this read of the source, and grows."""
    return _BatchWriter(conn, source_id, metadata_from, seen).write(batch)


class _BatchWriter:
    """Writes one batch of entries inside the caller's transaction, with bulk reads and bulk writes."""

    def __init__(self, conn: sqlite3.Connection, source_id: int | None, metadata_from: str, seen: set[str]):
        self.conn = conn
        self.source_id = source_id
        self.metadata_from = metadata_from
        self.seen = seen  # items already met in this read of the source
        self.counts = AddCounts()

    def write(self, batch: list[Entry]) -> AddCounts:
        names = [name for e in batch for name in (*e.ids, *(a for a, _ in e.aliases))]
        names += [m.id for e in batch for m in e.mentions]
        self.known = lookup_ids(self.conn, names)
        self.pending: dict[str, str] = {}
        targets = self._resolve_targets(batch)
        stored = set(self.known.values())
        existing_ids = sorted({t for t in targets if t in stored})
        self.rows = self._load_rows(existing_ids)
        self.versions = self._load_versions(existing_ids)
        self.newest: dict[str, int] = {}
        for item_id, version in self.versions:
            self.newest[item_id] = max(version, self.newest.get(item_id, 0))
        self.has_source = self._load_item_sources(existing_ids)
        self.new_rows: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, dict[str, Any]] = {}
        self.replaced: list[tuple] = []  # earlier texts, kept before they are overwritten
        aliases, item_sources, versions, mentions = [], [], [], []
        for entry, target in zip(batch, targets, strict=True):
            self._merge(entry, target)
            aliases += [(a, target, k) for a, k in self._aliases_of(entry, target)]
            if self.source_id is not None and target not in self.has_source:
                self.has_source.add(target)
                item_sources.append((target, self.source_id, entry.entry_id))
            if entry.version and (target, entry.version) not in self.versions:
                self.versions.add((target, entry.version))
                versions.append((target, entry.version, entry.title.strip(), entry.abstract.strip(), entry.published))
            mentions += [(target, m) for m in entry.mentions if m.id not in entry.ids]
        self._flush(aliases, item_sources, versions)
        self._write_mentions(mentions)
        return self.counts

    def _resolve_targets(self, batch: list[Entry]) -> list[str]:
        targets = []
        for entry in batch:
            primary = entry.ids[0]
            found = (self._find(i) for i in entry.ids)
            target = next((t for t in found if t and _may_merge(primary, t)), primary)
            for name in entry.ids:
                self.pending.setdefault(name, target)  # later entries of this batch find it too
            targets.append(target)
        return targets

    def _find(self, name: str) -> str | None:
        """The item a name belongs to: stored before this batch, or given earlier in this batch."""
        return self.known.get(name) or self.pending.get(name)

    def _merge(self, entry: Entry, target: str) -> None:
        if target in self.seen:
            self.counts.duplicate += 1
            return
        self.seen.add(target)
        incoming = entry.row()
        current = self.rows.get(target)
        if current is None:
            incoming.update(id=target, metadata_from=self.metadata_from)
            self.new_rows[target] = incoming
            self.counts.new += 1
            return
        stronger = may_replace_text(
            self.metadata_from,
            current["metadata_from"],
            incoming_version=entry.version,
            newest_version=self.newest.get(target, 0),
        )
        merged = _merged(current, incoming, stronger)
        if stronger:
            merged["metadata_from"] = self.metadata_from
        if all(merged[f] == current[f] for f in (*ITEM_FIELDS, "metadata_from")):
            self.counts.duplicate += 1
            return
        if any(not _empty(current[f]) and merged[f] != current[f] for f in TEXT_FIELDS):
            self.replaced.append(
                (
                    target,
                    *(current[f] for f in TEXT_FIELDS),
                    _hash(current),
                    current["metadata_from"],
                    merged["metadata_from"],
                )
            )
        was_stub = current["metadata_from"] == "link" and self.metadata_from != "link"
        self.rows[target] = merged
        self.changed[target] = merged
        if was_stub:
            self.counts.new += 1
        else:
            self.counts.updated += 1

    def _aliases_of(self, entry: Entry, target: str) -> Iterator[tuple[str, str]]:
        names = [(i, id_kind(i)) for i in entry.ids] + list(entry.aliases)
        if entry.version and entry.ids[0].startswith("arxiv:"):
            names.append((f"{entry.ids[0]}v{entry.version}", "arxiv_version"))
        for name, kind in names:
            if name and name != target and name not in self.known and self.pending.get(name, target) == target:
                self.known[name] = target  # stored from now on
                yield name, kind

    def _flush(self, aliases: list, item_sources: list, versions: list) -> None:
        columns = ("id", *ITEM_FIELDS, "metadata_from")
        if self.new_rows:
            self.conn.executemany(
                f"INSERT INTO items ({', '.join(columns)}, content_hash) VALUES ({', '.join('?' * len(columns))}, ?)",
                [(*(r[c] for c in columns), _hash(r)) for r in self.new_rows.values()],
            )
        if self.changed:
            sets = ", ".join(f"{c} = ?" for c in (*ITEM_FIELDS, "metadata_from"))
            self.conn.executemany(
                f"UPDATE items SET {sets}, content_hash = ?, "
                "last_changed = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
                [
                    (*(r[c] for c in (*ITEM_FIELDS, "metadata_from")), _hash(r), item_id)
                    for item_id, r in self.changed.items()
                ],
            )
        if self.replaced:
            self.conn.executemany(
                f"INSERT INTO item_texts (item_id, {', '.join(TEXT_FIELDS)}, content_hash, written_by, replaced_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                self.replaced,
            )
        if aliases:
            self.conn.executemany("INSERT OR IGNORE INTO aliases (alias, item_id, kind) VALUES (?, ?, ?)", aliases)
        if item_sources:
            self.conn.executemany(
                "INSERT OR IGNORE INTO item_sources (item_id, source_id, entry_id) VALUES (?, ?, ?)", item_sources
            )
        if versions:
            self.conn.executemany(
                "INSERT OR IGNORE INTO item_versions (item_id, version, title, abstract, published) "
                "VALUES (?, ?, ?, ?, ?)",
                versions,
            )

    def _write_mentions(self, mentions: list[tuple[str, Mention]]) -> None:
        if not mentions:
            return
        stubs: dict[str, Mention] = {}
        links = set()
        for source_item, mention in mentions:
            target = self._find(mention.id)
            if target is None:
                stubs.setdefault(mention.id, mention)
                target = mention.id
            if target != source_item:
                links.add((source_item, target))
        if stubs:
            self.conn.executemany(
                "INSERT OR IGNORE INTO items (id, kind, title, url, content_hash, metadata_from) "
                "VALUES (?, ?, ?, ?, ?, 'link')",
                [(m.id, m.kind, m.title, m.url, content_hash(m.title, "", "")) for m in stubs.values()],
            )
            self.counts.stubs += len(stubs)
            for stub in stubs:
                self.known[stub] = stub
        existing = set()
        for chunk in chunks(sorted({s for s, _ in links}), LOOKUP_CHUNK):
            marks = ",".join("?" * len(chunk))
            existing |= {
                (r[0], r[1])
                for r in self.conn.execute(
                    f"SELECT from_item, to_item FROM links WHERE kind = 'mentions' AND from_item IN ({marks})", chunk
                )
            }
        fresh = sorted(links - existing)
        self.conn.executemany("INSERT OR IGNORE INTO links (from_item, to_item, kind) VALUES (?, ?, 'mentions')", fresh)
        self.counts.links += len(fresh)

    def _load_rows(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        rows = {}
        for chunk in chunks(ids, LOOKUP_CHUNK):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT id, {', '.join(ITEM_FIELDS)}, metadata_from FROM items WHERE id IN ({marks})", chunk
            ):
                rows[row["id"]] = dict(row)
        return rows

    def _load_versions(self, ids: list[str]) -> set[tuple[str, int]]:
        found = set()
        for chunk in chunks([i for i in ids if i.startswith("arxiv:")], LOOKUP_CHUNK):
            marks = ",".join("?" * len(chunk))
            found |= {
                (r[0], r[1])
                for r in self.conn.execute(
                    f"SELECT item_id, version FROM item_versions WHERE item_id IN ({marks})", chunk
                )
            }
        return found

    def _load_item_sources(self, ids: list[str]) -> set[str]:
        if self.source_id is None:
            return set()
        found = set()
        for chunk in chunks(ids, LOOKUP_CHUNK):
            marks = ",".join("?" * len(chunk))
            found |= {
                r[0]
                for r in self.conn.execute(
                    f"SELECT item_id FROM item_sources WHERE source_id = ? AND item_id IN ({marks})",
                    (self.source_id, *chunk),
                )
            }
        return found


def may_replace_text(
    incoming_from: str, current_from: str, *, incoming_version: int | None = None, newest_version: int = 0
) -> bool:
    """May a read from `incoming_from` replace the text an item holds from `current_from`?

    The one rule for who may change an item's title, text and URL (the README states it):

    1. an older arXiv version never replaces a newer one;
    2. a more authoritative kind of source wins: the arXiv record > BibTeX (or an import) > the page or
       file itself > a feed's entry for it > a bare link to it;
    3. the source that wrote the text may update it (a feed that edits its own entry);
    4. otherwise the source that first brought the item stays: another source of the same rank (a second
       feed linking the same URL, say with `?utm_source=x`) only fills fields that are empty, except
       that a newer arXiv version replaces an older one.

    When it may not replace the text, the read still fills empty fields; whatever is replaced is kept
    as an earlier text (`item_texts`).
    """
    if incoming_version and incoming_version < newest_version:
        return False
    ours, theirs = rank_of(incoming_from), rank_of(current_from)
    if ours != theirs:
        return ours > theirs
    if incoming_from == current_from:
        return True
    return bool(incoming_version and incoming_version > newest_version)


def _merged(current: dict[str, Any], incoming: dict[str, Any], stronger: bool) -> dict[str, Any]:
    """A stronger source overwrites with what it has; any other only fills what is empty."""
    merged = dict(current)
    for name in ITEM_FIELDS:
        if name == "extra":
            continue
        value = incoming[name]
        if _empty(value):
            continue
        if stronger or _empty(current[name]):
            merged[name] = value
    old_extra, new_extra = json.loads(current["extra"] or "{}"), json.loads(incoming["extra"])
    merged["extra"] = dump_json({**old_extra, **new_extra} if stronger else {**new_extra, **old_extra})
    return merged


def _may_merge(primary: str, target: str) -> bool:
    """Two different arXiv ids (or DOIs) are two papers, even when a secondary id ties them together
    (arXiv records sharing a journal DOI, say); only a weaker name may lead to a stronger one."""
    kind = id_kind(primary)
    return target == primary or kind not in ("arxiv", "doi") or id_kind(target) != kind


def _empty(value: Any) -> bool:
    return value is None or value in ("", "[]", "{}")


def _hash(row: dict[str, Any]) -> str:
    return content_hash(row["title"], row["abstract"], row["content"])


def batches(entries: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def chunks(values: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
