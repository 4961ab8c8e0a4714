"""Reading runs straight from the workspace's local MLflow store (its SQLite file), for `sprint status` and the site.

`sprint status` reads a few rows, but asking MLflow for them meant importing it and opening its store
(SQLAlchemy, Alembic's schema check): 7 s of CPU on the machine the benchmarks run on, for a command that
should take half a second; a site build paid the same. Here the same rows are read with the standard
library, through a read-only connection, as `StoredRun`s (active runs only; params, every tag, every
metric's full history in MLflow's order, NaN read back as NaN). `from_mlflow` gives an MLflow client's run
the same shape, so each reader turns one shape into what it shows: `run_summaries` the shape
`tracking.run_summaries` gives (the researcher's goals decide "best"), the site its runs table and charts.
Anything this cannot answer for certain (a remote or non-SQLite store, a file that is no SQLite database,
tables or columns it does not know, an experiment name held by several MLflow workspaces) gives None, and
the caller asks MLflow as before. It never writes: the store is built and upgraded by MLflow, at the first
tracked run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


@dataclass
class StoredRun:
    """One active run as the store holds it: every tag (MLflow's own included), each metric's full history."""

    id: str
    experiment_id: str
    name: str
    status: str
    start_time: int | None
    end_time: int | None
    params: dict[str, str]
    tags: dict[str, str]
    history: dict[str, list[tuple[int, float, int]]]  # metric → (step, value, timestamp), in MLflow's order


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
    runs = stored_runs(workspace, [experiment_id])
    return None if runs is None else [summary_of(workspace, run) for run in runs]


def stored_runs(workspace: Workspace, experiment_ids: list[str]) -> list[StoredRun] | None:
    """Every active run of these experiments, oldest first (ties as MLflow lists them); None when MLflow
    must be asked."""
    if not all(str(experiment_id).isdigit() for experiment_id in experiment_ids):
        return None
    try:
        with _store(workspace) as conn:
            runs = [
                _stored(conn, row, str(experiment_id))
                for experiment_id in experiment_ids
                for row in conn.execute(
                    "SELECT run_uuid, name, status, start_time, end_time FROM runs WHERE experiment_id = ? "
                    "AND lifecycle_stage = 'active' ORDER BY start_time DESC, run_uuid",
                    (int(experiment_id),),
                ).fetchall()
            ]
    except (_Unknown, sqlite3.Error):
        return None
    return sorted(runs, key=lambda run: run.start_time or 0)


def summary_of(workspace: Workspace | None, run: StoredRun) -> RunSummary:
    """A run's summary for `sprint status`: each metric's best and last, MLflow's own tags left out."""
    return RunSummary(
        id=run.id,
        name=run.name,
        status=run.status,
        start_time=run.start_time,
        end_time=run.end_time,
        params=run.params,
        metrics={key: summarise_run_metric(workspace, run.tags, key, points) for key, points in run.history.items()},
        tags={key: value for key, value in run.tags.items() if not key.startswith("mlflow.")},
    )


def from_mlflow(mlflow_client: Any, run: Any) -> StoredRun:
    """An MLflow client's run in the store's shape, each metric's history asked of the client."""
    history = {}
    for key in sorted(run.data.metrics):
        points = mlflow_client.get_metric_history(run.info.run_id, key)
        if points:
            history[key] = [(point.step, point.value, point.timestamp) for point in points]
    return StoredRun(
        id=run.info.run_id,
        experiment_id=str(run.info.experiment_id),
        name=run.info.run_name or run.info.run_id[:8],
        status=run.info.status,
        start_time=run.info.start_time,
        end_time=run.info.end_time,
        params=dict(run.data.params),
        tags=dict(run.data.tags),
        history=history,
    )


def _stored(conn: sqlite3.Connection, run: sqlite3.Row, experiment_id: str) -> StoredRun:
    run_id = run["run_uuid"]
    history = {}
    for (key,) in conn.execute("SELECT key FROM latest_metrics WHERE run_uuid = ? ORDER BY key", (run_id,)).fetchall():
        points = [
            (int(step), float("nan") if is_nan else float(value), int(timestamp))
            for step, value, timestamp, is_nan in conn.execute(
                "SELECT step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
                "ORDER BY timestamp, step, value",  # MLflow's order: the same points win ties
                (run_id, key),
            )
        ]
        if points:
            history[key] = points
    return StoredRun(
        id=run_id,
        experiment_id=experiment_id,
        name=run["name"] or run_id[:8],
        status=run["status"],
        start_time=run["start_time"],
        end_time=run["end_time"],
        params=dict(conn.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall()),
        tags=dict(conn.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)).fetchall()),
        history=history,
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
