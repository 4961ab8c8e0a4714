"""Reading a sprint's runs straight from the workspace's local MLflow store (its SQLite file), for `sprint status`.

`sprint status` reads a few rows, but asking MLflow for them meant importing it and opening its store
(SQLAlchemy, Alembic's schema check): 7 s of CPU on the machine the benchmarks run on, for a command that
should take half a second. Here the same rows are read with the standard library, through a read-only
connection, and given the same shape `tracking.run_summaries` gives (active runs only; params, tags, every
metric's full history, NaN read back as NaN; the researcher's goals decide "best"). Anything this cannot
answer for certain (a remote or non-SQLite store, a file that is no SQLite database, tables or columns it
does not know, an experiment name held by several MLflow workspaces) gives None, and the caller asks MLflow
as before. It never writes: the store is built and upgraded by MLflow, at the first tracked run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING

from .tracking import TAG_PREFIX, RunSummary, local_sqlite_path, summarise_run_metric

if TYPE_CHECKING:
    from ..workspace import Workspace

# The columns read here, by table: a store without any of them is left to MLflow.
COLUMNS = {
    "experiments": {"experiment_id", "name", "lifecycle_stage"},
    "experiment_tags": {"key", "value", "experiment_id"},
    "runs": {"run_uuid", "name", "status", "start_time", "end_time", "lifecycle_stage", "experiment_id"},
    "params": {"key", "value", "run_uuid"},
    "tags": {"key", "value", "run_uuid"},
    "metrics": {"key", "value", "timestamp", "step", "is_nan", "run_uuid"},
    "latest_metrics": {"key", "run_uuid"},
}


class _Unknown(Exception):
    """The store is not one this module reads for certain."""


def experiment_id_by_name(workspace: Workspace, name: str) -> tuple[bool, str | None]:
    """(answered, id): the id of this workspace's experiment named `name` (deleted or not, as MLflow's
    `get_experiment_by_name`), None when there is none; answered is False when MLflow must be asked."""
    try:
        with _store(workspace) as conn:
            rows = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?", (name,)).fetchall()
            if len(rows) > 1:
                raise _Unknown("the name is held in several MLflow workspaces")
            if not rows:
                return True, None
            experiment_id = rows[0][0]
            owner = conn.execute(
                "SELECT value FROM experiment_tags WHERE experiment_id = ? AND key = ?",
                (experiment_id, f"{TAG_PREFIX}workspace"),
            ).fetchone()
    except (_Unknown, sqlite3.Error):
        return False, None
    return True, str(experiment_id) if owner is not None and owner[0] == str(workspace.root) else None


def run_summaries(workspace: Workspace, experiment_id: str) -> list[RunSummary] | None:
    """Every active run of the experiment, oldest first, as `tracking.run_summaries` gives them; None when
    MLflow must be asked."""
    if not str(experiment_id).isdigit():
        return None
    try:
        with _store(workspace) as conn:
            runs = conn.execute(
                "SELECT run_uuid, name, status, start_time, end_time FROM runs WHERE experiment_id = ? "
                "AND lifecycle_stage = 'active' ORDER BY start_time DESC, run_uuid",
                (int(experiment_id),),
            ).fetchall()
            summaries = [_summary(conn, workspace, run) for run in runs]
    except (_Unknown, sqlite3.Error):
        return None
    return sorted(summaries, key=lambda run: run.start_time or 0)


def _summary(conn: sqlite3.Connection, workspace: Workspace, run: sqlite3.Row) -> RunSummary:
    run_id = run["run_uuid"]
    params = dict(conn.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall())
    tags = dict(conn.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)).fetchall())
    metrics = {}
    for (key,) in conn.execute("SELECT key FROM latest_metrics WHERE run_uuid = ? ORDER BY key", (run_id,)).fetchall():
        history = [
            (int(step), float("nan") if is_nan else float(value), int(timestamp))
            for step, value, timestamp, is_nan in conn.execute(
                "SELECT step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
                "ORDER BY timestamp, step, value",  # MLflow's order: the same points win ties
                (run_id, key),
            )
        ]
        if history:
            metrics[key] = summarise_run_metric(workspace, tags, key, history)
    return RunSummary(
        id=run_id,
        name=run["name"] or run_id[:8],
        status=run["status"],
        start_time=run["start_time"],
        end_time=run["end_time"],
        params=params,
        metrics=metrics,
        tags={key: value for key, value in tags.items() if not key.startswith("mlflow.")},
    )


@contextmanager
def _store(workspace: Workspace) -> Iterator[sqlite3.Connection]:
    """The local store, opened read-only, once its tables are checked; `_Unknown` for anything else."""
    path = local_sqlite_path(workspace)
    if path is None or not path.is_file():
        raise _Unknown("not a local SQLite store")
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)) as conn:
        conn.row_factory = sqlite3.Row
        for table, wanted in COLUMNS.items():
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if not wanted <= present:
                raise _Unknown(f"the store's {table} table is not one this version reads")
        yield conn
