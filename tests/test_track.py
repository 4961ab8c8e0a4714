"""`sabbatical.track`: runs that always end, metrics, figures, artifacts, and the journal, on real MLflow stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import matplotlib
import pytest

from sabbatical import track
from sabbatical.errors import NotFound, SabbaticalError, TrackingError
from sabbatical.sprints import tracking
from sabbatical.sprints.scaffold import create_sprint
from sabbatical.workspace import Workspace, init_workspace
from tests.helpers.services import mlflow_server

matplotlib.use("Agg")
import matplotlib.pyplot as plt


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
    """The journal's entries (its run events left out)."""
    return [line for line in journal_lines(sprint) if "kind" in line]


def journal_lines(sprint) -> list[dict]:
    return [json.loads(line) for line in sprint.journal_path.read_text().splitlines()]


def small_figure():
    fig, ax = plt.subplots()
    ax.plot([3, 2, 1])
    return fig


def test_a_run_records_params_metrics_figures_and_journal_entries(sprint, tmp_path, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(sprint.notebooks_dir / "01-explore.ipynb"))
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
    assert recorded.data.tags["mlflow.source.name"] == f"sprints/{sprint.name}/notebooks/01-explore.ipynb"
    assert recorded.data.tags["mlflow.source.type"] == "NOTEBOOK"
    assert "mlflow.source.git.commit" not in recorded.data.tags  # the workspace is not a git repository
    assert sorted(a.path for a in client.list_artifacts(run.id)) == ["figures", "table.csv"]
    assert [a.path for a in client.list_artifacts(run.id, "figures")] == ["figures/loss-curve.png"]

    entries = journal(sprint)
    assert [(e["kind"], e["text"]) for e in entries] == [
        ("failure", "batch size 512 runs out of memory"),
        ("finding", "loss falls fastest at lr 0.1"),
        ("note", "tried on the laptop"),
    ]
    assert entries[0]["why"] == "8 GB GPU" and entries[1]["evidence"] == "runs baseline"
    assert all(e["run_id"] == run.id and e["source"] == f"run:{run.id}" and e["private"] is False for e in entries)


def test_an_exception_fails_the_run_records_it_and_propagates(sprint):
    with pytest.raises(ZeroDivisionError), track.run("doomed", params={"x": 1}) as run:
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
        experiment = client.get_experiment(recorded.info.experiment_id)
        assert experiment.name == "Sprint 1 · Does the shared server work?"
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

        listed = json.loads(cli("-w", workspace.root, "sprint", "list", "--json").stdout)
        assert (listed[0]["runs"], listed[0]["findings"]) == (1, 1)
        assert os.environ.get("MLFLOW_TRACKING_URI") is None  # track never sets global state


# -- the experiment, made at the first run ----------------------------------------------------------------
def test_the_first_run_makes_the_experiment_and_records_its_id(sprint):
    assert sprint.meta.mlflow_experiment_id is None and not sprint.workspace.mlflow_db_path.exists()
    before = sprint.sprint_md.read_text()
    with track.run("first") as run:
        pass
    meta = sprint.meta
    experiment = mlflow_client(sprint.workspace).get_experiment(meta.mlflow_experiment_id)
    assert run.experiment_id == meta.mlflow_experiment_id
    assert experiment.name == meta.mlflow_experiment == "Sprint 1 · Does the tracker track?"
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # the UI opens on its runs
    assert experiment.tags["sabbatical.sprint"] == "01" and experiment.tags["sabbatical.folder"] == sprint.name
    assert experiment.tags["sabbatical.question"] == "Does the tracker track?"
    assert experiment.tags["sabbatical.workspace"] == str(sprint.workspace.root)
    assert experiment.artifact_location == f"{sprint.workspace.artifact_root}/{sprint.name}"
    # only the id changed in sprint.md; every other line is as new-sprint wrote it
    after = sprint.sprint_md.read_text()
    assert after.replace(f"mlflow_experiment_id: '{meta.mlflow_experiment_id}'", "mlflow_experiment_id: null") == before
    with track.run("second") as again:
        pass
    assert again.experiment_id == run.experiment_id
    assert [e.name for e in mlflow_client(sprint.workspace).search_experiments() if e.name != "Default"] == [
        experiment.name
    ]


def test_run_start_and_end_are_journal_events_and_sprint_list_counts_them(sprint, cli):
    with track.run("ok") as ok:
        track.note("inside")
    with pytest.raises(RuntimeError), track.run("broken") as broken:
        raise RuntimeError("no")
    events = [(line["event"], line["run_id"], line.get("status")) for line in journal_lines(sprint) if "event" in line]
    assert events == [
        ("run-started", ok.id, None),
        ("run-ended", ok.id, "FINISHED"),
        ("run-started", broken.id, None),
        ("run-ended", broken.id, "FAILED"),
    ]
    assert [e["kind"] for e in journal(sprint)] == ["note", "failure"]
    listed = json.loads(cli("-w", sprint.workspace.root, "sprint", "list", "--json").stdout)
    assert (listed[0]["runs"], listed[0]["notes"], listed[0]["failures"]) == (2, 1, 1)


