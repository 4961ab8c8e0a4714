"""`sabbatical.track`: the notebook API for sprints.

    from sabbatical import track

    with track.run("baseline", params={"lr": 0.1}) as run:
        for step, loss in enumerate(losses):
            track.metric("loss", loss, step=step, goal="min")   # the goal makes "best" mean something
        track.figure(fig, "loss-curve")          # saved under the sprint's artifacts/ and logged to the run
        track.failure("lr 1.0 diverges", why="the loss doubled every step")
    track.finding("0.1 is the best rate", runs=["baseline"], figures=["loss-curve"], cites=["arxiv:2209.11895"])

The sprint is found from the working directory (a notebook's folder inside `sprints/NN-slug/`) or
given: `track.sprint("03")`. Runs go to the sprint's MLflow experiment through an `MlflowClient` on the
workspace's absolute tracking URI (a local store or a remote `mlflow server`), whatever the working
directory; the first run makes the experiment. Each run carries MLflow's source tags (the notebook,
relative to the workspace, and the workspace's git commit) and its start and end are journal events, so
the sprint counts its runs without asking MLflow. A run always ends: FINISHED, FAILED with the error
recorded (and a failure in the journal), or KILLED on an interrupt. Failures, findings and notes go to
the sprint journal and, inside a run, onto the run as tags.

Corrections and re-runs: each entry carries the notebook and the execution it came from (an execution
is one `sabbatical sprint run`, or one kernel). The first entry or run of a new execution of a notebook
marks what the notebook's earlier executions logged as superseded (a journal event; nothing is deleted),
so running a notebook again never doubles its findings. A finding may cite pile items (`cites=`) and name
its evidence (`runs=`, `figures=`); each is checked before anything is written. `example=True` marks a
template's demonstration entry: it is never published unless the researcher keeps it. Logging to a closed
sprint warns (`SprintClosedWarning`) and records the entry as logged after the close.
"""

from __future__ import annotations

import os
import re
import shutil
import traceback
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NotFound, SabbaticalError, TrackingError
from .sprints.journal import JournalEntry, record_event
from .sprints.model import Sprint, sprint_of_folder
from .workspace import Workspace, find_workspace

__all__ = [
    "SprintClosedWarning",
    "TrackedRun",
    "artifact",
    "current_run",
    "failure",
    "figure",
    "finding",
    "metric",
    "note",
    "run",
    "sprint",
]

_TAG_VALUE_MAX = 5000
_open_runs: list[TrackedRun] = []
EXECUTION_VARIABLE = "SABBATICAL_EXECUTION"
# Without `sabbatical sprint run` naming the execution, this process (a kernel) is one execution.
_PROCESS_EXECUTION = uuid.uuid4().hex[:12]
_begun_executions: set[tuple[str, str, str]] = set()


class SprintClosedWarning(UserWarning):
    """An entry or run went to a sprint that is closed; it is recorded as logged after the close."""


