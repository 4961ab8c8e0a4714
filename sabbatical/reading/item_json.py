"""The one JSON shape of an item (`pile show --json`, `pile list --json`, `pile search --json`).

Every command that prints items as JSON builds them here, so a script reads the same keys everywhere.
The shape is versioned (`json_version`); a key is only ever added within a version, never renamed or
removed. README's "JSON output" section documents it, and tests/test_item_json.py pins it.

    json_version   1
    id, seq, kind, title, authors, abstract, url, published, updated, categories, private,
    first_seen, last_changed, content_hash
    handle         "#12": the short handle tables show and commands accept ("#" + seq; added within v1)
    sources        [{kind, locator, title, entry_id, first_seen}]  how it arrived
    state          inbox | kept | starred | dropped;  state_at: when it got there (null in the inbox)
    tags           [str];  notes: [{at, text}]
    topic          {id, name, similarity} (id null = unsorted), or null before `pile organise`
    summary        null before `pile summarise`, else {producer, model, prompt_version, created_at,
                   current, tldr, kind, insight_score, rationale, insight_quote {quote, check},
                   key_claims [{claim, quote, check}], topics, questions, quotes_verified, quotes_total}

`detail=True` (`pile show`) adds content, extra, metadata_from, aliases, versions, earlier_texts,
links_out and links_in. Building is in bulk (one query per part for all items), so a list of thousands
costs a few queries, not a few per item.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from .pile import Pile, handle_of

ITEM_JSON_VERSION = 1
CORE_COLUMNS = (
    "id",
    "seq",
    "kind",
    "title",
    "authors",
    "abstract",
    "url",
    "published",
    "updated",
    "categories",
    "private",
    "first_seen",
    "last_changed",
    "content_hash",
)
_LIST_COLUMNS = ("authors", "categories")


def item_records(
    conn: sqlite3.Connection, item_ids: Iterable[str], *, prefer: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """The JSON record of each item, in the order given (unknown ids are left out).

    `prefer` is the (prompt version, model) whose summary wins between equally current ones
    (`summary_rows.preferred_key(config)`).
    """
    ids = list(dict.fromkeys(item_ids))
    rows = _rows(conn, ids)
    states = _states(conn, ids)
    topics = _topics(conn, ids)
    summaries = _summaries(conn, ids, prefer)
    sources = _sources(conn, ids)
    records = []
    for item_id in ids:
        if item_id not in rows:
            continue
        record = {"json_version": ITEM_JSON_VERSION, **rows[item_id], "sources": sources.get(item_id, [])}
        record.update(states.get(item_id) or _inbox())
        record["topic"] = topics.get(item_id)
        record["summary"] = summaries.get(item_id)
        records.append(record)
    return records


def item_record(conn: sqlite3.Connection, ref: str, *, prefer: tuple[str, str] | None = None) -> dict[str, Any]:
    """One item's record with its details (`pile show --json`); `ref` is anything `Pile.resolve` accepts."""
    item = Pile(conn).get(ref)
    (record,) = item_records(conn, [item.id], prefer=prefer)
    record.update(
        content=item.content,
        extra=item.extra,
        metadata_from=item.metadata_from,
        aliases=[{"alias": alias, "kind": kind} for alias, kind in item.aliases],
        versions=[asdict(v) for v in item.versions],
        earlier_texts=[asdict(t) for t in item.earlier_texts],
        links_out=[asdict(link) for link in item.links_out],
        links_in=[asdict(link) for link in item.links_in],
    )
    return record


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _rows(conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {', '.join(CORE_COLUMNS)} FROM items WHERE id IN ({marks})", chunk):
            record = {name: row[name] for name in CORE_COLUMNS}
            for name in _LIST_COLUMNS:
                record[name] = json.loads(record[name] or "[]")
            record["private"] = bool(record["private"])
            record["handle"] = handle_of(row["seq"])
            found[row["id"]] = record
    return found


def _sources(conn: sqlite3.Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT x.item_id, s.kind, s.locator, s.title, x.entry_id, x.first_seen "
            "FROM item_sources x JOIN sources s ON s.id = x.source_id "
            f"WHERE x.item_id IN ({marks}) ORDER BY x.first_seen, s.id",
            chunk,
        )
        for r in rows:
            found.setdefault(r["item_id"], []).append(
                {
                    "kind": r["kind"],
                    "locator": r["locator"],
                    "title": r["title"],
                    "entry_id": r["entry_id"],
                    "first_seen": r["first_seen"],
                }
            )
    return found


def _inbox() -> dict[str, Any]:
    return {"state": "inbox", "state_at": None, "tags": [], "notes": []}


def _states(conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    from .triage import user_states

    return {
        item_id: {
            "state": s.state,
            "state_at": s.state_at,
            "tags": list(s.tags),
            "notes": [{"at": n.at, "text": n.text} for n in s.notes],
        }
        for item_id, s in user_states(conn, ids).items()
    }


def _topics(conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    from .topics import UNSORTED, topic_names

    names = topic_names(conn)
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(
            f"SELECT item_id, topic_id, similarity FROM item_topics WHERE item_id IN ({marks})", chunk
        ):
            name = UNSORTED if r["topic_id"] is None else names.get(r["topic_id"], "")
            found[r["item_id"]] = {"id": r["topic_id"], "name": name, "similarity": r["similarity"]}
    return found


def _summaries(conn: sqlite3.Connection, ids: list[str], prefer: tuple[str, str] | None) -> dict[str, dict]:
    from .summarise import latest_summaries

    return {
        item_id: summary_record(stored)
        for item_id, stored in latest_summaries(conn, ids, prefer).items()
        if stored.summary is not None
    }


def summary_record(stored: Any) -> dict[str, Any]:
    """A stored summary (`summarise.StoredSummary`) as the `summary` part of an item's record."""
    summary = stored.summary
    checks = {c.field: c.status for c in stored.quote_checks}
    insight = summary.insight
    return {
        "producer": stored.producer,
        "model": stored.model,
        "prompt_version": stored.prompt_version,
        "created_at": stored.created_at,
        "current": stored.current,
        "tldr": summary.tldr,
        "kind": summary.contribution.value,
        "insight_score": insight.score if insight else None,
        "rationale": insight.rationale if insight else None,
        "insight_quote": {"quote": insight.quote, "check": checks.get("insight", "unchecked")} if insight else None,
        "key_claims": [
            {"claim": c.claim, "quote": c.quote, "check": checks.get(f"key_claims[{i}]", "unchecked")}
            for i, c in enumerate(summary.key_claims)
        ],
        "topics": list(summary.topics),
        "questions": list(summary.questions),
        "quotes_verified": stored.quotes_verified,
        "quotes_total": stored.quotes_total,
    }
