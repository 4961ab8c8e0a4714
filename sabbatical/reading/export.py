"""Exports of the pile (JSON lines, BibTeX, Markdown notes) and importing a JSON-lines export.

The JSON-lines export is the pile's portable form: a header line, then every source, every item (with its
aliases, versions, sources and links) and every event, in a fixed order with sorted keys, so the same pile
always exports to the same bytes, and export → import into a fresh pile → export is byte-identical.
Internal numbers (item `seq`, source ids) are not exported; sources are named by (kind, locator).
Summaries, embeddings and topics are derived data and are not exported (they are rebuilt from the items).

Import runs in one transaction: a bad line aborts it with nothing written. Items already in the pile are
kept as they are (their aliases, sources, versions and links are added); events already present are not
repeated.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .. import db
from ..errors import SabbaticalError
from .pile import dump_json

FORMAT = "sabbatical-pile"
FORMAT_VERSION = 1
ITEM_COLUMNS = ("id", "kind", "title", "authors", "abstract", "content", "url", "published", "updated",
                "categories", "content_hash", "private", "extra", "first_seen", "last_changed", "metadata_from")
JSON_COLUMNS = ("authors", "categories", "extra")
SOURCE_COLUMNS = ("kind", "locator", "title", "followed", "etag", "last_modified", "last_entry", "last_fetched",
                  "last_status", "last_error", "added_at")


class NotAPileExport(SabbaticalError):
    """The file to import is not a readable pile export."""


@dataclass
class ImportReport:
    new: int = 0
    existing: int = 0
    sources: int = 0
    events: int = 0


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


# -- JSON lines ------------------------------------------------------------------------------------------

def export_jsonl(conn: sqlite3.Connection, out: TextIO) -> int:
    """Write the whole pile as JSON lines; return the number of items."""
    out.write(_line({"type": "header", "format": FORMAT, "version": FORMAT_VERSION}))
    sources = {row["id"]: row for row in conn.execute("SELECT * FROM sources")}
    for row in sorted(sources.values(), key=lambda r: (r["kind"], r["locator"])):
        record = {name: row[name] for name in SOURCE_COLUMNS}
        record.update(type="source", followed=bool(row["followed"]))
        out.write(_line(record))
    count = 0
    for record in _item_records(conn, sources):
        out.write(_line(record))
        count += 1
    for row in conn.execute("SELECT at, subject, action, value FROM events ORDER BY id"):
        out.write(_line({"type": "event", "at": row["at"], "subject": row["subject"], "action": row["action"],
                         "value": json.loads(row["value"] or "{}")}))
    return count


def _item_records(conn: sqlite3.Connection, sources: dict[int, sqlite3.Row]) -> Iterator[dict[str, Any]]:
    aliases = _grouped(conn, "SELECT item_id, alias, kind FROM aliases ORDER BY alias",
                       lambda r: [r["alias"], r["kind"]])
    versions = _grouped(conn, "SELECT * FROM item_versions ORDER BY version",
                        lambda r: {k: r[k] for k in ("version", "title", "abstract", "published", "seen_at")})
    item_sources = _grouped(
        conn, "SELECT item_id, source_id, entry_id, first_seen FROM item_sources",
        lambda r: {"kind": sources[r["source_id"]]["kind"], "locator": sources[r["source_id"]]["locator"],
                   "entry_id": r["entry_id"], "first_seen": r["first_seen"]})
    links = _grouped(conn, "SELECT from_item AS item_id, to_item, kind FROM links ORDER BY to_item, kind",
                     lambda r: {"to": r["to_item"], "kind": r["kind"]})
    for row in conn.execute(f"SELECT {', '.join(ITEM_COLUMNS)} FROM items ORDER BY id"):
        record = {name: row[name] for name in ITEM_COLUMNS}
        for name in JSON_COLUMNS:
            record[name] = json.loads(record[name] or "null")
        record["private"] = bool(record["private"])
        record["metadata_from"], record["metadata_source"] = _portable_origin(row["metadata_from"], sources)
        record.update(type="item", aliases=aliases.get(row["id"], []), versions=versions.get(row["id"], []),
                      sources=sorted(item_sources.get(row["id"], []), key=lambda s: (s["kind"], s["locator"])),
                      links=links.get(row["id"], []))
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


def import_jsonl(conn: sqlite3.Connection, path: Path) -> ImportReport:
    """Import a JSON-lines export into this pile, all or nothing."""
    records = list(_read_records(path))
    report = ImportReport()
    with db.transaction(conn):
        source_ids = _import_sources(conn, [r for r in records if r["type"] == "source"], report)
        items = [r for r in records if r["type"] == "item"]
        for record in items:
            _import_item(conn, record, source_ids, report)
        for record in items:
            conn.executemany("INSERT OR IGNORE INTO links (from_item, to_item, kind) VALUES (?, ?, ?)",
                             [(record["id"], link["to"], link["kind"]) for link in record.get("links", [])])
        _import_events(conn, [r for r in records if r["type"] == "event"], report)
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
            if number == 1 and (record.get("type") != "header" or record.get("format") != FORMAT):
                raise NotAPileExport(f"{path} is not a pile export (its first line is not a {FORMAT} header) "
                                   "— make one with `sabbatical pile export --format jsonl`")
            if record.get("type") not in ("header", "source", "item", "event"):
                raise NotAPileExport(f"{path} line {number}: unknown record type {record.get('type')!r} "
                                   "— nothing was imported")
            if record["type"] != "header":
                yield record


def _import_sources(conn: sqlite3.Connection, records: list[dict[str, Any]], report: ImportReport) -> dict:
    for record in records:
        values = [int(record[c]) if c == "followed" else record.get(c) for c in SOURCE_COLUMNS]
        cursor = conn.execute(f"INSERT OR IGNORE INTO sources ({', '.join(SOURCE_COLUMNS)}) "
                              f"VALUES ({', '.join('?' * len(SOURCE_COLUMNS))})", values)
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
    cursor = conn.execute(f"INSERT OR IGNORE INTO items ({', '.join(ITEM_COLUMNS)}) "
                          f"VALUES ({', '.join('?' * len(ITEM_COLUMNS))})", [values.get(c) for c in ITEM_COLUMNS])
    if cursor.rowcount:
        report.new += 1
    else:
        report.existing += 1
    item_id = record["id"]
    conn.executemany("INSERT OR IGNORE INTO aliases (alias, item_id, kind) VALUES (?, ?, ?)",
                     [(alias, item_id, kind) for alias, kind in record.get("aliases", [])])
    conn.executemany("INSERT OR IGNORE INTO item_versions (item_id, version, title, abstract, published, seen_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     [(item_id, v["version"], v["title"], v["abstract"], v["published"], v["seen_at"])
                      for v in record.get("versions", [])])
    conn.executemany("INSERT OR IGNORE INTO item_sources (item_id, source_id, entry_id, first_seen) VALUES (?, ?, ?, ?)",
                     [(item_id, source_ids[(s["kind"], s["locator"])], s.get("entry_id"), s["first_seen"])
                      for s in record.get("sources", []) if (s["kind"], s["locator"]) in source_ids])


def _import_events(conn: sqlite3.Connection, records: list[dict[str, Any]], report: ImportReport) -> None:
    present = {(r["at"], r["subject"], r["action"], dump_json(json.loads(r["value"] or "{}")))
               for r in conn.execute("SELECT at, subject, action, value FROM events")}
    for record in records:
        key = (record["at"], record["subject"], record["action"], dump_json(record.get("value", {})))
        if key in present:
            continue
        present.add(key)
        conn.execute("INSERT INTO events (at, subject, action, value) VALUES (?, ?, ?, ?)", key)
        report.events += 1


# -- BibTeX ----------------------------------------------------------------------------------------------

_BIBTEX_SPECIAL = re.compile(r"([&%$#_])")


def export_bibtex(conn: sqlite3.Connection, out: TextIO, ids: Collection[str] | None = None) -> int:
    """One BibTeX entry per item (only those in `ids`, when given): @misc with eprint for arXiv papers,
    @article for DOIs, @misc for the web."""
    keys: set[str] = set()
    count = 0
    wanted = None if ids is None else set(ids)
    for row in conn.execute("SELECT id, kind, title, authors, url, published, categories, extra FROM items ORDER BY id"):
        if wanted is not None and row["id"] not in wanted:
            continue
        authors = json.loads(row["authors"])
        extra = json.loads(row["extra"])
        year = (row["published"] or "")[:4]
        key = _cite_key(authors, year, row["title"], row["id"], keys)
        fields: list[tuple[str, str]] = [("title", "{" + _bib(row["title"]) + "}")]
        if authors:
            fields.append(("author", " and ".join(_bib(a) for a in authors)))
        if year.isdigit():
            fields.append(("year", year))
        kind = "misc"
        if row["id"].startswith("arxiv:"):
            categories = json.loads(row["categories"])
            fields += [("eprint", row["id"].removeprefix("arxiv:")), ("archivePrefix", "arXiv")]
            if categories:
                fields.append(("primaryClass", categories[0]))
        elif row["id"].startswith("doi:"):
            kind = "article"
        if extra.get("doi") or row["id"].startswith("doi:"):
            fields.append(("doi", extra.get("doi") or row["id"].removeprefix("doi:")))
        if extra.get("journal_ref"):
            fields.append(("note", _bib(extra["journal_ref"])))
        if row["url"]:
            fields.append(("url", row["url"]))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        out.write(f"@{kind}{{{key},\n{body}\n}}\n\n")
        count += 1
    return count


def _bib(text: str) -> str:
    text = " ".join((text or "").split()).replace("\\", "\\textbackslash{}")
    text = _BIBTEX_SPECIAL.sub(r"\\\1", text)
    if text.count("{") != text.count("}"):
        text = text.replace("{", "(").replace("}", ")")
    return text


def _cite_key(authors: list[str], year: str, title: str, item_id: str, taken: set[str]) -> str:
    last = _ascii(authors[0].split()[-1]) if authors and authors[0].split() else ""
    word = next((w for w in (_ascii(t) for t in (title or "").split()) if len(w) > 3), "")
    base = (last + (year if year.isdigit() else "") + word).lower() or _ascii(item_id).lower()[:40] or "item"
    key, suffix = base, 0
    while key in taken:
        suffix += 1
        key = f"{base}{chr(ord('a') + (suffix - 1) % 26)}{(suffix - 1) // 26 or ''}"
    taken.add(key)
    return key


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


# -- Markdown notes --------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|#^\[\]\x00-\x1f]')


def export_markdown(conn: sqlite3.Connection, folder: Path) -> int:
    """One note per item in `folder` (YAML front matter, wiki links between linked items)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    rows = conn.execute("SELECT * FROM items ORDER BY id").fetchall()
    names = _note_names(rows)
    links_out = _grouped(conn, "SELECT from_item AS item_id, to_item FROM links ORDER BY to_item", lambda r: r["to_item"])
    links_in = _grouped(conn, "SELECT to_item AS item_id, from_item FROM links ORDER BY from_item", lambda r: r["from_item"])
    sources = _grouped(conn, "SELECT x.item_id, s.kind, s.locator FROM item_sources x JOIN sources s ON s.id = x.source_id "
                             "ORDER BY s.kind, s.locator", lambda r: f"{r['kind']} {r['locator']}")
    for row in rows:
        front = {"id": row["id"], "kind": row["kind"], "title": row["title"], "authors": json.loads(row["authors"]),
                 "url": row["url"], "published": row["published"], "categories": json.loads(row["categories"]),
                 "sources": sources.get(row["id"], []), "first_seen": row["first_seen"]}
        parts = ["---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000) + "---\n",
                 f"# {row['title'] or row['id']}\n"]
        if row["url"]:
            parts.append(f"<{row['url']}>\n")
        for heading, text in (("Abstract", row["abstract"]), ("Text", row["content"])):
            if text:
                parts.append(f"## {heading}\n\n{text}\n")
        for heading, targets in (("Links to", links_out.get(row["id"], [])), ("Linked from", links_in.get(row["id"], []))):
            if targets:
                parts.append(f"## {heading}\n\n" + "\n".join(f"- [[{names[t]}]]" for t in targets if t in names) + "\n")
        (folder / f"{names[row['id']]}.md").write_text("\n".join(parts), encoding="utf-8")
    return len(rows)


def _note_names(rows: list[sqlite3.Row]) -> dict[str, str]:
    names: dict[str, str] = {}
    taken: set[str] = set()
    for row in rows:
        base = " ".join(_UNSAFE_NAME.sub(" ", row["title"] or "").split())[:80].strip(" .") \
            or " ".join(_UNSAFE_NAME.sub(" ", row["id"]).split())[:80].strip(" .") or "item"
        name, number = base, 1
        while name.lower() in taken:
            number += 1
            name = f"{base} ({number})"
        taken.add(name.lower())
        names[row["id"]] = name
    return names
