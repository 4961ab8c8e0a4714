"""MLflow plumbing for sprints: one experiment per sprint, run summaries, best metrics.

Every call goes through an `MlflowClient` built with the workspace's absolute tracking URI, never
MLflow's process-global state, so a notebook in any working directory (or a remote `mlflow server`)
gets the same store. mlflow is imported inside functions: it costs two seconds or more. The
exceptions are creating a sprint's experiment in a local SQLite store and counting its runs, which
`sqlite_store` does without MLflow when the store's schema is one it has been checked against.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TrackingError
from . import sqlite_store

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from ..workspace import Workspace
    from .model import SprintMeta

TAG_PREFIX = "sabbatical."
# Set to 1, experiments are always created (and runs counted) through MlflowClient, never in the store directly.
CLIENT_ONLY = "SABBATICAL_MLFLOW_CLIENT_ONLY"
# Metrics where smaller is better; every other metric is taken as larger-is-better.
_SMALLER_IS_BETTER = ("loss", "error", "err", "mse", "mae", "rmse", "perplexity", "latency", "time", "seconds",
                      "regret", "distance", "cost")


@dataclass
class MetricSummary:
    best: float
    best_step: int
    last: float
    last_step: int
    goal: str  # "min" or "max"


@dataclass
class RunSummary:
    id: str
    name: str
    status: str
    start_time: int | None
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def client(workspace: Workspace) -> MlflowClient:
    """An MlflowClient on the workspace's store (created on first use for a local SQLite store)."""
    _quiet_mlflow_logs()
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=workspace.tracking_uri)


def local_sqlite_path(workspace: Workspace) -> Path | None:
    uri = workspace.tracking_uri
    if not uri.startswith("sqlite:///"):
        return None
    from urllib.parse import unquote

    return Path(unquote(uri[len("sqlite:///"):]))


def ensure_local_store(workspace: Workspace) -> bool:
    """Create a missing local SQLite store by copying a cached, already-migrated empty store.

    MLflow builds a new store by replaying its whole migration history (over a second). The result is
    the same for every workspace using one MLflow version, so it is built once per version in the user's
    cache folder and copied. Returns True when a copy was made; on any problem it does nothing and MLflow
    creates the store itself as usual.
    """
    target = local_sqlite_path(workspace)
    if target is None or target.exists():
        return False
    try:
        template = _store_template()
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(template, staged)
        try:
            os.link(staged, target)  # fails if another process created the store meanwhile: theirs wins
        finally:
            staged.unlink(missing_ok=True)
    except Exception:
        return False
    return True


def _store_template() -> Path:
    from importlib.metadata import version

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sabbatical"
    template = cache / f"mlflow-store-{version('mlflow')}.db"
    if template.exists():
        return template
    cache.mkdir(parents=True, exist_ok=True)
    building = cache / f".{template.name}.{os.getpid()}.tmp"
    _quiet_mlflow_logs()
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables  # what `mlflow server` runs on an empty database

    engine = sqlalchemy.create_engine(f"sqlite:///{building}")
    try:
        with warnings.catch_warnings():  # MLflow's old migrations use deprecated SQLAlchemy options
            warnings.simplefilter("ignore")
            _initialize_tables(engine)
    finally:
        engine.dispose()
    os.replace(building, template)
    return template


def _quiet_mlflow_logs() -> None:
    # MLflow announces creating and migrating its tables at INFO; those lines are noise in a notebook.
    for name in ("mlflow.store.db.utils", "alembic.runtime.migration", "mlflow.tracking.fluent"):
        logging.getLogger(name).setLevel(logging.WARNING)


def is_remote(workspace: Workspace) -> bool:
    return workspace.tracking_uri.split(":", 1)[0] in ("http", "https", "databricks")


def local_store_missing(workspace: Workspace) -> bool:
    """True when the store is the local default and has never been created (so nothing is tracked yet)."""
    return not workspace.config.tracking.uri and not workspace.mlflow_db_path.exists()


