"""Opening the SQLite store, and its numbered migrations.

Every connection to the pile goes through `connect`: WAL (so a notebook, the CLI and a site build can
work at once), a generous busy timeout, foreign keys on, rows as `sqlite3.Row`. Pending migrations are
applied on open. A migration is a file `sabbatical/migrations/NNNN_name.sql`; each runs in its own
transaction and is recorded in `schema_migrations`. Shipped migration files are never edited: a change
is a new file. Migrations never lose data: a table is dropped only after its rows were copied.

Every open checks the file with SQLite's `quick_check`, which reads all of it (~0.05 s of CPU for a 60 MB
pile, on every command). A check that passed is written down beside the pile (`pile.db-checked`) with what
identifies the file and its -wal as they were checked: device, inode, size, and modification and change
times to the nanosecond. An open that finds both files exactly so skips the check; any write, copy,
replacement, `touch` or `chmod` changes one of them, and the check runs again. A check is written down only
when neither file changed while it ran and both were last changed well before it (a change within the same
tick of the file system's clock could otherwise leave the times as they were).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import CorruptPile, ReadOnlyWorkspace, StoreError

BUSY_TIMEOUT_MS = 60_000
CHECKED_SUFFIX = "-checked"  # beside the pile, like SQLite's own -wal and -shm
CHECK_RECORD_VERSION = 1
SETTLED_NS = 2_000_000_000  # a file changed less recently than this is not written down as checked
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


class StoreConnection(sqlite3.Connection):
    """A connection that turns what SQLite refuses into the pile's own one-line errors.

    `refusal` is set when the pile was opened read-only (the workspace is not writable, or the pile is
    damaged): every write then raises it, and `transaction` raises it before beginning.
    """

    refusal: Callable[[], StoreError] | None = None
    path: Path | None = None

    def execute(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args)
        except sqlite3.Error as exc:
            raise self.explained(exc) from exc

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(*args)
        except sqlite3.Error as exc:
            raise self.explained(exc) from exc

    def explained(self, exc: sqlite3.Error) -> Exception:
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith("SQLITE_READONLY") and self.refusal:
            return self.refusal()
        if _is_damage(exc) and self.path:
            return CorruptPile(self.path, str(exc))
        return exc


def connect(path: Path | str, *, migrate: bool = True, upto: int | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date.

    `upto` stops at a given migration version (tests use it to build an older schema).
    The connection is in autocommit mode; group writes with `transaction(conn)`.

    A pile whose file or folder is not writable is opened read-only: reads work, and a write raises
    `ReadOnlyWorkspace` (not a disk error). Every file is checked with `PRAGMA quick_check` on open (unless
    it is exactly as it was when a check last passed: see the module's docstring); a damaged one is opened
    read-only too, and a write raises `CorruptPile`, which says how to recover.
    """
    if str(path) == ":memory:":
        return _prepared(_open(":memory:"), migrate, upto)
    path = Path(path)
    if not _writable(path):
        return _read_only(path, lambda: ReadOnlyWorkspace(path), check=True, need_schema=migrate)
    problem = _problem_in_file(path) if path.exists() else None
    if problem:
        return _read_only(path, lambda: CorruptPile(path, problem), check=False, need_schema=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _open(path)
    conn.path = path
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return _prepared(conn, migrate, upto)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            f"cannot open {path}: {exc} — check the file is a sabbatical pile and the disk has space"
        ) from exc


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """None when SQLite's quick check finds the file sound, else its first complaint."""
    try:
        rows = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows == ["ok"]:
        return None
    complaints = [
        " ".join(line.split())
        for row in rows
        for line in str(row).splitlines()
        if line.strip() and not line.startswith("***")
    ] or ["quick_check failed"]
    more = len(complaints) - 1
    return complaints[0] + (f", and {more} more problem{'s' if more > 1 else ''}" if more else "")


def _problem_in_file(path: Path) -> str | None:
    """The integrity check, through a connection that cannot write (so a damaged file is not touched,
    not even by the WAL checkpoint a writable connection makes when it closes)."""
    if _checked_as_it_is(path):
        return None
    conn = _open_without_writing(path)
    try:
        return _checked(path, conn)
    finally:
        conn.close()


def _checked(path: Path, conn: sqlite3.Connection) -> str | None:
    """`integrity_problem(conn)` of the pile at `path`, written down when it found none (and the files allow)."""
    before = _file_signature(path)
    problem = integrity_problem(conn)
    if problem is None:
        _record_check(path, before)
    return problem


def _file_signature(path: Path) -> list[list[int] | None]:
    """What tells the pile's file and its -wal apart from any other state of them (None: no such file, or an
    empty -wal, which holds nothing: SQLite makes and removes one as connections come and go)."""
    signature: list[list[int] | None] = []
    for name in (str(path), f"{path}-wal"):
        try:
            found = os.stat(name)
        except FileNotFoundError:
            found = None
        if found is None or (name != str(path) and found.st_size == 0):
            signature.append(None)
            continue
        signature.append([found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns])
    return signature


def _checked_as_it_is(path: Path) -> bool:
    """Did a check pass on the pile's files exactly as they are now? Any doubt (no record, an unreadable or
    damaged one, a symlink in its place, an error) is a no: the check runs."""
    record = Path(f"{path}{CHECKED_SUFFIX}")
    try:
        if record.is_symlink() or not record.is_file():
            return False
        kept = json.loads(record.read_text(encoding="utf-8"))
        signature = _file_signature(path)
    except (OSError, ValueError):
        return False
    return (
        isinstance(kept, dict)
        and kept.get("version") == CHECK_RECORD_VERSION
        and signature[0] is not None
        and kept.get("files") == signature
    )


def _record_check(path: Path, before: list[list[int] | None]) -> None:
    """Write down that the check passed on the files as `before` says, if they are still so and settled."""
    from .files import write_atomically

    now = time.time_ns()
    settled = all(f is None or max(f[3], f[4]) < now - SETTLED_NS for f in before)
    if before[0] is None or not settled or _file_signature(path) != before:
        return
    record = Path(f"{path}{CHECKED_SUFFIX}")
    with suppress(OSError):
        write_atomically(record, json.dumps({"version": CHECK_RECORD_VERSION, "files": before}))


def _open(target: Path | str, *, uri: bool = False) -> StoreConnection:
    conn = sqlite3.connect(
        str(target),
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
        uri=uri,
        factory=StoreConnection,
    )
    conn.row_factory = sqlite3.Row
    return conn


def _prepared(conn: StoreConnection, migrate: bool, upto: int | None) -> StoreConnection:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if migrate:
        apply_migrations(conn, upto=upto)
    return conn


def _writable(path: Path) -> bool:
    """Can this process write the pile (and the -wal/-shm files SQLite keeps beside it)?"""
    folder = next((p for p in (path.parent, *path.parents) if p.exists()), path.parent)
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def _read_only(path: Path, refusal: Callable[[], StoreError], *, check: bool, need_schema: bool) -> StoreConnection:
    """The pile opened so that nothing can write it (the refusal says why if something tries).

    `check` runs the integrity check a writable pile gets on open; `need_schema` refuses a pile whose
    schema is older than this sabbatical's (it cannot be upgraded in place)."""
    if not path.exists():
        raise ReadOnlyWorkspace(path, "there is no pile yet to read")
    conn = _open_without_writing(path)
    conn.path, conn.refusal = path, refusal
    problem = _checked(path, conn) if check and not _checked_as_it_is(path) else None
    if problem:
        conn.refusal, need_schema = (lambda: CorruptPile(path, problem)), False
    conn.execute("PRAGMA query_only = ON")
    if need_schema and schema_version(conn) < migrations()[-1].version:
        conn.close()
        raise ReadOnlyWorkspace(path, "the pile's schema needs upgrading before it can be read")
    return _prepared(conn, migrate=False, upto=None)


def _open_without_writing(path: Path) -> StoreConnection:
    """`mode=ro`; or `immutable=1` when SQLite cannot share the WAL index (no -shm file, and a folder it
    may not create one in). A file that is not a database at all is a damaged pile."""
    failure: sqlite3.Error | None = None
    for flags in ("mode=ro", "immutable=1"):
        conn = _open(f"{path.resolve().as_uri()}?{flags}", uri=True)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error as exc:
            conn.close()
            failure = exc
            if _is_damage(exc):
                break
    raise (
        CorruptPile(path, str(failure))
        if _is_damage(failure)
        else StoreError(f"cannot open {path} read-only: {failure} — check the file is a sabbatical pile")
    )


def _is_damage(exc: sqlite3.Error | None) -> bool:
    return getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if not exists:
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def apply_migrations(conn: sqlite3.Connection, upto: int | None = None) -> list[int]:
    """Apply every pending migration, each in its own transaction; return the versions applied."""
    shipped = migrations()
    newest = shipped[-1].version if shipped else 0
    current = schema_version(conn)
    if current > newest:
        raise StoreError(
            f"this database has schema version {current}, newer than this sabbatical "
            f"knows ({newest}) — upgrade sabbatical (`pip install -U sabbatical`)"
        )
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
                (migration.version, migration.name),
            )
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
    """One write transaction (BEGIN IMMEDIATE), or a savepoint when already inside one.

    On a pile opened read-only it raises the connection's refusal before anything begins."""
    refusal = getattr(conn, "refusal", None)
    if refusal:
        raise refusal()
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
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return {row["name"]: row["sql"] for row in rows}
