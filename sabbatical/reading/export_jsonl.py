"""The pile's portable form: a JSON-lines export that keeps everything the researcher did or paid for, and
importing it.

One record per line, keys sorted, in a fixed order, so the same pile always exports to the same bytes and
export → import into a fresh workspace → export is byte-identical:

    header      {"format": "sabbatical-pile", "version": 2}
    source      every source, named by (kind, locator), with its fetch state and health
    item        every item with its short handle (`seq`), aliases, versions, sources and links
    item_text   every earlier text a read replaced
    summary     every summary row, all versions (content hash, prompt version, model, producer), failed too
    embedder    each fitted embedding space (its state, base64), so topics keep their space
    topic       every topic ever made (ids kept, centroid base64), retired and merged ones too
    item_topic  where each item sits
    event       every user event: triage, notes, tags, privacy, topic renames, pins and merges

Events name other events (an undo names what it cancels: `event`, `events`; a command's later events name
its first: `step`) by their position in the export's list of events (1 = the first), not by a row id
another pile does not share; import turns positions back into that pile's ids. Embeddings are not
exported: `pile organise` rebuilds them in the exported space.

Import runs in one transaction: a bad line aborts it with nothing written. Items already in the pile are
kept as they are (their aliases, sources, versions and links are added); summaries and events already
present are not repeated. Topics are imported only into a pile that has none yet (an organised pile keeps
its own; the export's topic events are then left out, and the report says so).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .. import db
from ..errors import SabbaticalError
from .pile import dump_json

FORMAT = "sabbatical-pile"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
ITEM_COLUMNS = (
    "id",
    "kind",
    "title",
    "authors",
    "abstract",
    "content",
    "url",
    "published",
    "updated",
    "categories",
    "content_hash",
    "private",
    "extra",
    "first_seen",
    "last_changed",
    "metadata_from",
)
JSON_COLUMNS = ("authors", "categories", "extra")
RECORD_TYPES = ("header", "source", "item", "item_text", "summary", "embedder", "topic", "item_topic", "event")
# Tables exported row by row: record type → (table, surrogate columns left out, order).
ROW_TABLES = {
    "item_text": ("item_texts", ("id",), "id"),
    "summary": ("summaries", ("id",), "id"),
    "embedder": ("embedders", (), "created_at, model"),
    "topic": ("topics", (), "id"),
    "item_topic": ("item_topics", (), "item_id"),
}
EVENT_REFERENCES = ("event", "step")


class NotAPileExport(SabbaticalError):
    """The file to import is not a readable pile export."""


@dataclass
class ImportReport:
    new: int = 0
    existing: int = 0
    sources: int = 0
    events: int = 0
    summaries: int = 0
    earlier_texts: int = 0
    topics: int = 0
    topics_left_out: int = 0  # the pile already had topics: the export's topics and topic events stay out


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    """(name, declared type) of a table's columns, as the migrations made them."""
    return [(r["name"], (r["type"] or "").upper()) for r in conn.execute(f"PRAGMA table_info({table})")]


# -- export ----------------------------------------------------------------------------------------------


def export_jsonl(conn: sqlite3.Connection, out: TextIO) -> int:
    """Write the whole pile as JSON lines; return the number of items."""
    out.write(_line({"type": "header", "format": FORMAT, "version": FORMAT_VERSION}))
    sources = {row["id"]: row for row in conn.execute("SELECT * FROM sources")}
    source_columns = [name for name, _ in _columns(conn, "sources") if name != "id"]
    for row in sorted(sources.values(), key=lambda r: (r["kind"], r["locator"])):
        record = {name: row[name] for name in source_columns}
        record.update(type="source", followed=bool(row["followed"]))
        out.write(_line(record))
    count = 0
    for record in _item_records(conn, sources):
        out.write(_line(record))
        count += 1
    for kind, (table, skipped, order) in ROW_TABLES.items():
        for record in _table_records(conn, table, skipped, order):
            out.write(_line({**record, "type": kind}))
    for record in _event_records(conn):
        out.write(_line(record))
    return count


def _table_records(conn: sqlite3.Connection, table: str, skipped: Iterable[str], order: str) -> Iterator[dict]:
    columns = [(name, kind) for name, kind in _columns(conn, table) if name not in skipped]
    for row in conn.execute(f"SELECT {', '.join(n for n, _ in columns)} FROM {table} ORDER BY {order}"):
        yield {name: _portable_value(row[name], kind) for name, kind in columns}


def _portable_value(value: Any, declared: str) -> Any:
    if isinstance(value, bytes) or declared == "BLOB":
        return None if value is None else base64.b64encode(value).decode("ascii")
    return value


