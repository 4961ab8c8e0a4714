"""`sabbatical lab` and `sabbatical mlflow` really start, answer on 127.0.0.1, and stop by process group."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from sabbatical.errors import ExitCode
from sabbatical.sprints.scaffold import create_sprint
from tests.helpers.services import free_port, stop_group, wait_for_http

pytestmark = pytest.mark.slow


def start(args: list[str], workspace) -> subprocess.Popen:
    env = {**os.environ, "SABBATICAL_WORKSPACE": str(workspace.root)}
    return subprocess.Popen(
        [sys.executable, "-m", "sabbatical", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )


def printed_url(process: subprocess.Popen) -> str:
    for _ in range(5):
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+\S*", line)
        if match:
            return match.group(0)
    raise AssertionError("no URL printed")


def group_is_gone(pgid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def port_closes(port: int, timeout: float = 15.0) -> bool:
    """True once nothing listens on the port: the server itself (in its own group) has stopped too."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.2)
    return False


def test_lab_starts_in_the_sprint_with_a_token_and_stops(workspace):
    sprint = create_sprint(workspace, "Does the lab open?").sprint
    port = free_port()
    process = start(["lab", "1", "--port", str(port), "--no-browser"], workspace)
    try:
        url = printed_url(process)
        assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/notebooks?token=")
        token = url.split("token=", 1)[1]
        status_url = f"http://127.0.0.1:{port}/api/status?token={token}"
        wait_for_http(status_url, timeout=120, process=process)
        with urllib.request.urlopen(status_url) as response:
            assert "kernels" in json.loads(response.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/notebooks?token={token}") as response:
            names = {entry["name"] for entry in json.loads(response.read())["content"]}
        assert names == {"01-explore.ipynb", "02-experiment.ipynb"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status")
        assert refused.value.code == 403
    finally:
        stop_group(process)
    assert group_is_gone(process.pid) and port_closes(port)
    assert sprint.folder.is_dir()


def test_mlflow_serves_the_workspace_store_and_stops(workspace):
    create_sprint(workspace, "Does the UI show it?")
    port = free_port()
    process = start(["mlflow", "--port", str(port)], workspace)
    try:
        url = printed_url(process)
        assert url == f"http://127.0.0.1:{port}"
        wait_for_http(url + "/health", timeout=120, process=process)
        with urllib.request.urlopen(url + "/health") as response:
            assert response.read() == b"OK"
        query = url + "/api/2.0/mlflow/experiments/search?max_results=10"
        with urllib.request.urlopen(query) as response:
            names = {experiment["name"] for experiment in json.loads(response.read())["experiments"]}
        assert "Sprint 1 · Does the UI show it?" in names  # the name a person recognises
    finally:
        stop_group(process)
    assert group_is_gone(process.pid) and port_closes(port)


def test_a_busy_port_is_refused_in_one_line(workspace, cli):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("-w", workspace.root, "mlflow", "--port", str(port))
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr == f"Error: port {port} on 127.0.0.1 is in use — pick another with --port\n"


def test_mlflow_refuses_a_remote_store(workspace, cli):
    config = workspace.config_path.read_text().replace('uri = ""', 'uri = "http://127.0.0.1:9"', 1)
    workspace.config_path.write_text(config)
    result = cli("-w", workspace.root, "mlflow")
    assert result.exit_code == ExitCode.ERROR and "has its own UI" in result.stderr
