"""Running the real `sabbatical` command in a subprocess, and killing it at a chosen moment.

The kill points are conditions on what the process has written (rows in the pile, files in a folder),
polled until they hold, never fixed sleeps: on a loaded machine a slow start only delays the kill, it
never moves it to a different phase of the work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.01
PATIENCE_SECONDS = 240.0  # how long a condition may take to come true on a slow, shared machine


def cli_command(workspace: Any, *args: str) -> list[str]:
    return [sys.executable, "-m", "sabbatical", "--workspace", str(workspace.root), *map(str, args)]


def cli_env(**extra: str) -> dict[str, str]:
    """The test's environment (HOME and the rest already isolated by the autouse fixture) plus `extra`."""
    env = dict(os.environ)
    env.pop("SABBATICAL_DEBUG", None)
    env.update(extra)
    return env


def run_cli(
    workspace: Any,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess:
    """Run `sabbatical --workspace WS ARGS…` to the end; stdout and stderr captured as text."""
    return subprocess.run(
        cli_command(workspace, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
        preexec_fn=preexec_fn,
    )


def start_cli(workspace: Any, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        cli_command(workspace, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or cli_env()
    )


def kill_when(process: subprocess.Popen, condition: Callable[[], bool], patience: float = PATIENCE_SECONDS) -> bool:
    """SIGKILL `process` as soon as `condition()` holds; False when the process ended first.

    The process must not run past `patience` without either happening (that would be a hang).
    """
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if condition():
            os.kill(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)
            return process.returncode == -signal.SIGKILL
        time.sleep(POLL_SECONDS)
    process.kill()
    process.communicate(timeout=60)
    raise AssertionError(f"neither the kill condition nor the end of the process within {patience:.0f} s")


def wait_until(condition: Callable[[], bool], what: str, patience: float = PATIENCE_SECONDS) -> None:
    deadline = time.monotonic() + patience
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {patience:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS * 5)


def assert_clean_failure(output: str, *, allowed_prefixes: Sequence[str] = ("Error: ", "  - ", "Warning: ")) -> None:
    """stderr of a failing command: no traceback, and every line one of the documented shapes."""
    assert "Traceback" not in output, output
    for line in output.splitlines():
        if line.strip():
            assert line.startswith(tuple(allowed_prefixes)), f"unexpected stderr line: {line!r}\n{output}"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error: ")]


def tree_digest(folder: Path) -> dict[str, str]:
    """relative path → sha256 of every file under `folder` (for "left exactly as it was" checks)."""
    import hashlib

    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
