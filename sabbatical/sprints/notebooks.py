"""Running a sprint's notebooks headless, on a real Jupyter kernel of the current Python.

The kernel is `python3`, which Jupyter maps to the interpreter running sabbatical whenever ipykernel is
installed (it is a dependency), so the notebook imports the same sabbatical. The kernel starts in the
notebook's folder with the workspace's environment, exactly as under `sabbatical lab`, and the executed
notebook (outputs included) is written back so the site can show it.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SabbaticalError

if TYPE_CHECKING:
    from ..workspace import Workspace

KERNEL = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class NotebookRun:
    path: Path
    seconds: float
    cells: int


def kernel_environment(workspace: Workspace, notebook: Path | None = None) -> dict[str, str]:
    """The environment a sprint's kernels get: the workspace, its tracking URI, a headless plot backend."""
    env = dict(os.environ)
    env["SABBATICAL_WORKSPACE"] = str(workspace.root)
    env["MLFLOW_TRACKING_URI"] = workspace.tracking_uri
    env.setdefault("MPLBACKEND", "Agg")
    if notebook is not None:
        env["JPY_SESSION_NAME"] = str(notebook)
    return env


def execute_notebook(workspace: Workspace, path: Path, *, timeout: int = 600, save: bool = True) -> NotebookRun:
    """Execute every cell of `path` on a fresh kernel; a failing cell is a SabbaticalError naming it."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    path = Path(path).resolve()
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    # Unix sockets in a private folder rather than TCP ports on localhost: nothing else can connect.
    with tempfile.TemporaryDirectory(prefix="sabbatical-kernel-") as sockets:
        sockets_config = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}})
        client = NotebookClient(notebook, config=sockets_config, timeout=timeout, kernel_name=KERNEL,
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute(env=kernel_environment(workspace, path))
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            raise SabbaticalError(f"{path.name} failed: {_first_line(exc)} — open it with `sabbatical lab` to "
                                  "see the cell (its outputs were saved)") from exc
        finally:
            if save:
                nbformat.write(notebook, path)
    code_cells = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    return NotebookRun(path, time.perf_counter() - started, code_cells)


def _first_line(exc: BaseException) -> str:
    if ename := getattr(exc, "ename", None):
        return f"{ename}: {getattr(exc, 'evalue', '')}".splitlines()[0][:300]
    # nbclient puts the cell source first and the error last; the last line says what went wrong.
    lines = [_ANSI.sub("", line).strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]
