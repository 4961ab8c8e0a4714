"""Reading the sprints' MLflow runs for the site: the runs table and the metric charts.

The runs of every published sprint's experiment, each metric's full history included (the charts need it),
are read as `sprint status` reads them: from the workspace's local SQLite store with the standard library
(`sabbatical.sprints.mlflow_store`), so a build never imports MLflow for them (seconds of CPU), and through
`MlflowClient(tracking_uri=workspace.tracking_uri)` for any store that reader cannot read for certain (a
tracking server, a schema it does not know). Best values use the sprints library's own rule
(`summarise_run_metric`), so the site and `sabbatical sprint status` agree. Every status is kept, FAILED
and KILLED included. A store that is unreachable is reported once; pages then say so. For the workspace's
own SQLite store the runs are also cached, keyed by the store's file stamps, so a build after no new run
does not open the store.

A run tagged `sabbatical.publish = false` is left off the site: an MLflow param cannot be changed once
logged, so that tag (not deleting the run) is how a run holding a secret stays private. The tag is per run
and lives in the store, so it travels with the run to a shared tracking server and needs no config. A run
whose name, params or metric names hold a secret refuses the build, naming the run and that tag.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from .cache import BuildCache, key_of
from .model import MetricPoint, SiteRun

if TYPE_CHECKING:
    from ..sprints.mlflow_store import StoredRun
    from ..workspace import Workspace

PUBLISH_TAG = "sabbatical.publish"
_OFF = {"false", "no", "0", "off"}
KEEP_OFF_HINT = (
    f"an MLflow param cannot be changed once logged: keep the run off the site with the run tag "
    f'{PUBLISH_TAG} = false (in its notebook `mlflow.set_tag("{PUBLISH_TAG}", "false")`, or '
    f'`MlflowClient().set_tag("RUN_ID", "{PUBLISH_TAG}", "false")`, or in the MLflow UI), '
    "or delete the run, and build again"
)


def runs_by_experiment(
    workspace: Workspace, experiment_ids: list[str], problems: list[str], cache: BuildCache | None = None
) -> dict[str, list[SiteRun]]:
    """experiment id → its active runs (oldest first); empty when nothing is tracked yet."""
    from ..sprints import tracking

    wanted = [experiment for experiment in experiment_ids if experiment]
    found: dict[str, list[SiteRun]] = {experiment: [] for experiment in wanted}
    if not wanted or tracking.local_store_missing(workspace):
        return found
    key = _local_store_key(workspace, wanted)
    hit = cache.load("runs", key) if cache is not None and key else None
    if hit is not None:
        cached = {experiment: [_run_from(raw) for raw in runs] for experiment, runs in hit[1]["runs"].items()}
        refuse_secret_runs(cached)
        return cached
    try:
        for run in _stored_runs(workspace, wanted):
            if not kept_off_site(run.tags):
                found.setdefault(run.experiment_id, []).append(_site_run(workspace, run))
    except Exception as exc:  # the store is someone else's process or file: report, never crash the build
        problems.append(
            f"MLflow runs could not be read from {workspace.tracking_uri} "
            f"({type(exc).__name__}: {_first_line(exc)}) — the runs tables are empty in this build"
        )
        return {experiment: [] for experiment in wanted}
    for runs in found.values():
        runs.sort(key=lambda run: run.start_ms or 0)
    if cache is not None and key:
        cache.store("runs", key, {"runs": {e: [asdict(run) for run in runs] for e, runs in found.items()}}, {})
    refuse_secret_runs(found)
    return found


def _stored_runs(workspace: Workspace, experiment_ids: list[str]) -> list[StoredRun]:
    """The runs from the local store without MLflow when it can be read for certain, else through MLflow."""
    from ..sprints import mlflow_store, tracking

    stored = mlflow_store.stored_runs(workspace, experiment_ids)
    if stored is not None:
        return stored
    client = tracking.client(workspace)
    return [mlflow_store.from_mlflow(client, run) for run in tracking.all_runs(client, experiment_ids)]


def kept_off_site(tags: dict[str, str]) -> bool:
    """Whether the researcher tagged an MLflow run (whose tags these are) `sabbatical.publish = false`."""
    return str(tags.get(PUBLISH_TAG, "")).strip().lower() in _OFF


def refuse_secret_runs(runs: dict[str, list[SiteRun]]) -> None:
    """Raise SecretsInSite when a published run's name, params or metric names hold a secret."""
    from ..errors import SecretsInSite

    lines = [
        line for experiment, site_runs in runs.items() for run in site_runs for line in _secrets_of_run(run, experiment)
    ]
    if lines:
        raise SecretsInSite(lines, hint=KEEP_OFF_HINT)


def _secrets_of_run(run: SiteRun, experiment: str) -> list[str]:
    from . import secrets

    name_kinds = secrets.scan_text(run.name)
    shown = "" if name_kinds else f" ({run.name[:80]!r})"
    places = [("the run's name", name_kinds)]
    for key, value in sorted(run.params.items()):
        where = "a param whose name holds a secret" if secrets.scan_text(key) else f"param {key[:80]!r}"
        places.append((where, secrets.scan_text(f"{key}={value}")))
    places += [("a metric's name", secrets.scan_text(metric)) for metric in sorted(run.best)]
    return [
        f"MLflow run {run.id}{shown} in experiment {experiment}: {what} in {where}"
        for where, kinds in places
        for what in kinds
    ]


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
    return key_of("runs-v2", workspace.tracking_uri, experiment_ids, stamps)  # v2: goals and notebook kept


def _run_from(raw: dict) -> SiteRun:
    history = {name: [MetricPoint(**point) for point in points] for name, points in raw.pop("history").items()}
    return SiteRun(**raw, history=history)


def _site_run(workspace: Workspace, run: StoredRun) -> SiteRun:
    from ..sprints.tracking import summarise_run_metric

    site_run = SiteRun(
        id=run.id, name=run.name, status=run.status, start_ms=run.start_time, end_ms=run.end_time, params=run.params
    )
    for key in sorted(run.history):
        points = run.history[key]
        summary = summarise_run_metric(workspace, run.tags, key, points)  # each goal as the researcher said it
        site_run.best[key] = summary.best
        site_run.last[key] = summary.last
        site_run.history[key] = [MetricPoint(step, value) for step, value, _ in points]
        if summary.goal:
            site_run.goals[key] = summary.goal
    source = str(run.tags.get("mlflow.source.name") or "")
    site_run.notebook = source.replace("\\", "/").rsplit("/", 1)[-1]
    return site_run


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""
