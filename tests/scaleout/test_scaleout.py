"""Scale-out, exercised for real: the tour against a shared MLflow server on PostgreSQL and a remote
OpenAI-compatible inference endpoint, exactly as the README's scale-out section describes.

PostgreSQL comes from the distribution (scripts/system-deps installs it); the test skips with a reason
when it is missing, and fails instead under SABBATICAL_REQUIRE_CORPUS=1 (CI).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sabbatical.workspace import init_workspace
from tests.helpers.fake_openai import FakeOpenAI, configure_llm
from tests.helpers.services import mlflow_server, postgres_bin, postgres_server

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres_url():
    if postgres_bin() is None:
        message = "PostgreSQL is not installed (scripts/system-deps installs it on Debian)"
        if os.environ.get("SABBATICAL_REQUIRE_CORPUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with postgres_server() as url:
        yield url


def set_tracking_uri(root: Path, uri: str) -> None:
    path = root / "sabbatical.toml"
    text = path.read_text()
    text, count = re.subn(r'(?m)^(\[tracking\]\n(?:#.*\n)*)uri = ""', rf'\1uri = "{uri}"', text)
    assert count == 1
    path.write_text(text)


def test_the_tour_on_a_postgres_backed_mlflow_server_and_a_remote_endpoint(tmp_path, postgres_url):
    artifacts = tmp_path / "shared-artifacts"
    with mlflow_server(postgres_url, artifacts) as tracking_url, FakeOpenAI(model="team-model") as llm:
        workspace, _ = init_workspace(tmp_path / "team-ws", title="A team sabbatical")
        set_tracking_uri(workspace.root, tracking_url)
        configure_llm(workspace.root, base_url=llm.url, model="team-model")
        env = {**os.environ, "OPENAI_API_KEY": "sk-team-test-key-000000", "MPLBACKEND": "Agg"}

        done = subprocess.run(
            [sys.executable, "-m", "sabbatical", "tour", str(workspace.root)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr

        # Runs went to the server, whose store is PostgreSQL, and nothing fell back to a local store.
        assert not (workspace.root / "mlflow.db").exists()
        assert not (workspace.root / "mlartifacts").exists()
        from mlflow import MlflowClient

        client = MlflowClient(tracking_url)
        sprint_experiments = [e for e in client.search_experiments() if "sabbatical.sprint" in e.tags]
        assert sprint_experiments, [e.tags for e in client.search_experiments()]
        runs = client.search_runs([e.experiment_id for e in sprint_experiments])
        assert runs and all(run.info.status in ("FINISHED", "FAILED") for run in runs)
        assert any(run.data.metrics for run in runs)
        assert any(client.list_artifacts(run.info.run_id) for run in runs)
        assert any(artifacts.rglob("*.png")), "figures are stored by the server's artifact store"
        import psycopg

        with psycopg.connect(postgres_url) as pg:
            (count,) = pg.execute("SELECT COUNT(*) FROM runs").fetchone()
        assert count == len(client.search_runs([e.experiment_id for e in client.search_experiments()]))

        # Summaries came from the configured endpoint, never silently from the offline summariser.
        pile = sqlite3.connect(workspace.pile_path)
        producers = dict(pile.execute("SELECT producer, COUNT(*) FROM summaries WHERE status = 'ok' GROUP BY producer"))
        assert producers.get("llm", 0) > 0 and "offline" not in producers, producers
        calls = pile.execute("SELECT DISTINCT provider, model FROM llm_calls WHERE purpose = 'summarise'").fetchall()
        assert [tuple(row) for row in calls] == [(urlsplit(llm.url).netloc, "team-model")]
        assert llm.chat_requests
        assert "sk-team-test-key" not in done.stdout + done.stderr

        # The published site shows the runs read from the server.
        site_pages = "".join(p.read_text(errors="ignore") for p in (workspace.root / "site").rglob("*.html"))
        assert runs[0].info.run_name in site_pages
