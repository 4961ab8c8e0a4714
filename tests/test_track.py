"""`sabbatical.track`: runs that always end, metrics, figures, artifacts, and the journal, on real MLflow stores."""

from __future__ import annotations

import json
import os

import matplotlib
import pytest

from sabbatical import track
from sabbatical.errors import NotFound, SabbaticalError
from sabbatical.sprints.scaffold import create_sprint
from sabbatical.workspace import Workspace, init_workspace
from tests.helpers.services import mlflow_server
from tests.test_sprint_scaffold import shared_store_template, store_template_cache  # noqa: F401

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = pytest.mark.usefixtures("shared_store_template")


@pytest.fixture
def sprint(workspace, monkeypatch):
    """A fresh sprint, with the working directory in its notebooks folder (as a notebook's kernel has it)."""
    made = create_sprint(workspace, "Does the tracker track?").sprint
    monkeypatch.chdir(made.notebooks_dir)
    return made


def mlflow_client(workspace):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=workspace.tracking_uri)


def journal(sprint) -> list[dict]:
    return [json.loads(line) for line in sprint.journal_path.read_text().splitlines()]


def small_figure():
    fig, ax = plt.subplots()
    ax.plot([3, 2, 1])
    return fig


def test_a_run_records_params_metrics_figures_and_journal_entries(sprint, tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("a,b\n1,2\n")
    with track.run("baseline", params={"lr": 0.1, "layers": 2}) as run:
        for value in (0.9, 0.5, 0.4):
            track.metric("loss", value)
        track.metric("accuracy", 0.7, step=10)
        saved = track.figure(small_figure(), "loss curve")
        kept = track.artifact(table)
        track.failure("batch size 512 runs out of memory", why="8 GB GPU")
        track.finding("loss falls fastest at lr 0.1", evidence="runs baseline")
        track.note("tried on the laptop")

    assert saved == sprint.artifacts_dir / "loss-curve.png" and saved.stat().st_size > 0
    assert kept == sprint.artifacts_dir / "table.csv" and kept.read_text() == "a,b\n1,2\n"
    client = mlflow_client(sprint.workspace)
    recorded = client.get_run(run.id)
    assert recorded.info.status == "FINISHED" and recorded.info.run_name == "baseline"
    assert recorded.info.experiment_id == sprint.meta.mlflow_experiment_id
    assert recorded.data.params == {"lr": "0.1", "layers": "2"}
    assert [(m.step, m.value) for m in client.get_metric_history(run.id, "loss")] == [(0, 0.9), (1, 0.5), (2, 0.4)]
    assert [(m.step, m.value) for m in client.get_metric_history(run.id, "accuracy")] == [(10, 0.7)]
    assert recorded.data.tags["sabbatical.failure.1"] == "batch size 512 runs out of memory"
    assert recorded.data.tags["sabbatical.finding.2"] == "loss falls fastest at lr 0.1"
    assert recorded.data.tags["sabbatical.sprint"] == sprint.id
    assert sorted(a.path for a in client.list_artifacts(run.id)) == ["figures", "table.csv"]
    assert [a.path for a in client.list_artifacts(run.id, "figures")] == ["figures/loss-curve.png"]

    entries = journal(sprint)
    assert [(e["kind"], e["text"]) for e in entries] == [
        ("failure", "batch size 512 runs out of memory"), ("finding", "loss falls fastest at lr 0.1"),
        ("note", "tried on the laptop")]
    assert entries[0]["why"] == "8 GB GPU" and entries[1]["evidence"] == "runs baseline"
    assert all(e["run_id"] == run.id and e["source"] == f"run:{run.id}" and e["private"] is False for e in entries)


def test_an_exception_fails_the_run_records_it_and_propagates(sprint):
    with pytest.raises(ZeroDivisionError):
        with track.run("doomed", params={"x": 1}) as run:
            track.metric("loss", 1.0)
            1 / 0
    client = mlflow_client(sprint.workspace)
    recorded = client.get_run(run.id)
    assert recorded.info.status == "FAILED"
    assert recorded.data.tags["sabbatical.error"] == "ZeroDivisionError: division by zero"
    error_file = client.download_artifacts(run.id, "error.txt")
    assert "ZeroDivisionError: division by zero" in open(error_file).read()
    (entry,) = journal(sprint)
    assert entry["kind"] == "failure" and entry["run_id"] == run.id
    assert entry["text"] == "run 'doomed' failed with ZeroDivisionError: division by zero"
    assert track.current_run() is None


def test_no_run_is_left_open(sprint):
    with track.run("outer") as outer:
        with track.run("inner") as inner:
            assert track.current_run() is inner
        assert track.current_run() is outer
    client = mlflow_client(sprint.workspace)
    assert {client.get_run(r.id).info.status for r in (outer, inner)} == {"FINISHED"}
    assert track.current_run() is None


def test_outside_a_run_entries_go_to_the_journal_only(sprint):
    entry = track.finding("no run needed for this", private=True)
    assert entry.private and entry.source == "python" and "run_id" not in entry.extra
    assert journal(sprint)[0]["private"] is True
    with pytest.raises(SabbaticalError, match=r"track.metric needs an open run"):
        track.metric("loss", 1.0)


def test_track_works_from_any_directory_with_the_sprint_named(workspace, tmp_path, monkeypatch):
    made = create_sprint(workspace, "Anywhere?").sprint
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SABBATICAL_WORKSPACE", str(workspace.root))
    with pytest.raises(NotFound, match="is not inside a sprint folder"):
        track.sprint()
    with track.run("remote-ish", sprint="1") as run:
        track.figure(small_figure(), "from-elsewhere")
    assert (made.artifacts_dir / "from-elsewhere.png").exists()
    assert not list(elsewhere.iterdir())  # nothing written to the working directory (no ./mlruns)
    assert mlflow_client(workspace).get_run(run.id).info.status == "FINISHED"
    assert track.sprint("anywhere").folder == made.folder


@pytest.mark.slow
def test_track_against_a_real_mlflow_server(tmp_path, cli, monkeypatch):
    with mlflow_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-artifacts") as url:
        workspace, _ = init_workspace(tmp_path / "team")
        config = workspace.config_path.read_text().replace('uri = ""', f'uri = "{url}"', 1)
        workspace.config_path.write_text(config)
        workspace = Workspace(workspace.root)  # read the edited config
        assert workspace.tracking_uri == url
        made = cli("-w", workspace.root, "new-sprint", "Does the shared server work?")
        assert made.exit_code == 0, made.stderr
        notebooks = workspace.sprints_dir / "01-does-the-shared-server-work" / "notebooks"
        monkeypatch.chdir(notebooks)
        with track.run("on the server", params={"where": "server"}) as run:
            track.metric("loss", 0.5)
            track.metric("loss", 0.25)
            track.figure(small_figure(), "served")
            track.finding("the server keeps everything")

        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=url)
        recorded = client.get_run(run.id)
        assert recorded.info.status == "FINISHED" and recorded.data.params == {"where": "server"}
        assert [m.value for m in client.get_metric_history(run.id, "loss")] == [0.5, 0.25]
        assert [a.path for a in client.list_artifacts(run.id, "figures")] == ["figures/served.png"]
        assert list((tmp_path / "server-artifacts").rglob("served.png"))  # uploaded through the server
        assert not workspace.mlflow_db_path.exists()  # nothing went to a local store

        listed = json.loads(cli("-w", workspace.root, "sprint", "list", "--json").stdout)
        assert (listed[0]["runs"], listed[0]["findings"]) == (1, 1)
        assert os.environ.get("MLFLOW_TRACKING_URI") is None  # track never sets global state