@dataclass
class TrackedRun:
    """An open run: its MLflow ids, its sprint, and the same verbs as the module (aimed at this run)."""

    id: str
    name: str
    experiment_id: str
    sprint: Sprint
    client: Any = field(repr=False)
    _next_step: dict[str, int] = field(default_factory=dict, repr=False)
    _journal_count: int = field(default=0, repr=False)
    _goals: dict[str, str] = field(default_factory=dict, repr=False)

    def metric(self, name: str, value: float, step: int | None = None, *, goal: str | None = None) -> None:
        if goal is not None:
            self._set_goal(name, goal)
        if step is None:
            step = self._next_step.get(name, 0)
        self._next_step[name] = step + 1
        self.client.log_metric(self.id, name, float(value), step=int(step))

    def _set_goal(self, name: str, goal: str) -> None:
        from .sprints.tracking import GOAL_TAG_PREFIX, GOALS

        if goal not in GOALS:
            raise SabbaticalError(f'goal={goal!r} for metric {name!r}: say "min" (smaller is better) or "max"')
        if self._goals.get(name) != goal:
            self.client.set_tag(self.id, GOAL_TAG_PREFIX + name, goal)
            self._goals[name] = goal

    def param(self, name: str, value: Any) -> None:
        self.client.log_param(self.id, name, _text(value))

    def figure(self, fig: Any, name: str) -> Path:
        return figure(fig, name, run=self)

    def artifact(self, path: str | os.PathLike, name: str | None = None) -> Path:
        return artifact(path, name, run=self)

    def failure(self, text: str, *, why: str | None = None, private: bool = False, **extra: Any) -> JournalEntry:
        return _journal("failure", text, run=self, private=private, why=why, **extra)

    def finding(self, text: str, *, evidence: str | None = None, private: bool = False, **extra: Any) -> JournalEntry:
        return _journal("finding", text, run=self, private=private, evidence=evidence, **extra)

    def note(self, text: str, *, private: bool = False, **extra: Any) -> JournalEntry:
        return _journal("note", text, run=self, private=private, **extra)

    def _tag_entry(self, entry: JournalEntry) -> None:
        self._journal_count += 1
        self.client.set_tag(self.id, f"sabbatical.{entry.kind}.{self._journal_count}", entry.text[:_TAG_VALUE_MAX])


def sprint(sprint_id: str | int | None = None, *, workspace: Workspace | str | os.PathLike | None = None) -> Sprint:
    """The sprint this notebook belongs to (from the working directory), or the one named."""
    ws = workspace if isinstance(workspace, Workspace) else find_workspace(workspace)
    if sprint_id is not None:
        return Sprint(ws, sprint_id)
    found = sprint_of_folder(ws, Path.cwd())
    if found is None:
        raise NotFound(
            f"{Path.cwd()} is not inside a sprint folder of {ws.root} — open the notebook from "
            'sprints/NN-slug/notebooks/, or name the sprint: track.sprint("03")'
        )
    return found


def _as_sprint(value: Sprint | str | int | None) -> Sprint:
    return value if isinstance(value, Sprint) else sprint(value)


def current_run() -> TrackedRun | None:
    """The innermost open run, if any."""
    return _open_runs[-1] if _open_runs else None


EXAMPLE_TAGS = {"sabbatical.example": "true", "sabbatical.publish": "false"}


@contextmanager
def run(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    sprint: Sprint | str | int | None = None,
    tags: dict[str, str] | None = None,
    example: bool = False,
) -> Iterator[TrackedRun]:
    """Open a run in the sprint's experiment; it ends FINISHED, or FAILED (re-raising) if the block raises.

    `example=True` marks a demonstration run (the template notebooks' toy runs): it is tagged
    `sabbatical.example` and `sabbatical.publish = false`, so the site leaves it out until the researcher
    keeps it by setting `sabbatical.publish` to true (in the MLflow UI, or `tags=` here)."""
    the_sprint = _as_sprint(sprint)
    opened = _start_run(the_sprint, name, params or {}, {**(EXAMPLE_TAGS if example else {}), **(tags or {})})
    _open_runs.append(opened)
    try:
        yield opened
    except KeyboardInterrupt:
        _end_run(opened, "KILLED")
        raise
    except BaseException as exc:
        _record_exception(opened, exc)
        _end_run(opened, "FAILED")
        raise
    else:
        _end_run(opened, "FINISHED")
    finally:
        _open_runs.remove(opened)


