"""Shared fixtures. Every test runs with HOME and the workspace isolated in its own tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers.httpserver import LoopbackServer

SECRET_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SABBATICAL_WORKSPACE",
    "SABBATICAL_DEBUG",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_ENABLE_WORKSPACES",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the real home, a real API key, or a workspace outside its tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh workspace made by `init_workspace`, in tmp_path/ws."""
    from sabbatical.workspace import init_workspace

    ws, _ = init_workspace(tmp_path / "ws", title="Test sabbatical")
    return ws


@pytest.fixture
def cli():
    """Run the real CLI in-process; returns the Result (exit_code, stdout, stderr)."""
    from sabbatical.cli import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def http_server(tmp_path: Path):
    """A LoopbackServer serving tmp_path/www (create files there) plus scripted routes."""
    root = tmp_path / "www"
    root.mkdir()
    server = LoopbackServer(root).start()
    yield server
    server.stop()


def corpus_dir() -> Path:
    return Path(os.environ.get("SABBATICAL_CORPUS", Path(__file__).resolve().parents[1].parent / "shared" / "corpus"))
