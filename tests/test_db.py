"""The store: pragmas, migrations from blank to exactly the expected schema, upgrades that keep rows."""

from __future__ import annotations

import sqlite3

import pytest

from sabbatical import db
from sabbatical.errors import StoreError


def test_connect_sets_wal_busy_timeout_and_foreign_keys(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS


def test_migrations_are_numbered_without_gaps():
    versions = [m.version for m in db.migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_a_blank_database_migrates_to_exactly_the_expected_schema(tmp_path):
    """The schema a blank database reaches is the one the migration files describe, no more, no less."""
    conn = db.connect(tmp_path / "pile.db")
    reference = sqlite3.connect(":memory:")
    for migration in db.migrations():
        for statement in db.split_statements(migration.sql):
            reference.execute(statement)
    reference.row_factory = sqlite3.Row
    assert db.table_schema(conn) == db.table_schema(reference)
    applied = [tuple(r) for r in conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")]
    assert applied == [(m.version, m.name) for m in db.migrations()]
    assert db.schema_version(conn) == db.migrations()[-1].version


def test_reopening_applies_nothing(tmp_path):
    db.connect(tmp_path / "pile.db").close()
    conn = db.connect(tmp_path / "pile.db", migrate=False)
    assert db.apply_migrations(conn) == []


def test_an_older_database_migrates_without_losing_rows(tmp_path):
    """Build the schema at each older version, put rows in every table, migrate, check they are all there."""
    newest = db.migrations()[-1].version
    for start in range(1, newest + 1):
        path = tmp_path / f"v{start}.db"
        conn = db.connect(path, upto=start)
        counts = _fill_every_table(conn)
        conn.close()
        conn = db.connect(path)
        assert db.schema_version(conn) == newest
        for table, count in counts.items():
            assert conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] >= count, (start, table)


def _fill_every_table(conn: sqlite3.Connection) -> dict[str, int]:
    """Insert one row of plausible values into every plain table that accepts one."""
    counts = {}
    virtual = [
        r["name"]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")
    ]
    tables = [
        r["name"]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if r["name"] not in virtual
        and r["name"] != "schema_migrations"
        and not any(r["name"].startswith(v + "_") for v in virtual)
    ]
    for table in tables:
        before = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        columns = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        values = [_plausible(col["type"], col["name"]) for col in columns]
        names = ", ".join(f'"{c["name"]}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        try:
            conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)
        except sqlite3.IntegrityError:
            continue  # a foreign key or check we cannot satisfy blindly; the table keeps its real rows
        counts[table] = before + 1
    return counts


ITEM_ID = "arxiv:2301.00001"
# Values that satisfy the schema's checks and foreign keys, by column name.
KNOWN_VALUES = {
    "kind": "paper",
    "producer": "offline",
    "status": "ok",
    "private": 0,
    "followed": 1,
    "id": ITEM_ID,
    "item_id": ITEM_ID,
    "from_item": ITEM_ID,
    "to_item": ITEM_ID,
}


def _plausible(sql_type: str, name: str):
    sql_type = (sql_type or "").upper()
    if "INT" in sql_type:
        return 1
    if name in KNOWN_VALUES:
        return KNOWN_VALUES[name]
    if "REAL" in sql_type or "FLOA" in sql_type:
        return 0.5
    if "BLOB" in sql_type:
        return b"\x00\x01"
    return f"{name}-value"


def test_the_filler_reaches_the_pile_tables(tmp_path):
    """Guard the guard: the upgrade test must really put rows into the main tables."""
    conn = db.connect(tmp_path / "pile.db")
    filled = _fill_every_table(conn)
    for table in ("items", "aliases", "sources", "item_sources", "events"):
        assert filled.get(table) == 1, table


def test_a_newer_database_is_refused_with_advice(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'now')")
    conn.close()
    with pytest.raises(StoreError, match="newer than this sabbatical knows"):
        db.connect(tmp_path / "pile.db")


def test_transaction_rolls_back_on_error_and_nests(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    with pytest.raises(ZeroDivisionError), db.transaction(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
        1 / 0
    assert conn.execute("SELECT COUNT(*) FROM settings").fetchone()[0] == 0
    with db.transaction(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('b', '1')")
        with pytest.raises(ValueError), db.transaction(conn):
            conn.execute("INSERT INTO settings (key, value) VALUES ('c', '1')")
            raise ValueError
    assert [r[0] for r in conn.execute("SELECT key FROM settings")] == ["b"]


def test_split_statements_keeps_triggers_whole():
    script = """
    -- a comment
    CREATE TABLE t (a);
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        INSERT INTO t VALUES (1);
    END;
    """
    statements = list(db.split_statements(script))
    assert len(statements) == 2 and statements[1].endswith("END;")