def _start_run(the_sprint: Sprint, name: str, params: dict[str, Any], tags: dict[str, str]) -> TrackedRun:
    from mlflow.entities import Param

    from .sprints import provenance, tracking

    workspace = the_sprint.workspace
    run_tags = {
        "sabbatical.sprint": the_sprint.id,
        "sabbatical.execution": _execution(),
        **provenance.source_tags(workspace.root),
        **{key: _text(value) for key, value in tags.items()},
    }
    try:
        mlflow_client = tracking.client(workspace)
    except Exception as exc:
        raise TrackingError(f"could not open the MLflow store {workspace.tracking_uri}: {_one_line(exc)}") from exc
    experiment_id = tracking.ensure_sprint_experiment(the_sprint, mlflow_client)
    try:
        created = mlflow_client.create_run(experiment_id, run_name=name, tags=run_tags)
    except Exception as exc:
        raise TrackingError(f"could not open run {name!r} on {workspace.tracking_uri}: {_one_line(exc)}") from exc
    opened = TrackedRun(created.info.run_id, name, experiment_id, the_sprint, mlflow_client)
    _begin_execution(the_sprint)
    record_event(
        the_sprint.journal_path,
        "run-started",
        run_id=opened.id,
        run_name=name,
        experiment_id=experiment_id,
        notebook=run_tags.get("mlflow.source.name"),
        notebook_name=_notebook(),
        execution=_execution(),
        after_close=True if the_sprint.meta.status == "closed" else None,
    )
    _warn_if_closed(the_sprint, f"run {name!r}")
    try:
        if params:
            mlflow_client.log_batch(opened.id, params=[Param(str(key), _text(value)) for key, value in params.items()])
    except BaseException:
        _end_run(opened, "FAILED")
        raise
    return opened


def _end_run(opened: TrackedRun, status: str) -> None:
    try:
        opened.client.set_terminated(opened.id, status)
    finally:
        record_event(opened.sprint.journal_path, "run-ended", run_id=opened.id, run_name=opened.name, status=status)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def _record_exception(opened: TrackedRun, exc: BaseException) -> None:
    """Write the error onto the run and into the journal; never hide the original exception."""
    summary = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    try:
        opened.client.set_tag(opened.id, "sabbatical.error", summary[:_TAG_VALUE_MAX])
        opened.client.log_text(opened.id, "".join(traceback.format_exception(exc)), "error.txt")
    except Exception:
        pass
    first, _, rest = summary.partition("\n")
    # The message is said once: its first line in the text, and only the lines after it (if any) as why.
    _journal(
        "failure",
        f"run {opened.name!r} failed with {first}",
        run=opened,
        private=False,
        tag=False,
        why=rest.strip()[:2000] or None,
    )


def metric(name: str, value: float, step: int | None = None, *, goal: str | None = None) -> None:
    """Log a metric to the open run; without `step`, steps count 0, 1, 2, … per metric name.

    `goal="min"` (smaller is better) or `"max"` says which value is the best; `sprint status` and the site
    mark a best only for metrics whose goal is said (here, or in `[sprints] metrics` of sabbatical.toml).
    """
    _require_run("metric").metric(name, value, step, goal=goal)


def figure(fig: Any, name: str, *, run: TrackedRun | None = None) -> Path:
    """Save a matplotlib figure as artifacts/NAME.png in the sprint, and log it to the open run (if any)."""
    opened = run or current_run()
    the_sprint = opened.sprint if opened else sprint()
    filename = _safe_name(name)
    if Path(filename).suffix.lower() not in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
        filename += ".png"
    target = the_sprint.artifacts_dir / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110, bbox_inches="tight")
    if opened:
        opened.client.log_artifact(opened.id, str(target), artifact_path="figures")
    return target


def artifact(path: str | os.PathLike, name: str | None = None, *, run: TrackedRun | None = None) -> Path:
    """Log a file or folder to the open run; a copy lands in the sprint's artifacts/ if it lives elsewhere."""
    opened = run or current_run()
    the_sprint = opened.sprint if opened else sprint()
    source = Path(path).resolve()
    if not source.exists():
        raise SabbaticalError(f"{source} does not exist — save the file first, then track.artifact(path)")
    kept = source
    if the_sprint.folder.resolve() not in source.parents:
        kept = the_sprint.artifacts_dir / _safe_name(name or source.name)
        kept.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, kept, dirs_exist_ok=True)
        else:
            shutil.copy2(source, kept)
    if opened:
        if source.is_dir():
            opened.client.log_artifacts(opened.id, str(source), artifact_path=name or source.name)
        else:
            opened.client.log_artifact(opened.id, str(source))
    return kept


