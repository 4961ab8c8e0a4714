"""Where a tracked run came from: the notebook (or script) that opened it and the workspace's git commit.

These become MLflow's own source tags on the run (`mlflow.source.name`, `mlflow.source.type`,
`mlflow.source.git.commit`), so the MLflow UI shows them where it always does.

A kernel learns its notebook from `JPY_SESSION_NAME`: Jupyter Server sets it to the notebook's path when
it starts a kernel for it (absolute, or relative to the server's root when the client gives no file
name), and sabbatical sets it to the absolute path when it runs a notebook headless. A relative path is
looked up from the kernel's working directory (the notebook's folder) upward.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SESSION_VARIABLE = "JPY_SESSION_NAME"
GIT_TIMEOUT_SECONDS = 3.0


def notebook_path(cwd: Path | None = None) -> Path | None:
    """The notebook this kernel runs, when Jupyter (or sabbatical) said so and the file is there."""
    session = os.environ.get(SESSION_VARIABLE, "").strip()
    if not session:
        return None
    path = Path(session)
    if path.is_absolute():
        return path if path.is_file() else None
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / path).is_file():
            return (folder / path).resolve()
    return None


def script_path() -> Path | None:
    """The script Python was started with (None for `python -c`, a REPL or a kernel)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0 or argv0 in ("-c", "-m") or not argv0.endswith(".py"):
        return None
    path = Path(argv0).resolve()
    return path if path.is_file() else None


def shown_path(path: Path, root: Path) -> str:
    """The path relative to the workspace when it lies inside it (as the site and the UI show it)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def git_commit(folder: Path) -> str | None:
    """HEAD of the git repository holding `folder`; None without git, outside a repository, or on a timeout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) in (40, 64) else None


def source_tags(root: Path) -> dict[str, str]:
    """MLflow's source tags for a run opened now, in the workspace at `root`."""
    notebook = notebook_path()
    if notebook is not None:
        tags = {"mlflow.source.name": shown_path(notebook, root), "mlflow.source.type": "NOTEBOOK"}
    else:
        script = script_path()
        tags = {"mlflow.source.name": shown_path(script, root) if script else "python", "mlflow.source.type": "LOCAL"}
    commit = git_commit(root)
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags
