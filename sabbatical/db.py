"""Opening the SQLite store, and its numbered migrations.

Every connection to the pile goes through `connect`: WAL (so a notebook, the CLI and a site build can
work at once), a generous busy timeout, foreign keys on, rows as `sqlite3.Row`. Pending migrations are
applied on open. A migration is a file `sabbatical/migrations/NNNN_name.sql`; each runs in its own
transaction and is recorded in `schema_migrations`. Shipped migration files are never edited: a change
is a new file. Migrations never lose data: a table is dropped only after its rows were copied.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import StoreError

BUSY_TIMEOUT_MS = 60_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The shipped migrations in order. Numbers are unique and have no gaps."""
    found = []
    for entry in resources.files("sabbatical.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise RuntimeError(f"migration numbers must run 1..N without gaps or repeats: {[m.version for m in found]}")
    return found


def connect(path: Path | str, *, migrate: bool = True, upto: int | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date.

    `upto` stops at a given migration version (tests use it to build an older schema).
    The connection is in autocommit mode; group writes with `transaction(conn)`.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            apply_migrations(conn, upto=upto)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open {path}: {exc} — check the file is a sabbatical pile and the disk has space") from exc
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if not exists:
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def apply_migrations(conn: sqlite3.Connection, upto: int | None = None) -> list[int]:
    """Apply every pending migration, each in its own transaction; return the versions applied."""
    shipped = migrations()
    newest = shipped[-1].version if shipped else 0
    current = schema_version(conn)
    if current > newest:
        raise StoreError(f"this database has schema version {current}, newer than this sabbatical "
                         f"knows ({newest}) — upgrade sabbatical (`pip install -U sabbatical`)")
    applied = []
    for migration in shipped:
        if migration.version <= current or (upto is not None and migration.version > upto):
            continue
        with transaction(conn):
            # Re-check inside the write lock: another process may have migrated meanwhile.
            if schema_version(conn) >= migration.version:
                continue
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, datetime('now'))",
                (migration.version, migration.name))
        applied.append(migration.version)
    return applied


def split_statements(script: str) -> Iterator[str]:
    """Split a SQL script into complete statements (triggers with BEGIN … END stay whole)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending.strip()[:80]}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE), or a savepoint when already inside one."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO nested")
            conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def table_schema(conn: sqlite3.Connection) -> dict[str, str]:
    """name → CREATE statement of every table, index, trigger and view (for schema tests)."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return {row["name"]: row["sql"] for row in rows}
