"""MLflow plumbing for sprints: one experiment per sprint, made when first needed; run summaries, best metrics.

Every call goes through an `MlflowClient` built with the workspace's absolute tracking URI, never
MLflow's process-global state, so a notebook in any working directory (or a remote `mlflow server`)
gets the same store. mlflow is imported inside functions: it costs two seconds or more, which is why
`new-sprint` only writes the experiment's name into sprint.md and never loads it. The experiment itself
is made (get-or-create) by the first tracked run, `sabbatical lab` or `sabbatical mlflow`, and its id is
then written into sprint.md for everything that reads runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TrackingError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from ..workspace import Workspace
    from .model import Sprint, SprintMeta

TAG_PREFIX = "sabbatical."
# MLflow 3's UI opens an experiment of this kind on its runs table (without it, on the GenAI overview).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
NAME_QUESTION_MAX = 60
# A metric's goal, when the researcher said it (`track.metric(name, value, goal="min")`), is this run tag.
GOAL_TAG_PREFIX = TAG_PREFIX + "goal."
GOALS = ("min", "max")


@dataclass
class MetricSummary:
    best: float
    best_step: int
    last: float
    last_step: int
    goal: str | None  # "min" or "max" as the researcher said; None (best = last) when nobody did
    points: int = 1


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


def experiment_name(number: int | str, question: str) -> str:
    """What the MLflow UI lists: "Sprint 3 · Do induction heads form at the same step…", cut between words."""
    text = " ".join(question.split())
    if len(text) > NAME_QUESTION_MAX:
        cut = text[: NAME_QUESTION_MAX + 1].rsplit(" ", 1)[0] if " " in text[: NAME_QUESTION_MAX + 1] else ""
        text = (cut or text[:NAME_QUESTION_MAX]).rstrip(",;:.!?-–— ") + "…"
    return f"Sprint {int(number)} · {text}"


def sprint_experiment_name(meta: SprintMeta) -> str:
    """The name recorded in sprint.md, or (for a sprint.md written without one) the name it would get."""
    return meta.mlflow_experiment or experiment_name(meta.id, meta.question)


def client(workspace: Workspace) -> MlflowClient:
    """An MlflowClient on the workspace's store; a local store is built (or checked) one process at a time."""
    _quiet_mlflow_logs()
    from mlflow import MlflowClient

    from .model import folder_lock

    store = local_sqlite_path(workspace)
    if store is None:
        return MlflowClient(tracking_uri=workspace.tracking_uri)
    # Two processes opening a new SQLite store at once both run MLflow's migrations and one fails; the
    # file appears before its tables do, so the lock on its folder is taken whether or not it exists.
    store.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(store.parent):
        mlflow_client = MlflowClient(tracking_uri=workspace.tracking_uri)
        mlflow_client.search_experiments(max_results=1)  # MLflow builds or upgrades its tables on first use
    return mlflow_client


def local_sqlite_path(workspace: Workspace) -> Path | None:
    uri = workspace.tracking_uri
    if not uri.startswith("sqlite:///"):
        return None
    from urllib.parse import unquote

    return Path(unquote(uri[len("sqlite:///") :]))


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
        f"{TAG_PREFIX}sprint": meta.id,
        f"{TAG_PREFIX}folder": folder_name,
        f"{TAG_PREFIX}question": meta.question[:4000],
        f"{TAG_PREFIX}start": meta.start.isoformat(),
        f"{TAG_PREFIX}end": meta.end.isoformat(),
        f"{TAG_PREFIX}status": meta.status,
        f"{TAG_PREFIX}private": "true" if meta.private else "false",
        f"{TAG_PREFIX}workspace": str(workspace.root),
        "mlflow.note.content": _description(meta),
        EXPERIMENT_KIND_TAG: EXPERIMENT_KIND,
    }
    if meta.hypothesis:
        tags[f"{TAG_PREFIX}hypothesis"] = meta.hypothesis[:4000]
    if meta.answer:
        tags[f"{TAG_PREFIX}answer"] = meta.answer
    if meta.closed:
        tags[f"{TAG_PREFIX}closed"] = meta.closed.isoformat()
    return tags


def _description(meta: SprintMeta) -> str:
    lines = [f"**Sprint {meta.id}** ({meta.start} → {meta.end}): {meta.question}"]
    if meta.hypothesis:
        lines.append(f"\n\nHypothesis: {meta.hypothesis}")
    return "".join(lines)[:4000]


def ensure_sprint_experiment(sprint: Sprint, mlflow_client: MlflowClient | None = None) -> str:
    """The sprint's experiment id: the one in sprint.md, else the experiment made (or found) now, whose id
    is then written into sprint.md."""
    meta = sprint.meta
    if meta.mlflow_experiment_id:
        return meta.mlflow_experiment_id
    mlflow_client = mlflow_client or client(sprint.workspace)
    experiment_id = get_or_create_experiment(sprint.workspace, mlflow_client, sprint.name, meta)
    sprint.record_experiment_id(experiment_id)
    return experiment_id


def find_sprint_experiment(sprint: Sprint) -> str | None:
    """The sprint's experiment id without creating anything (None when nothing was tracked yet)."""
    meta = sprint.meta
    if meta.mlflow_experiment_id or local_store_missing(sprint.workspace):
        return meta.mlflow_experiment_id
    try:
        found = client(sprint.workspace).get_experiment_by_name(sprint_experiment_name(meta))
    except Exception as exc:
        raise TrackingError(
            f"could not look up the sprint's experiment on {sprint.workspace.tracking_uri}: {_one_line(exc)}"
        ) from exc
    return found.experiment_id if found is not None and _ours(sprint.workspace, found) else None


