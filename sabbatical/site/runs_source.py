"""Reading the sprints' MLflow runs for the site: the runs table and the metric charts.

`MlflowClient(tracking_uri=workspace.tracking_uri)` (through `sabbatical.sprints.tracking.client`) is asked
once for the runs of every published sprint's experiment, then for each metric's full history, which the
charts need (the sprints library's run summaries keep only best and last). Best values use the sprints
library's own rule (`summarise_metric`), so the site and `sabbatical sprint status` agree. Every status is
kept, FAILED and KILLED included. A store that is unreachable is reported once; pages then say so.
For the workspace's own SQLite store the runs are cached, keyed by the store's file stamps, so a build
after no new run neither imports MLflow nor opens the store.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .cache import BuildCache, key_of
from .model import MetricPoint, SiteRun

if TYPE_CHECKING:
    from ..workspace import Workspace


def runs_by_experiment(workspace: Workspace, experiment_ids: list[str], problems: list[str],
                       cache: BuildCache | None = None) -> dict[str, list[SiteRun]]:
    """experiment id → its active runs (oldest first); empty when nothing is tracked yet."""
    from ..sprints import tracking

    wanted = [experiment for experiment in experiment_ids if experiment]
    found: dict[str, list[SiteRun]] = {experiment: [] for experiment in wanted}
    if not wanted or tracking.local_store_missing(workspace):
        return found
    key = _local_store_key(workspace, wanted)
    hit = cache.load("runs", key) if cache is not None and key else None
    if hit is not None:
        return {experiment: [_run_from(raw) for raw in runs] for experiment, runs in hit[1]["runs"].items()}
    try:
        client = tracking.client(workspace)
        for run in tracking.all_runs(client, wanted):
            found.setdefault(run.info.experiment_id, []).append(_site_run(client, run, tracking.summarise_metric))
    except Exception as exc:  # the store is someone else's process or file: report, never crash the build
        problems.append(f"MLflow runs could not be read from {workspace.tracking_uri} "
                        f"({type(exc).__name__}: {_first_line(exc)}) — the runs tables are empty in this build")
        return {experiment: [] for experiment in wanted}
    for runs in found.values():
        runs.sort(key=lambda run: run.start_ms or 0)
    if cache is not None and key:
        cache.store("runs", key, {"runs": {e: [asdict(run) for run in runs] for e, runs in found.items()}}, {})
    return found


def _local_store_key(workspace: Workspace, experiment_ids: list[str]) -> str | None:
    """For the workspace's own SQLite store, a key that changes with every write to it; None otherwise
    (a tracking server is always asked)."""
    if workspace.tracking_uri != f"sqlite:///{workspace.mlflow_db_path}":
        return None
    stamps = []
    for path in (workspace.mlflow_db_path, workspace.mlflow_db_path.with_name(workspace.mlflow_db_path.name + "-wal")):
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((path.name, stat.st_mtime_ns, stat.st_size))
    return key_of("runs", workspace.tracking_uri, experiment_ids, stamps)


def _run_from(raw: dict) -> SiteRun:
    history = {name: [MetricPoint(**point) for point in points] for name, points in raw.pop("history").items()}
    return SiteRun(**raw, history=history)


def _site_run(client: Any, run: Any, summarise_metric: Any) -> SiteRun:
    site_run = SiteRun(id=run.info.run_id, name=run.info.run_name or run.info.run_id[:8], status=run.info.status,
                       start_ms=run.info.start_time, end_ms=run.info.end_time, params=dict(run.data.params))
    for key in sorted(run.data.metrics):
        history = client.get_metric_history(run.info.run_id, key)
        if not history:
            continue
        summary = summarise_metric(key, [(point.step, point.value, point.timestamp) for point in history])
        site_run.best[key] = summary.best
        site_run.last[key] = summary.last
        site_run.history[key] = [MetricPoint(point.step, point.value) for point in history]
    return site_run


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""
