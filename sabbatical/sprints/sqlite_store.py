"""Creating a sprint's experiment in a local SQLite MLflow store, and counting its runs, without MLflow.

`import mlflow` and its SQL store module take 2–3 s here, nearly all of `new-sprint`. Creating an
experiment writes one row into `experiments` and one per tag into `experiment_tags`, so for the common
case those rows are written with `sqlite3`, in one transaction, exactly as MLflow's own SQL store writes
them. The common case is checked, not assumed:

- the tracking URI is a local `sqlite:///` file that exists;
- the store's schema is at an Alembic revision listed in `VERIFIED_REVISIONS`, and the two tables have
  the columns listed here (a new MLflow that migrates the store turns this path off by itself);
- every experiment is in MLflow's default workspace, no experiment of that name exists (deleted or
  not), and the name, location and tags are inside MLflow's length limits.

Counting a sprint's runs (for `sprint list`) is one read-only query on `runs`, under the same checks.
Anything else returns None and the caller goes through `MlflowClient`. When the store has no Default
experiment (id 0) yet, it is added as MLflow adds it when it first opens a store, but with its artifact
location under the workspace's artifact root rather than under the current directory.

`tests/test_sprint_sqlite_store.py` checks, against the pinned MLflow, that the rows written here read
back through `MlflowClient` the same as rows MLflow writes itself, and that this path is taken.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

# Alembic head revisions whose `experiments` and `experiment_tags` tables are the ones written below.
# dc11669786a5: the head of MLflow 3.17.
VERIFIED_REVISIONS = frozenset({"dc11669786a5"})
EXPERIMENT_COLUMNS = ("experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time",
                      "last_update_time", "workspace")
TAG_COLUMNS = ("key", "value", "experiment_id")
RUN_COLUMNS = ("run_uuid", "experiment_id", "lifecycle_stage")  # the ones counting runs reads
DEFAULT_WORKSPACE = "default"
DEFAULT_EXPERIMENT_NAME = "Default"
# MLflow's limits (mlflow.utils.validation); a value past them goes to MLflow, which says what is wrong.
MAX_NAME_LENGTH = 256  # the column's width; MLflow itself allows 500
MAX_ARTIFACT_LOCATION_LENGTH = 2048
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 20_000
# Tag keys MLflow accepts without a second look: plain dotted names, none of MLflow's own trace settings.
_PLAIN_TAG_KEY = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")
# Set, these change what MLflow writes or checks (multi-workspace stores, a custom location limit).
_MLFLOW_SETTINGS_THAT_CHANGE_WRITES = ("MLFLOW_ENABLE_WORKSPACES", "MLFLOW_WORKSPACE",
                                       "MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH")


def create_experiment(db_path: Path, name: str, artifact_location: str, tags: dict[str, str],
                      default_artifact_root: str) -> str | None:
    """Insert the experiment and its tags; return its id, or None when this store is not the common case.

    Errors from SQLite itself (a locked or corrupt file) are raised for the caller to report.
    """
    if (any(variable in os.environ for variable in _MLFLOW_SETTINGS_THAT_CHANGE_WRITES)
            or not _within_limits(name, artifact_location, tags) or not db_path.is_file()):
        return None
    connection = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("BEGIN IMMEDIATE")  # a writer lock now, so the checks below still hold at COMMIT
        try:
            experiment_id = _insert(connection, name, artifact_location, tags, default_artifact_root)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        if experiment_id is None:
            connection.execute("ROLLBACK")
            return None
        connection.execute("COMMIT")
        return str(experiment_id)
    finally:
        connection.close()


def count_active_runs(db_path: Path, experiment_ids: list[str]) -> dict[str, int] | None:
    """Active runs per experiment, read without MLflow; None when this store is not one this module knows."""
    if not db_path.is_file() or not all(experiment_id.isdigit() for experiment_id in experiment_ids):
        return None
    connection = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        if not is_verified(connection) or not set(RUN_COLUMNS) <= set(_columns(connection, "runs")):
            return None
        marks = ", ".join("?" * len(experiment_ids))
        counts = dict(connection.execute(
            f"SELECT experiment_id, COUNT(*) FROM runs WHERE lifecycle_stage = 'active' AND experiment_id IN ({marks}) "
            "GROUP BY experiment_id", [int(experiment_id) for experiment_id in experiment_ids]).fetchall())
    finally:
        connection.close()
    return {experiment_id: counts.get(int(experiment_id), 0) for experiment_id in experiment_ids}


def is_verified(connection: sqlite3.Connection) -> bool:
    """True when the store's schema is one whose experiment tables this module writes correctly."""
    try:
        revisions = {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.DatabaseError:
        return False
    return (len(revisions) == 1 and revisions <= VERIFIED_REVISIONS
            and _columns(connection, "experiments") == EXPERIMENT_COLUMNS
            and _columns(connection, "experiment_tags") == TAG_COLUMNS)


def _insert(connection: sqlite3.Connection, name: str, artifact_location: str, tags: dict[str, str],
            default_artifact_root: str) -> int | None:
    if not is_verified(connection):
        return None
    if connection.execute("SELECT 1 FROM experiments WHERE workspace != ? OR name = ? LIMIT 1",
                          (DEFAULT_WORKSPACE, name)).fetchone():
        return None  # other workspaces, or a name to restore or refuse: MLflow's rules, through MLflow
    now = int(time.time() * 1000)
    if not connection.execute("SELECT 1 FROM experiments WHERE experiment_id = 0").fetchone():
        if connection.execute("SELECT 1 FROM experiments WHERE name = ?", (DEFAULT_EXPERIMENT_NAME,)).fetchone():
            return None
        connection.execute(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
            "last_update_time, workspace) VALUES (0, ?, ?, 'active', ?, ?, ?)",
            (DEFAULT_EXPERIMENT_NAME, default_artifact_root.rstrip("/") + "/0", now, now, DEFAULT_WORKSPACE))
    cursor = connection.execute(
        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time, "
        "workspace) VALUES (?, ?, 'active', ?, ?, ?)",
        (name, artifact_location, now, now, DEFAULT_WORKSPACE))
    experiment_id = cursor.lastrowid
    connection.executemany("INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)",
                           [(key, value, experiment_id) for key, value in tags.items()])
    return experiment_id


def _columns(connection: sqlite3.Connection, table: str) -> tuple[str, ...]:
    return tuple(row[1] for row in connection.execute(f"PRAGMA table_info({table})"))


def _within_limits(name: str, artifact_location: str, tags: dict[str, str]) -> bool:
    return (0 < len(name) <= MAX_NAME_LENGTH and len(artifact_location) <= MAX_ARTIFACT_LOCATION_LENGTH
            and all(len(key) <= MAX_TAG_KEY_LENGTH and _PLAIN_TAG_KEY.fullmatch(key)
                    and not key.startswith("mlflow.trace.") and len(value) <= MAX_TAG_VALUE_LENGTH
                    for key, value in tags.items()))
