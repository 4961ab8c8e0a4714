"""Running a sprint's notebooks headless, on a real Jupyter kernel of the current Python.

The kernel is `python3`, which Jupyter maps to the interpreter running sabbatical whenever ipykernel is
installed (it is a dependency), so the notebook imports the same sabbatical. The kernel starts in the
notebook's folder with the workspace's environment, exactly as under `sabbatical lab`, and the executed
notebook (outputs included) is written back so the site can show it (or to another path).

`sabbatical sprint run` (`run_notebook`) is one *execution*: it gets an id, which the kernel's
`sabbatical.track` writes on every entry and run. Before the kernel starts, what earlier executions of
the same notebook logged is marked superseded, so a re-run replaces its findings instead of adding to
them. Parameters are injected as papermill does (papermill's own `parameterize_notebook`): a cell tagged
`injected-parameters` after the cell tagged `parameters`, replaced on every run and removed when a run
gives none, so the saved notebook always shows the values it ran with.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFound, SabbaticalError, UsageError

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .journal import JournalEntry
    from .model import Sprint

KERNEL = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class NotebookRun:
    path: Path
    seconds: float
    cells: int


@dataclass
class ExecutedRun:
    id: str
    name: str
    status: str  # FINISHED, FAILED, KILLED, or RUNNING when the kernel died with it open


@dataclass
class NotebookExecution:
    """One `sprint run`: what it ran, where the executed copy is, and what it logged."""

    notebook: str
    output: Path
    execution: str
    parameters: dict[str, Any]
    seconds: float
    superseded: int  # entries of earlier executions this one replaced
    runs: list[ExecutedRun] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)
    error: str | None = None


def kernel_environment(
    workspace: Workspace, notebook: Path | None = None, execution: str | None = None
) -> dict[str, str]:
    """The environment a sprint's kernels get: the workspace, its tracking URI, a headless plot backend."""
    env = dict(os.environ)
    env["SABBATICAL_WORKSPACE"] = str(workspace.root)
    env["MLFLOW_TRACKING_URI"] = workspace.tracking_uri
    env.setdefault("MPLBACKEND", "Agg")
    if notebook is not None:
        env["JPY_SESSION_NAME"] = str(notebook)
    from ..track import EXECUTION_VARIABLE

    env.pop(EXECUTION_VARIABLE, None)
    if execution is not None:
        env[EXECUTION_VARIABLE] = execution
    return env