def test_another_process_making_the_experiment_first_is_fine(sprint):
    from mlflow import MlflowClient

    class SecondToCreate(MlflowClient):
        """Looks the name up a moment before another process creates the experiment."""

        looked = 0

        def get_experiment_by_name(self, name):
            self.looked += 1
            if self.looked == 1:
                MlflowClient(tracking_uri=self._tracking_client.tracking_uri).create_experiment(
                    name, tags={"sabbatical.workspace": str(sprint.workspace.root)}
                )
                return None
            return super().get_experiment_by_name(name)

    tracking.client(sprint.workspace)  # the store exists
    made = tracking.get_or_create_experiment(
        sprint.workspace, SecondToCreate(tracking_uri=sprint.workspace.tracking_uri), sprint.name, sprint.meta
    )
    experiment = mlflow_client(sprint.workspace).get_experiment(made)
    assert experiment.name == sprint.meta.mlflow_experiment
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # our tags added to theirs


FIRST_RUN = """
import sys
from sabbatical import track
with track.run(f"process-{sys.argv[1]}") as run:
    track.metric("loss", 1.0)
print(run.experiment_id)
"""


def test_first_runs_in_several_processes_at_once_share_one_experiment(workspace):
    made = create_sprint(workspace, "Do three kernels agree?").sprint
    env = {**os.environ, "SABBATICAL_WORKSPACE": str(workspace.root)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_RUN, str(number)],
            cwd=made.notebooks_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(3)
    ]
    results = [(process.wait(timeout=300), *process.communicate()) for process in processes]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    ids = {out.strip() for _, out, _ in results}
    assert ids == {made.meta.mlflow_experiment_id}
    runs = mlflow_client(workspace).search_runs(list(ids))
    assert sorted(run.info.run_name for run in runs) == ["process-0", "process-1", "process-2"]


def test_a_deleted_experiment_of_this_workspace_is_restored(sprint):
    client = tracking.client(sprint.workspace)
    orphan = client.create_experiment(
        sprint.meta.mlflow_experiment, tags={"sabbatical.workspace": str(sprint.workspace.root)}
    )
    client.delete_experiment(orphan)
    with track.run("after the orphan") as run:
        pass
    assert run.experiment_id == orphan == sprint.meta.mlflow_experiment_id
    assert mlflow_client(sprint.workspace).get_experiment(orphan).lifecycle_stage == "active"


def test_an_experiment_of_another_workspace_is_never_shared(sprint):
    tracking.client(sprint.workspace).create_experiment(
        sprint.meta.mlflow_experiment, tags={"sabbatical.workspace": "/somewhere/else"}
    )
    before = sprint.sprint_md.read_text()
    with pytest.raises(TrackingError, match="belongs to another workspace — give this sprint another one"):
        with track.run("refused"):
            pass
    assert sprint.sprint_md.read_text() == before
    assert not [line for line in journal_lines(sprint) if line.get("event") == "run-started"]


def test_an_unreachable_store_fails_the_first_run_not_new_sprint(workspace, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    config = workspace.config_path.read_text().replace('uri = ""', f'uri = "sqlite:///{blocker}/mlflow.db"', 1)
    workspace.config_path.write_text(config)
    made = create_sprint(Workspace(workspace.root), "Will this be tracked?").sprint
    monkeypatch.chdir(made.notebooks_dir)
    before = made.sprint_md.read_text()
    with pytest.raises(TrackingError) as failed, track.run("nowhere"):
        pass
    assert str(failed.value).startswith(f"could not open the MLflow store sqlite:///{blocker}/mlflow.db")
    assert "\n" not in str(failed.value)
    assert made.sprint_md.read_text() == before and journal_lines(made) == []


# -- where a run came from ----------------------------------------------------------------------------
def git(folder, *args):
    subprocess.run(
        ["git", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "A",
            "GIT_AUTHOR_EMAIL": "a@example.org",
            "GIT_COMMITTER_NAME": "A",
            "GIT_COMMITTER_EMAIL": "a@example.org",
        },
    )


def test_a_run_in_a_git_workspace_records_the_commit(sprint):
    root = sprint.workspace.root
    git(root, "init", "-q")
    git(root, "add", "sabbatical.toml")
    git(root, "commit", "-q", "-m", "start")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    with track.run("committed") as run:
        pass
    assert mlflow_client(sprint.workspace).get_run(run.id).data.tags["mlflow.source.git.commit"] == head


def test_a_relative_session_name_is_found_from_the_notebook_folder(sprint, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/02-experiment.ipynb")  # relative to a server at the sprint
    with track.run("relative") as run:
        pass
    tags = mlflow_client(sprint.workspace).get_run(run.id).data.tags
    assert tags["mlflow.source.name"] == f"sprints/{sprint.name}/notebooks/02-experiment.ipynb"
    assert tags["mlflow.source.type"] == "NOTEBOOK"


def test_a_script_outside_jupyter_is_a_local_source(workspace, tmp_path):
    made = create_sprint(workspace, "From a script?").sprint
    script = made.folder / "sweep.py"
    script.write_text("from sabbatical import track\nwith track.run('scripted') as run:\n    pass\nprint(run.id)\n")
    env = {key: value for key, value in os.environ.items() if key != "JPY_SESSION_NAME"}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=made.notebooks_dir,
        capture_output=True,
        text=True,
        env={**env, "SABBATICAL_WORKSPACE": str(workspace.root)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    tags = mlflow_client(workspace).get_run(done.stdout.strip()).data.tags
    assert (tags["mlflow.source.name"], tags["mlflow.source.type"]) == (f"sprints/{made.name}/sweep.py", "LOCAL")
