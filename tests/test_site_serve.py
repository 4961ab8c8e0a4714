"""`site serve`: the built site on 127.0.0.1, rebuilt when a sprint changes; the tour ends with the site."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from sabbatical.site.serve import SiteServer, workspace_fingerprint
from tests.helpers.site_workspace import add_sprint

pytestmark = pytest.mark.slow


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def test_the_server_serves_the_site_and_rebuilds_when_the_journal_changes(workspace):
    sprint = add_sprint(workspace, "Does serving rebuild on change?", slug="serve")
    server = SiteServer(workspace, port=0, interval=0.2)
    assert server.rebuild().startswith("rebuilt")
    url = server.start()
    assert url.startswith("http://127.0.0.1:")
    events: list[str] = []
    watcher = threading.Thread(target=server.watch, args=(events.append,), daemon=True)
    watcher.start()
    try:
        page = f"{url}sprints/{sprint.name}/"
        assert "Does serving rebuild on change?" in _get(page)
        sprint.log("finding", "the watcher noticed this entry")
        deadline = time.monotonic() + 60
        while not events and time.monotonic() < deadline:
            time.sleep(0.2)
        assert events and events[0].startswith("rebuilt"), events
        assert "the watcher noticed this entry" in _get(page)
    finally:
        server.stop()
        watcher.join(timeout=10)
    assert not watcher.is_alive()


def test_an_edit_before_watching_begins_is_not_missed(workspace):
    """The served site reflects its last build: a change made after it and before the first poll rebuilds."""
    sprint = add_sprint(workspace, "Is an early edit seen?", slug="early")
    server = SiteServer(workspace, port=0, interval=0.1)
    server.rebuild()
    sprint.log("finding", "logged before the watcher started")
    events: list[str] = []
    watcher = threading.Thread(target=server.watch, args=(events.append,), daemon=True)
    watcher.start()
    try:
        deadline = time.monotonic() + 60
        while not events and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
        watcher.join(timeout=10)
    assert events and events[0].startswith("rebuilt"), events
    page = (workspace.site_dir / "sprints" / sprint.name / "index.html").read_text()
    assert "logged before the watcher started" in page


def test_the_fingerprint_ignores_what_the_build_itself_writes(workspace):
    add_sprint(workspace, "Is the fingerprint stable?", slug="stable")
    before = workspace_fingerprint(workspace)
    SiteServer(workspace, port=0).rebuild()
    assert workspace_fingerprint(workspace) == before


def test_site_serve_prints_its_loopback_url_and_stops_on_interrupt(workspace):
    process = subprocess.Popen(
        [sys.executable, "-m", "sabbatical", "--workspace", str(workspace.root), "site", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        serving = next(line for line in lines if line.startswith("Serving"))
        url = serving.split(" at ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:") and "<title>" in _get(url)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 130