def execute_notebook(
    workspace: Workspace,
    path: Path,
    *,
    timeout: int = 600,
    save: bool = True,
    parameters: dict[str, Any] | None = None,
    output: Path | None = None,
    execution: str | None = None,
) -> NotebookRun:
    """Execute every cell of `path` on a fresh kernel; a failing cell is a SabbaticalError naming it.

    The executed notebook is saved over `path` (or to `output`) with `parameters` injected papermill-style.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    path = Path(path).resolve()
    notebook = inject_parameters(nbformat.read(path, as_version=4), parameters or {})
    target = Path(output).resolve() if output is not None else path
    started = time.perf_counter()
    # Unix sockets in a private folder rather than TCP ports on localhost: nothing else can connect.
    with tempfile.TemporaryDirectory(prefix="sabbatical-kernel-") as sockets:
        sockets_config = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}})
        client = NotebookClient(
            notebook,
            config=sockets_config,
            timeout=timeout,
            kernel_name=KERNEL,
            resources={"metadata": {"path": str(path.parent)}},
        )
        try:
            client.execute(env=kernel_environment(workspace, path, execution))
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            raise SabbaticalError(
                f"{path.name} failed: {_first_line(exc)} — open it with `sabbatical lab` to "
                "see the cell (its outputs were saved)"
            ) from exc
        finally:
            if save:
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, target)
    code_cells = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    return NotebookRun(target, time.perf_counter() - started, code_cells)


def inject_parameters(notebook: Any, parameters: dict[str, Any]) -> Any:
    """The notebook with `parameters` injected as papermill does; with none, without an earlier injection."""
    if not parameters:
        notebook.cells = [
            cell for cell in notebook.cells if "injected-parameters" not in cell.get("metadata", {}).get("tags", [])
        ]
        return notebook
    from papermill.parameterize import parameterize_notebook

    notebook.metadata.setdefault("papermill", {})
    untagged = [cell for cell in notebook.cells if "tags" not in cell.metadata]
    for cell in untagged:  # papermill reads every cell's tags
        cell.metadata["tags"] = []
    injected = parameterize_notebook(notebook, parameters, kernel_name=KERNEL, language="python")
    for cell in untagged:
        cell.metadata.pop("tags", None)
    return injected


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs as papermill's `-p` reads them: numbers, true/false and lists typed, the rest text."""
    import yaml

    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, separator, raw = pair.partition("=")
        name = name.strip()
        if not separator or not name.isidentifier():
            raise UsageError(f"-p {pair!r}: write a parameter as name=value (name a Python identifier)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        parameters[name] = value if isinstance(value, (int, float, bool, str, list)) or value is None else raw
    return parameters


def run_notebook(
    sprint: Sprint,
    notebook: str | Path,
    *,
    parameters: dict[str, Any] | None = None,
    output: Path | None = None,
    timeout: int = 600,
) -> NotebookExecution:
    """Execute a sprint's notebook headless as a new execution that supersedes the notebook's earlier ones.

    A failing cell does not raise: the result's `error` says which, and what ran before it is reported.
    """
    from .journal import supersede_earlier

    path = notebook_in(sprint, notebook)
    execution = uuid.uuid4().hex[:12]
    superseded = supersede_earlier(sprint.journal_path, path.name, execution)
    started = time.perf_counter()
    error = None
    try:
        done = execute_notebook(
            sprint.workspace, path, timeout=timeout, parameters=parameters, output=output, execution=execution
        )
        target = done.path
    except SabbaticalError as exc:
        error, target = str(exc), Path(output).resolve() if output is not None else path
    return NotebookExecution(
        notebook=path.name,
        output=target,
        execution=execution,
        parameters=dict(parameters or {}),
        seconds=time.perf_counter() - started,
        superseded=len(superseded),
        runs=_runs_of(sprint, execution),
        entries=[entry for entry in sprint.journal() if entry.extra.get("execution") == execution],
        error=error,
    )


def notebook_in(sprint: Sprint, notebook: str | Path) -> Path:
    """The notebook named by a path, or by a name (with or without .ipynb) in the sprint's notebooks/."""
    given = Path(notebook)
    for candidate in (given, sprint.notebooks_dir / given, sprint.notebooks_dir / f"{given}.ipynb"):
        if candidate.is_file() and candidate.suffix == ".ipynb":
            return candidate.resolve()
    names = ", ".join(sorted(path.name for path in sprint.notebooks_dir.glob("*.ipynb"))) or "none"
    raise NotFound(f"no notebook {notebook} in sprints/{sprint.name}/notebooks/ (there: {names})")


def _runs_of(sprint: Sprint, execution: str) -> list[ExecutedRun]:
    from .journal import read_events

    ended = {event.get("run_id"): str(event.get("status")) for event in read_events(sprint.journal_path, "run-ended")}
    return [
        ExecutedRun(str(event["run_id"]), str(event.get("run_name", "")), ended.get(event["run_id"], "RUNNING"))
        for event in read_events(sprint.journal_path, "run-started")
        if event.get("execution") == execution and event.get("run_id")
    ]


def _first_line(exc: BaseException) -> str:
    if ename := getattr(exc, "ename", None):
        return f"{ename}: {getattr(exc, 'evalue', '')}".splitlines()[0][:300]
    # nbclient puts the cell source first and the error last; the last line says what went wrong.
    lines = [_ANSI.sub("", line).strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]
