"""The store: pragmas, migrations from blank to exactly the expected schema, upgrades that keep rows, and the
integrity check on open (skipped only for files exactly as a passing check left them)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from sabbatical import db
from sabbatical.errors import CorruptPile, StoreError


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


# -- the integrity check on open, and the record of one that passed ---------------------------------------
def _filled(path: Path, rows: int = 400) -> None:
    conn = db.connect(path)
    with db.transaction(conn):
        conn.executemany("INSERT INTO settings (key, value) VALUES (?, ?)", [(f"k{n}", "v" * 300) for n in range(rows)])
    conn.close()  # the last connection: the WAL goes into the file


def _damage(path: Path) -> None:
    """Overwrite 16 KiB in the middle of the file (the same size: only the bytes change)."""
    with path.open("r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        handle.write(b"\xa5" * 16384)


@pytest.fixture
def checks(monkeypatch):
    """The integrity checks run (the problems they found), with files just written counted as settled."""
    monkeypatch.setattr(db, "SETTLED_NS", 0)
    found: list[str | None] = []
    real = db.integrity_problem

    def counted(conn):
        found.append(real(conn))
        return found[-1]

    monkeypatch.setattr(db, "integrity_problem", counted)
    return found


def _record(path: Path) -> Path:
    return Path(f"{path}{db.CHECKED_SUFFIX}")


def test_an_unchanged_pile_is_checked_once_and_again_after_any_write(tmp_path, checks):
    path = tmp_path / "pile.db"
    _filled(path)
    for _ in range(3):
        db.connect(path).close()
    assert checks == [None] and _record(path).is_file()
    conn = db.connect(path)
    conn.execute("INSERT INTO settings (key, value) VALUES ('later', '1')")
    conn.close()
    db.connect(path).close()
    db.connect(path).close()
    assert checks == [None, None]


@pytest.mark.parametrize("times_put_back", [False, True], ids=["as damaged", "modification time put back"])
def test_a_pile_damaged_after_a_passing_check_is_still_caught(tmp_path, checks, times_put_back):
    path = tmp_path / "pile.db"
    _filled(path, rows=2000)  # large enough that the damage lands in a table's pages, not the schema's
    db.connect(path).close()
    assert checks == [None] and _record(path).is_file()
    before = path.stat()
    _damage(path)
    if times_put_back:  # same size, same modification time: the change time still moves
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    for _ in range(2):  # a failed check is not written down: the second open checks (and refuses) again
        conn = db.connect(path)
        assert isinstance(conn.refusal(), CorruptPile)
        conn.close()
    assert len(checks) == 3 and checks[1] and checks[2]


def test_a_pile_changed_moments_ago_is_checked_on_every_open(tmp_path, monkeypatch):
    found = []
    real = db.integrity_problem
    monkeypatch.setattr(db, "integrity_problem", lambda conn: found.append(real(conn)))
    path = tmp_path / "pile.db"
    _filled(path)
    db.connect(path).close()
    db.connect(path).close()
    assert found == [None, None] and not _record(path).exists()


@pytest.mark.parametrize("doubt", ["not json", "a symlink", "a copy of the pile"])
def test_a_record_in_any_doubt_is_not_trusted(tmp_path, checks, doubt):
    path = tmp_path / "pile.db"
    _filled(path)
    db.connect(path).close()
    if doubt == "not json":
        _record(path).write_text("{ damaged")
    elif doubt == "a symlink":
        (tmp_path / "elsewhere").write_text(_record(path).read_text())
        _record(path).unlink()
        _record(path).symlink_to(tmp_path / "elsewhere")
    else:  # copied with its times and its record: another file all the same
        copy = tmp_path / "copy" / "pile.db"
        copy.parent.mkdir()
        shutil.copy2(path, copy)
        shutil.copy2(_record(path), _record(copy))
        path = copy
    db.connect(path).close()
    assert len(checks) == 2
