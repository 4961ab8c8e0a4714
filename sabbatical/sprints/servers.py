"""JupyterLab in a sprint folder and the MLflow UI on the workspace's store, bound to 127.0.0.1.

Each is described as a `ServerLaunch` (command, environment, folder, URL) and run by `serve`, which waits
for it and stops it cleanly on Ctrl-C. Both use the interpreter running sabbatical, so the lab's kernels
import the same sabbatical and track to the same store. Describing either makes the sprint's MLflow
experiment if it does not exist yet, so the UI lists it before the first run; when that fails the
server still starts (the first tracked run tries again) and the launch carries a warning.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SabbaticalError, TrackingError, UsageError
from . import tracking
from .notebooks import kernel_environment

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .model import Sprint

HOST = "127.0.0.1"
LAB_PORT = 8888
MLFLOW_PORT = 5000


@dataclass
class ServerLaunch:
    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    url: str
    sprint_runs_url: str | None = None  # the MLflow UI's page of the sprint's runs
    warnings: list[str] = field(default_factory=list)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def choose_port(requested: int | None, default: int) -> int:
    """The requested port (which must be free), or the first free one from the default upward."""
    if requested is not None:
        if not 0 < requested < 65536:
            raise UsageError(f"--port {requested} is not a port number (1–65535)")
        if not port_is_free(requested):
            raise SabbaticalError(f"port {requested} on {HOST} is in use — pick another with --port")
        return requested
    for port in range(default, default + 50):
        if port_is_free(port):
            return port
    raise SabbaticalError(f"no free port between {default} and {default + 49} on {HOST} — pass --port")


def lab_launch(
    workspace: Workspace, sprint: Sprint | None, *, port: int | None = None, open_browser: bool = True
) -> ServerLaunch:
    """JupyterLab in the sprint's folder (or the workspace root), with the workspace's environment."""
    folder = sprint.folder if sprint is not None else workspace.root
    chosen = choose_port(port, LAB_PORT)
    token = secrets.token_urlsafe(24)
    env = kernel_environment(workspace)
    env["JUPYTER_TOKEN"] = token  # in the environment, not argv, so `ps` does not show it
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={chosen}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={folder}",
        f"--ServerApp.open_browser={open_browser}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--ServerApp.allow_root=True")  # containers often run as root; Jupyter refuses unless told
    landing = "lab/tree/notebooks" if sprint is not None and sprint.notebooks_dir.is_dir() else "lab"
    launch = ServerLaunch("JupyterLab", command, env, folder, f"http://{HOST}:{chosen}/{landing}?token={token}")
    if sprint is not None:
        _make_experiment(sprint, launch)
    return launch


def _make_experiment(sprint: Sprint, launch: ServerLaunch) -> str | None:
    try:
        return tracking.ensure_sprint_experiment(sprint)
    except TrackingError as exc:
        launch.warnings.append(
            f"sprint {sprint.id}'s MLflow experiment is not made yet ({exc}); the first tracked run tries again"
        )
        return None


def mlflow_launch(workspace: Workspace, sprint: Sprint | None = None, *, port: int | None = None) -> ServerLaunch:
    """`mlflow server --workers 1` on the workspace's local store (a remote store already has its UI), with
    the address of `sprint`'s runs."""
    if tracking.is_remote(workspace):
        raise SabbaticalError(
            f"this workspace tracks to {workspace.tracking_uri}, which has its own UI — "
            "open that address; `sabbatical mlflow` serves only a local store"
        )
    chosen = choose_port(port, MLFLOW_PORT)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        workspace.tracking_uri,
        "--default-artifact-root",
        workspace.artifact_root,
        "--host",
        HOST,
        "--port",
        str(chosen),
        "--workers",
        "1",
    ]
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    # The server's background job runner (GenAI scoring, trace archival) starts a dozen processes that a
    # sprint tracker never uses; leave it off unless the user turned it on.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    launch = ServerLaunch("MLflow", command, env, workspace.root, f"http://{HOST}:{chosen}")
    experiment_id = _make_experiment(sprint, launch) if sprint is not None else None
    if experiment_id is not None:
        launch.sprint_runs_url = tracking.runs_url(launch.url, experiment_id)
    return launch


def serve(launch: ServerLaunch) -> int:
    """Run the server in the foreground until it exits, Ctrl-C or SIGTERM; return its exit code (0 when stopped).

    The server runs in its own process group, so stopping it stops its workers and kernels too; a
    SIGTERM or SIGHUP to sabbatical is turned into the same clean stop, so no server outlives the command.
    """
    process = subprocess.Popen(launch.command, env=launch.env, cwd=launch.cwd, start_new_session=True)
    previous = _interrupt_on((signal.SIGTERM, signal.SIGHUP))
    try:
        return process.wait()
    except KeyboardInterrupt:
        stop(process)
        return 0
    finally:
        if process.poll() is None:
            stop(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt_on(signals: tuple[signal.Signals, ...]) -> dict[signal.Signals, Any]:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous: dict[signal.Signals, Any] = {}
    for sig in signals:
        try:
            previous[sig] = signal.signal(sig, interrupt)
        except ValueError:  # not the main thread: the default handling stays
            pass
    return previous


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a server and every worker it started (they share its process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue
