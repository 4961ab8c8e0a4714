"""Looking into a pile from outside the process that writes it: counts, integrity, canonical dumps.

These open the SQLite file with the standard library, not with `sabbatical.db.connect`, so that looking
never migrates anything: what the tests see is what the killed process left (SQLite itself only replays
a committed write-ahead log on open, as any later reader would).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=60)


def count(path: Path, table: str, where: str = "1") -> int:
    """Rows of `table` (0 while the file or the table does not exist yet)."""
    if not Path(path).exists():
        return 0
    try:
        with closing(_open(path)) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # the writer has not migrated the new file yet
            return 0
        raise


def assert_intact(path: Path) -> None:
    """SQLite's integrity check, foreign keys, and the full-text index against its table."""
    with closing(sqlite3.connect(path, timeout=60)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items_fts'").fetchone():
            conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def ingested_state(path: Path) -> dict[str, Any]:
    """Everything an ingest writes, comparable between two piles read from the same sources."""
    with closing(_open(path)) as conn:
        return {
            "items": sorted(conn.execute("SELECT id, kind, content_hash, title FROM items")),
            "aliases": sorted(conn.execute("SELECT alias, item_id FROM aliases")),
            "item_sources": sorted(
                conn.execute(
                    "SELECT x.item_id, s.kind, s.locator FROM item_sources x JOIN sources s ON s.id = x.source_id"
                )
            ),
            "fts": conn.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0],
        }


def summaries_state(path: Path) -> list[tuple]:
    """Summaries by (item, prompt version, model, status) with what they say."""
    with closing(_open(path)) as conn:
        return sorted(
            conn.execute(
                "SELECT item_id, prompt_version, model, status, tldr, contribution, insight_score FROM summaries"
            )
        )