def experiment_artifact_location(workspace: Workspace, folder_name: str) -> str | None:
    """Where a sprint's run artifacts go: under the workspace's artifact root, one folder per sprint.

    With a remote server and no artifact root configured, the server chooses (it may proxy artifacts).
    """
    if is_remote(workspace) and not workspace.config.tracking.artifact_root:
        return None
    return workspace.artifact_root.rstrip("/") + "/" + folder_name


def experiment_tags(workspace: Workspace, folder_name: str, meta: SprintMeta) -> dict[str, str]:
    tags = {
        f"{TAG_PREFIX}sprint": meta.id, f"{TAG_PREFIX}folder": folder_name,
        f"{TAG_PREFIX}question": meta.question[:4000], f"{TAG_PREFIX}start": meta.start.isoformat(),
        f"{TAG_PREFIX}end": meta.end.isoformat(), f"{TAG_PREFIX}status": meta.status,
        f"{TAG_PREFIX}private": "true" if meta.private else "false",
        f"{TAG_PREFIX}workspace": str(workspace.root),
        "mlflow.note.content": _description(meta),
    }
    if meta.hypothesis:
        tags[f"{TAG_PREFIX}hypothesis"] = meta.hypothesis[:4000]
    return tags


def _description(meta: SprintMeta) -> str:
    lines = [f"**Sprint {meta.id}** ({meta.start} → {meta.end}): {meta.question}"]
    if meta.hypothesis:
        lines.append(f"\n\nHypothesis: {meta.hypothesis}")
    return "".join(lines)[:4000]


def create_sprint_experiment(workspace: Workspace, folder_name: str, meta: SprintMeta) -> str:
    """Create the sprint's experiment (named after its folder) and return its id.

    An experiment of that name left by an earlier attempt from this same workspace (deleted or not) is
    restored and reused; one from elsewhere is an error, never silently shared.
    """
    tags = experiment_tags(workspace, folder_name, meta)
    ensure_local_store(workspace)
    created = _create_in_local_sqlite(workspace, folder_name, tags)
    if created is not None:
        return created
    try:
        mlflow_client = client(workspace)
        existing = mlflow_client.get_experiment_by_name(folder_name)
        if existing is None:
            return mlflow_client.create_experiment(
                folder_name, artifact_location=experiment_artifact_location(workspace, folder_name), tags=tags)
    except Exception as exc:
        raise TrackingError(f"could not create the MLflow experiment on {workspace.tracking_uri}: {_one_line(exc)} "
                            "— nothing was created; check [tracking] uri in sabbatical.toml") from exc
    if existing.tags.get(f"{TAG_PREFIX}workspace") != str(workspace.root):
        raise TrackingError(f"an MLflow experiment named {folder_name!r} already exists on {workspace.tracking_uri} "
                            "and belongs to another workspace — choose another --slug")
    if existing.lifecycle_stage == "deleted":
        try:
            mlflow_client.restore_experiment(existing.experiment_id)
        except Exception as exc:
            raise TrackingError(f"could not restore MLflow experiment {folder_name!r}: {_one_line(exc)}") from exc
    set_experiment_tags(workspace, existing.experiment_id, tags)
    return existing.experiment_id


def _direct_store(workspace: Workspace) -> Path | None:
    """The local SQLite store `sqlite_store` may use directly, or None (remote, or CLIENT_ONLY is set)."""
    return None if os.environ.get(CLIENT_ONLY) else local_sqlite_path(workspace)


def _create_in_local_sqlite(workspace: Workspace, folder_name: str, tags: dict[str, str]) -> str | None:
    """The experiment written straight into a local SQLite store (see `sqlite_store`), or None."""
    db_path = _direct_store(workspace)
    location = experiment_artifact_location(workspace, folder_name)
    if db_path is None or location is None:
        return None
    try:
        return sqlite_store.create_experiment(db_path, folder_name, location, tags, workspace.artifact_root)
    except sqlite3.Error as exc:
        raise TrackingError(f"could not create the MLflow experiment on {workspace.tracking_uri}: {_one_line(exc)} "
                            "— nothing was created") from exc