def get_or_create_experiment(
    workspace: Workspace, mlflow_client: MlflowClient, folder_name: str, meta: SprintMeta
) -> str:
    """The sprint's experiment, created with its tags and artifact location unless it exists.

    Another process creating it at the same moment is fine (its experiment is used). One of that name
    left from this workspace (deleted or not) is restored and reused; one from elsewhere is an error,
    never silently shared.
    """
    name = sprint_experiment_name(meta)
    tags = experiment_tags(workspace, folder_name, meta)
    try:
        existing = mlflow_client.get_experiment_by_name(name)
        if existing is None:
            try:
                return mlflow_client.create_experiment(
                    name, artifact_location=experiment_artifact_location(workspace, folder_name), tags=tags
                )
            except Exception as exc:
                if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                    raise
            existing = mlflow_client.get_experiment_by_name(name)  # made by another process just now
            if existing is None:
                raise TrackingError(f"MLflow said experiment {name!r} exists, but it cannot be found")
    except TrackingError:
        raise
    except Exception as exc:
        raise TrackingError(
            f"could not create the MLflow experiment {name!r} on {workspace.tracking_uri}: "
            f"{_one_line(exc)} — check [tracking] uri in sabbatical.toml"
        ) from exc
    return _reuse(workspace, mlflow_client, existing, tags)


def _ours(workspace: Workspace, experiment: Any) -> bool:
    return experiment.tags.get(f"{TAG_PREFIX}workspace") == str(workspace.root)


def _reuse(workspace: Workspace, mlflow_client: MlflowClient, existing: Any, tags: dict[str, str]) -> str:
    if not _ours(workspace, existing):
        raise TrackingError(
            f"an MLflow experiment named {existing.name!r} already exists on "
            f"{workspace.tracking_uri} and belongs to another workspace — give this sprint "
            "another one in its sprint.md (mlflow_experiment: …)"
        )
    if existing.lifecycle_stage == "deleted":
        try:
            mlflow_client.restore_experiment(existing.experiment_id)
        except Exception as exc:
            raise TrackingError(f"could not restore MLflow experiment {existing.name!r}: {_one_line(exc)}") from exc
    changed = {key: value for key, value in tags.items() if existing.tags.get(key) != value}
    if changed:
        set_experiment_tags(workspace, existing.experiment_id, changed, mlflow_client)
    return existing.experiment_id


def set_experiment_tags(
    workspace: Workspace, experiment_id: str, tags: dict[str, str], mlflow_client: MlflowClient | None = None
) -> None:
    try:
        mlflow_client = mlflow_client or client(workspace)
        for key, value in tags.items():
            mlflow_client.set_experiment_tag(experiment_id, key, value)
    except Exception as exc:
        raise TrackingError(f"could not tag MLflow experiment {experiment_id}: {_one_line(exc)}") from exc


def runs_url(server_url: str, experiment_id: str) -> str:
    """The MLflow UI page listing an experiment's runs."""
    return f"{server_url.rstrip('/')}/#/experiments/{experiment_id}/runs"


def run_summaries(workspace: Workspace, experiment_id: str) -> list[RunSummary]:
    """Every active run of an experiment, oldest first, with each metric's best and last value."""
    if local_store_missing(workspace):
        return []
    try:
        mlflow_client = client(workspace)
        runs = list(all_runs(mlflow_client, [experiment_id]))
        summaries = [_summarise_run(mlflow_client, run, workspace) for run in runs]
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


def _summarise_run(mlflow_client: MlflowClient, run: Any, workspace: Workspace | None = None) -> RunSummary:
    from . import mlflow_store  # reads the local store without MLflow; imports this module

    return mlflow_store.summary_of(workspace, mlflow_store.from_mlflow(mlflow_client, run))


def metric_goal(
    name: str, run_tags: dict[str, str] | None = None, declared: dict[str, str] | None = None
) -> str | None:
    """The metric's goal as the researcher said it: on the run (`track.metric(…, goal=)`), else in
    `[sprints] metrics`; None when neither says (no guess from the name: "time" may be better larger)."""
    for said in ((run_tags or {}).get(GOAL_TAG_PREFIX + name), (declared or {}).get(name)):
        if str(said or "").strip().lower() in GOALS:
            return str(said).strip().lower()
    return None


def summarise_run_metric(
    workspace: Workspace | None, run_tags: dict[str, str], name: str, points: list[tuple[int, float, int]]
) -> MetricSummary:
    """A run's metric summarised with the goal its run or the workspace's settings give it."""
    declared = workspace.config.sprints.metrics if workspace is not None else None
    return summarise_metric(name, points, goal=metric_goal(name, run_tags, declared))


def summarise_metric(name: str, points: list[tuple[int, float, int]], goal: str | None = None) -> MetricSummary:
    """Best (by the metric's goal; with no goal, the last value) and last (by step, then time) of a history."""
    last = max(points, key=lambda point: (point[0], point[2]))
    best = last
    if goal in GOALS:
        finite = [point for point in points if point[1] == point[1]] or points  # NaN never wins
        pick = min if goal == "min" else max
        best = pick(finite, key=lambda point: point[1])
    return MetricSummary(
        best=best[1], best_step=best[0], last=last[1], last_step=last[0], goal=goal, points=len(points)
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