def failure(text: str, *, why: str | None = None, private: bool = False, **extra: Any) -> JournalEntry:
    """Something that did not work, and why: into the journal, and onto the open run.

    Takes the same `cites=`, `runs=`, `figures=` and `example=` as `finding`.
    """
    return _journal("failure", text, run=current_run(), private=private, why=why, **extra)


def finding(text: str, *, evidence: str | None = None, private: bool = False, **extra: Any) -> JournalEntry:
    """Something learned, and what shows it: into the journal, and onto the open run.

    `cites=["arxiv:2209.11895"]` names pile items it builds on, `runs=["lr=0.4"]` (names or MLflow ids)
    and `figures=["loss-curve"]` the evidence; each is checked first (a SabbaticalError names one that does
    not exist, and nothing is written). `example=True` marks a demonstration that is never published
    unless kept (`sabbatical sprint log --keep N`).
    """
    return _journal("finding", text, run=current_run(), private=private, evidence=evidence, **extra)


def note(text: str, *, private: bool = False, **extra: Any) -> JournalEntry:
    """Anything worth remembering: into the journal, and onto the open run."""
    return _journal("note", text, run=current_run(), private=private, **extra)


def _journal(
    kind: str,
    text: str,
    *,
    run: TrackedRun | None,
    private: bool,
    tag: bool = True,
    cites: Any = None,
    runs: Any = None,
    figures: Any = None,
    example: bool = False,
    **extra: Any,
) -> JournalEntry:
    from .sprints.citations import check_evidence
    from .sprints.lifecycle import record_entry

    the_sprint = run.sprint if run else sprint()
    evidence = check_evidence(the_sprint, cites=cites, runs=runs, figures=figures)
    extra = {key: _text(value) for key, value in extra.items() if value is not None}
    if run:
        extra.update(run_id=run.id, run_name=run.name)
    _begin_execution(the_sprint)
    entry = record_entry(
        the_sprint,
        kind,
        text,
        source=f"run:{run.id}" if run else _source(),
        private=private,
        notebook=_notebook(),
        execution=_execution() if _notebook() else None,
        example=True if example else None,
        **evidence.fields(),
        **extra,
    )
    if entry.after_close:
        _warn_if_closed(the_sprint, f"this {kind}")
    if run and tag:
        run._tag_entry(entry)
    return entry


def _execution() -> str:
    return os.environ.get(EXECUTION_VARIABLE, "").strip() or _PROCESS_EXECUTION


def _begin_execution(the_sprint: Sprint) -> None:
    """The first entry or run of an execution of a notebook supersedes what its earlier executions logged."""
    from .sprints.journal import supersede_earlier

    notebook = _notebook()
    key = (str(the_sprint.journal_path), notebook or "", _execution())
    if notebook is None or key in _begun_executions:
        return
    supersede_earlier(the_sprint.journal_path, notebook, _execution())
    _begun_executions.add(key)


def _warn_if_closed(the_sprint: Sprint, what: str) -> None:
    if the_sprint.meta.status == "closed":
        warnings.warn(
            f"sprint {the_sprint.id} is closed: {what} is recorded as logged after the close, and the "
            f"retro is stale until the sprint is reopened (`sabbatical sprint reopen {the_sprint.id}`) "
            "or the entry kept (`sabbatical sprint log --keep N`)",
            SprintClosedWarning,
            stacklevel=4,
        )


def _require_run(verb: str) -> TrackedRun:
    opened = current_run()
    if opened is None:
        raise SabbaticalError(f'track.{verb} needs an open run — put it inside `with track.run("name"):`')
    return opened


def _notebook() -> str | None:
    """The notebook's path as Jupyter gives it to the kernel (None outside Jupyter)."""
    session = os.environ.get("JPY_SESSION_NAME")
    return Path(session).name if session else None


def _source() -> str:
    return _notebook() or "python"


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]+", "-", str(name)).strip("-.")
    if not cleaned:
        raise SabbaticalError(f"{name!r} is not usable as a file name — use letters, digits, dots and dashes")
    return cleaned


def _text(value: Any) -> str:
    return str(value)[:_TAG_VALUE_MAX]