def set_experiment_tags(workspace: Workspace, experiment_id: str, tags: dict[str, str]) -> None:
    try:
        mlflow_client = client(workspace)
        for key, value in tags.items():
            mlflow_client.set_experiment_tag(experiment_id, key, value)
    except Exception as exc:
        raise TrackingError(f"could not tag MLflow experiment {experiment_id}: {_one_line(exc)}") from exc


def delete_experiment(workspace: Workspace, experiment_id: str) -> None:
    """Undo a just-created experiment (MLflow keeps it as deleted; a retry restores it)."""
    try:
        client(workspace).delete_experiment(experiment_id)
    except Exception:  # best effort: the caller is already reporting the original failure
        pass


def count_runs(workspace: Workspace, experiment_ids: list[str]) -> dict[str, int]:
    """Number of active runs per experiment id."""
    if not experiment_ids or local_store_missing(workspace):
        return dict.fromkeys(experiment_ids, 0)
    db_path = _direct_store(workspace)
    if db_path is not None:
        try:
            direct = sqlite_store.count_active_runs(db_path, experiment_ids)
        except sqlite3.Error:
            direct = None  # MLflow's client gives the clearer error, if there is one
        if direct is not None:
            return direct
    counts = dict.fromkeys(experiment_ids, 0)
    try:
        for run in all_runs(client(workspace), experiment_ids):
            counts[run.info.experiment_id] = counts.get(run.info.experiment_id, 0) + 1
    except Exception as exc:
        raise TrackingError(f"could not count runs on {workspace.tracking_uri}: {_one_line(exc)}") from exc
    return counts


def run_summaries(workspace: Workspace, experiment_id: str) -> list[RunSummary]:
    """Every active run of an experiment, oldest first, with each metric's best and last value."""
    if local_store_missing(workspace):
        return []
    try:
        mlflow_client = client(workspace)
        runs = list(all_runs(mlflow_client, [experiment_id]))
        summaries = [_summarise_run(mlflow_client, run) for run in runs]
    except Exception as exc:
        raise TrackingError(f"could not read runs from {workspace.tracking_uri}: {_one_line(exc)}") from exc
    return sorted(summaries, key=lambda run: run.start_time or 0)


def all_runs(mlflow_client: MlflowClient, experiment_ids: list[str]):
    """Every run of these experiments, page by page (the store caps a page at 1,000)."""
    token = None
    while True:
        page = mlflow_client.search_runs(experiment_ids, max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _summarise_run(mlflow_client: MlflowClient, run: Any) -> RunSummary:
    metrics = {}
    for key in run.data.metrics:
        history = mlflow_client.get_metric_history(run.info.run_id, key)
        if history:
            metrics[key] = summarise_metric(key, [(point.step, point.value, point.timestamp) for point in history])
    tags = {key: value for key, value in run.data.tags.items() if not key.startswith("mlflow.")}
    return RunSummary(id=run.info.run_id, name=run.info.run_name or run.info.run_id[:8], status=run.info.status,
                      start_time=run.info.start_time, end_time=run.info.end_time, params=dict(run.data.params),
                      metrics=metrics, tags=tags)


def metric_goal(name: str) -> str:
    words = name.lower().replace("-", "_").replace("/", "_").split("_")
    return "min" if any(word in _SMALLER_IS_BETTER for word in words) else "max"


def summarise_metric(name: str, points: list[tuple[int, float, int]]) -> MetricSummary:
    """Best (by the metric's goal) and last (by step, then time) of a metric's history."""
    goal = metric_goal(name)
    finite = [point for point in points if point[1] == point[1]] or points  # NaN never wins
    pick = min if goal == "min" else max
    best = pick(finite, key=lambda point: point[1])
    last = max(points, key=lambda point: (point[0], point[2]))
    return MetricSummary(best=best[1], best_step=best[0], last=last[1], last_step=last[0], goal=goal)


def artifact_uri_to_path(uri: str) -> Path | None:
    """A local file:// artifact location as a path (None for remote stores)."""
    if not uri.startswith("file:"):
        return None
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