def _event_records(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    rows = conn.execute("SELECT id, at, subject, action, value FROM events ORDER BY id").fetchall()
    position = {row["id"]: n for n, row in enumerate(rows, 1)}
    for row in rows:
        value = _renumbered(json.loads(row["value"] or "{}"), position)
        yield {"type": "event", "at": row["at"], "subject": row["subject"], "action": row["action"], "value": value}


def _renumbered(value: Any, numbers: dict[int, int]) -> Any:
    """An event's value with its references to other events mapped through `numbers` (unknown ones kept)."""
    if not isinstance(value, dict):
        return value
    value = dict(value)
    for key in EVENT_REFERENCES:
        if isinstance(value.get(key), int):
            value[key] = numbers.get(value[key], value[key])
    if isinstance(value.get("events"), list):
        value["events"] = [numbers.get(e, e) if isinstance(e, int) else e for e in value["events"]]
    return value


def _item_records(conn: sqlite3.Connection, sources: dict[int, sqlite3.Row]) -> Iterator[dict[str, Any]]:
    aliases = _grouped(
        conn, "SELECT item_id, alias, kind FROM aliases ORDER BY alias", lambda r: [r["alias"], r["kind"]]
    )
    versions = _grouped(
        conn,
        "SELECT * FROM item_versions ORDER BY version",
        lambda r: {k: r[k] for k in ("version", "title", "abstract", "published", "seen_at")},
    )
    item_sources = _grouped(
        conn,
        "SELECT item_id, source_id, entry_id, first_seen FROM item_sources",
        lambda r: {
            "kind": sources[r["source_id"]]["kind"],
            "locator": sources[r["source_id"]]["locator"],
            "entry_id": r["entry_id"],
            "first_seen": r["first_seen"],
        },
    )
    links = _grouped(
        conn,
        "SELECT from_item AS item_id, to_item, kind FROM links ORDER BY to_item, kind",
        lambda r: {"to": r["to_item"], "kind": r["kind"]},
    )
    for row in conn.execute(f"SELECT seq, {', '.join(ITEM_COLUMNS)} FROM items ORDER BY id"):
        record = {name: row[name] for name in ("seq", *ITEM_COLUMNS)}
        for name in JSON_COLUMNS:
            record[name] = json.loads(record[name] or "null")
        record["private"] = bool(record["private"])
        record["metadata_from"], record["metadata_source"] = _portable_origin(row["metadata_from"], sources)
        record.update(
            type="item",
            aliases=aliases.get(row["id"], []),
            versions=versions.get(row["id"], []),
            sources=sorted(item_sources.get(row["id"], []), key=lambda s: (s["kind"], s["locator"])),
            links=links.get(row["id"], []),
        )
        yield record


def _grouped(conn: sqlite3.Connection, sql: str, shape) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for row in conn.execute(sql):
        grouped.setdefault(row["item_id"], []).append(shape(row))
    return grouped


def _portable_origin(metadata_from: str, sources: dict[int, sqlite3.Row]) -> tuple[str, dict[str, str] | None]:
    """'feed:12' names a source by its number, which another pile does not share: name it by (kind, locator)."""
    kind, _, number = metadata_from.partition(":")
    if number.isdigit() and int(number) in sources:
        source = sources[int(number)]
        return kind, {"kind": source["kind"], "locator": source["locator"]}
    return metadata_from, None


# -- import ----------------------------------------------------------------------------------------------


def import_jsonl(conn: sqlite3.Connection, path: Path) -> ImportReport:
    """Import a JSON-lines export into this pile, all or nothing."""
    records: dict[str, list[dict[str, Any]]] = {kind: [] for kind in RECORD_TYPES}
    for record in _read_records(path):
        records[record["type"]].append(record)
    report = ImportReport()
    with db.transaction(conn):
        conn.execute("PRAGMA defer_foreign_keys = ON")  # a topic may name one merged into a later id
        source_ids = _import_sources(conn, records["source"], report)
        for record in records["item"]:
            _import_item(conn, record, source_ids, report)
        for record in records["item"]:
            conn.executemany(
                "INSERT OR IGNORE INTO links (from_item, to_item, kind) VALUES (?, ?, ?)",
                [(record["id"], link["to"], link["kind"]) for link in record.get("links", [])],
            )
        report.earlier_texts = _import_rows(conn, "item_texts", records["item_text"], only_new=True)
        report.summaries = _import_rows(conn, "summaries", records["summary"])
        with_topics = conn.execute("SELECT COUNT(*) FROM topics").fetchone()[0] == 0
        if with_topics:
            _import_rows(conn, "embedders", records["embedder"])
            report.topics = _import_rows(conn, "topics", records["topic"])
            _import_rows(conn, "item_topics", records["item_topic"])
        else:
            report.topics_left_out = len(records["topic"])
        _import_events(conn, records["event"], report, with_topics=with_topics)
    return report


def _read_records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise NotAPileExport(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise NotAPileExport(f"{path} line {number}: not valid JSON ({exc}) — nothing was imported") from None
            if not isinstance(record, dict):
                raise NotAPileExport(f"{path} line {number}: not a record — nothing was imported")
            if number == 1:
                _check_header(path, record)
            if record.get("type") not in RECORD_TYPES:
                raise NotAPileExport(
                    f"{path} line {number}: unknown record type {record.get('type')!r} — nothing was imported"
                )
            if record["type"] != "header":
                yield record


def _check_header(path: Path, record: dict[str, Any]) -> None:
    if record.get("type") != "header" or record.get("format") != FORMAT:
        raise NotAPileExport(
            f"{path} is not a pile export (its first line is not a {FORMAT} header) "
            "— make one with `sabbatical pile export --format jsonl`"
        )
    if record.get("version") not in READABLE_VERSIONS:
        raise NotAPileExport(
            f"{path} is a version {record.get('version')} pile export, newer than this sabbatical "
            "reads — upgrade sabbatical, then import it"
        )


def _import_sources(conn: sqlite3.Connection, records: list[dict[str, Any]], report: ImportReport) -> dict:
    known = {name for name, _ in _columns(conn, "sources")} - {"id"}
    for record in records:
        names = sorted(name for name in record if name in known and record[name] is not None)
        values = [int(record[n]) if isinstance(record[n], bool) else record[n] for n in names]
        cursor = conn.execute(
            f"INSERT OR IGNORE INTO sources ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
        )
        report.sources += cursor.rowcount
    return {(r["kind"], r["locator"]): r["id"] for r in conn.execute("SELECT id, kind, locator FROM sources")}


def _import_item(conn: sqlite3.Connection, record: dict[str, Any], source_ids: dict, report: ImportReport) -> None:
    values = dict(record)
    for name in JSON_COLUMNS:
        values[name] = dump_json(values.get(name) if values.get(name) is not None else ([] if name != "extra" else {}))
    values["private"] = int(bool(values.get("private")))
    origin = record.get("metadata_source")
    if origin and (origin["kind"], origin["locator"]) in source_ids:
        values["metadata_from"] = f"{record['metadata_from']}:{source_ids[(origin['kind'], origin['locator'])]}"
    columns = list(ITEM_COLUMNS)
    if (
        isinstance(record.get("seq"), int)
        and not conn.execute("SELECT 1 FROM items WHERE seq = ?", (record["seq"],)).fetchone()
    ):
        columns.append("seq")  # the short handle (#seq) stays what the researcher knows it as
    cursor = conn.execute(
        f"INSERT OR IGNORE INTO items ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [values.get(c) for c in columns],
    )
    if cursor.rowcount:
        report.new += 1
    else:
        report.existing += 1
    item_id = record["id"]
    conn.executemany(
        "INSERT OR IGNORE INTO aliases (alias, item_id, kind) VALUES (?, ?, ?)",
        [(alias, item_id, kind) for alias, kind in record.get("aliases", [])],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO item_versions (item_id, version, title, abstract, published, seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (item_id, v["version"], v["title"], v["abstract"], v["published"], v["seen_at"])
            for v in record.get("versions", [])
        ],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO item_sources (item_id, source_id, entry_id, first_seen) VALUES (?, ?, ?, ?)",
        [
            (item_id, source_ids[(s["kind"], s["locator"])], s.get("entry_id"), s["first_seen"])
            for s in record.get("sources", [])
            if (s["kind"], s["locator"]) in source_ids
        ],
    )


def _import_rows(conn: sqlite3.Connection, table: str, records: list[dict[str, Any]], *, only_new: bool = False) -> int:
    """Insert exported rows (unique keys decide what is already here); `only_new` for tables without one."""
    columns = {name: kind for name, kind in _columns(conn, table)}
    written = 0
    for record in records:
        names = sorted(n for n in record if n in columns and n != "type")
        values = [
            base64.b64decode(record[n]) if columns[n] == "BLOB" and record[n] is not None else record[n] for n in names
        ]
        if (
            only_new
            and conn.execute(
                f"SELECT 1 FROM {table} WHERE " + " AND ".join(f"{n} IS ?" for n in names), values
            ).fetchone()
        ):
            continue
        cursor = conn.execute(
            f"INSERT OR IGNORE INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
        )
        written += cursor.rowcount
    return written


def _import_events(
    conn: sqlite3.Connection, records: list[dict[str, Any]], report: ImportReport, *, with_topics: bool
) -> None:
    present = {
        (r["at"], r["subject"], r["action"], dump_json(json.loads(r["value"] or "{}"))): r["id"]
        for r in conn.execute("SELECT id, at, subject, action, value FROM events")
    }
    ids: dict[int, int] = {}  # position in the export → event id in this pile
    for position, record in enumerate(records, 1):
        if not with_topics and str(record["subject"]).startswith("topic:"):
            continue
        value = _renumbered(record.get("value", {}), ids)
        key = (record["at"], record["subject"], record["action"], dump_json(value))
        if key not in present:
            cursor = conn.execute("INSERT INTO events (at, subject, action, value) VALUES (?, ?, ?, ?)", key)
            present[key] = int(cursor.lastrowid or 0)
            report.events += 1
        ids[position] = present[key]
