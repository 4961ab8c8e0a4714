"""A sprint's experiment written straight into the local SQLite store (the same rows MLflow writes, or
MLflow writes them), and its runs counted there.

These run against the pinned MLflow. If an MLflow upgrade migrates its schema, the direct path turns itself
off (and `test_the_pinned_mlflow_store_is_one_the_direct_path_writes` says so) rather than writing rows
MLflow no longer expects.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sabbatical.errors import ExitCode, TrackingError
from sabbatical.sprints import sqlite_store, tracking
from sabbatical.sprints.scaffold import create_sprint, plan_sprint
from sabbatical.workspace import Workspace, init_workspace
from tests.test_sprint_scaffold import shared_store_template, store_template_cache  # noqa: F401

pytestmark = pytest.mark.usefixtures("shared_store_template")

QUESTION = "Does warm-up help small transformers? ünïcode too"


def rows(db_path: Path, query: str, *args) -> list[tuple]:
    connection = sqlite3.connect(db_path)
    try:
        return connection.execute(query, args).fetchall()
    finally:
        connection.close()


def fresh_store(workspace: Workspace) -> Path:
    assert tracking.ensure_local_store(workspace)
    return workspace.mlflow_db_path


def test_the_pinned_mlflow_store_is_one_the_direct_path_writes(workspace):
    connection = sqlite3.connect(fresh_store(workspace))
    try:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        assert sqlite_store.is_verified(connection), (
            f"MLflow's store is at schema revision {revision}, which sqlite_store has not been checked against: "
            "compare its experiments tables with MLflow's and add the revision to VERIFIED_REVISIONS")
    finally:
        connection.close()


def test_new_sprint_and_sprint_list_do_not_load_mlflow(workspace):
    tracking._store_template()  # built once per MLflow version (that does load MLflow); new-sprint copies it
    commands = [["new-sprint", QUESTION], ["sprint", "list", "--json"]]
    script = ("import json, sys\nfrom sabbatical.cli import main\n"
              f"for command in {commands!r}:\n"
              f"    sys.argv = ['sabbatical', '-w', {str(workspace.root)!r}, *command]\n"
              "    try:\n        main()\n    except SystemExit as done:\n        assert not done.code, done.code\n"
              "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] == 'mlflow')))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.splitlines()[-1]) == []
    assert [name for (name,) in rows(workspace.mlflow_db_path, "SELECT name FROM experiments ORDER BY 1")] == [
        "01-does-warm-up-help-small-transformers-unicode-too", "Default"]


def test_the_rows_are_those_mlflow_writes(tmp_path, monkeypatch):
    """The same sprint in two workspaces: written directly in one, through MlflowClient in the other."""
    direct, _ = init_workspace(tmp_path / "space-a")
    client_made, _ = init_workspace(tmp_path / "space-b")
    made_direct = create_sprint(direct, QUESTION, hypothesis="It does.")
    monkeypatch.setenv(tracking.CLIENT_ONLY, "1")
    made_by_client = create_sprint(client_made, QUESTION, hypothesis="It does.")

    def experiment_rows(workspace: Workspace) -> tuple[list, list]:
        experiments = rows(workspace.mlflow_db_path, "SELECT experiment_id, name, artifact_location, lifecycle_stage, "
                           "workspace FROM experiments WHERE experiment_id != 0")
        tags = rows(workspace.mlflow_db_path, "SELECT key, value, experiment_id FROM experiment_tags ORDER BY key")
        text = json.dumps([experiments, tags]).replace(str(workspace.root), "<root>")
        return json.loads(text)

    assert experiment_rows(direct) == experiment_rows(client_made)
    assert made_direct.meta.mlflow_experiment_id == made_by_client.meta.mlflow_experiment_id == "1"
    times = rows(direct.mlflow_db_path,
                 "SELECT creation_time, last_update_time FROM experiments WHERE experiment_id = 1")
    assert times[0][0] == times[0][1] > 1_700_000_000_000  # milliseconds, as MLflow stores them


def test_mlflow_reads_and_uses_a_directly_written_experiment(workspace):
    from mlflow import MlflowClient

    made = create_sprint(workspace, QUESTION)
    experiment_id = made.meta.mlflow_experiment_id
    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    experiment = client.get_experiment(experiment_id)
    assert experiment.name == made.sprint.folder.name
    assert experiment.artifact_location == f"{workspace.artifact_root}/{made.sprint.folder.name}"
    assert experiment.tags == tracking.experiment_tags(workspace, made.sprint.folder.name, made.meta)
    assert client.get_experiment_by_name(made.sprint.folder.name).experiment_id == experiment_id
    default = client.get_experiment("0")
    assert (default.name, default.artifact_location) == ("Default", f"{workspace.artifact_root}/0")

    run = client.create_run(experiment_id, run_name="first")
    client.log_metric(run.info.run_id, "accuracy", 0.75)
    client.set_terminated(run.info.run_id)
    assert [found.info.run_name for found in client.search_runs([experiment_id])] == ["first"]
    client.delete_experiment(experiment_id)
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_the_next_sprint_gets_the_next_id_and_keeps_default(workspace, cli):
    for question in ("First question", "Second question"):
        assert cli("-w", workspace.root, "new-sprint", question).exit_code == 0
    assert rows(workspace.mlflow_db_path, "SELECT experiment_id, name FROM experiments ORDER BY 1") == [
        (0, "Default"), (1, "01-first-question"), (2, "02-second-question")]


def test_a_store_mlflow_made_gets_direct_writes_too(workspace, monkeypatch):
    monkeypatch.setenv(tracking.CLIENT_ONLY, "1")
    create_sprint(workspace, "Made by MLflow")
    monkeypatch.delenv(tracking.CLIENT_ONLY)
    default_before = rows(workspace.mlflow_db_path, "SELECT * FROM experiments WHERE experiment_id = 0")
    made = create_sprint(workspace, "Written directly")
    assert made.meta.mlflow_experiment_id == "2"
    assert rows(workspace.mlflow_db_path, "SELECT * FROM experiments WHERE experiment_id = 0") == default_before


def args_for(workspace: Workspace, name: str = "01-question") -> tuple:
    tags = {"sabbatical.sprint": "01", "mlflow.note.content": "a note"}
    return (workspace.mlflow_db_path, name, f"{workspace.artifact_root}/{name}", tags, workspace.artifact_root)


def alter(db_path: Path, statement: str) -> None:
    connection = sqlite3.connect(db_path)
    with connection:
        connection.execute(statement)
    connection.close()


NEW_REVISION = "UPDATE alembic_version SET version_num = 'ffffffffffff'"
UNVERIFIED = {
    "a schema revision not checked": NEW_REVISION,
    "an extra column": "ALTER TABLE experiments ADD COLUMN owner VARCHAR(63)",
    "another MLflow workspace":
        "INSERT INTO experiments (name, lifecycle_stage, workspace) VALUES ('x', 'active', 'team')",
    "the name taken by a deleted experiment":
        "INSERT INTO experiments (name, lifecycle_stage) VALUES ('01-question', 'deleted')",
}


@pytest.mark.parametrize("statement", UNVERIFIED.values(), ids=UNVERIFIED.keys())
def test_an_unverified_store_is_left_to_mlflow(workspace, statement):
    db_path = fresh_store(workspace)
    alter(db_path, statement)
    before = rows(db_path, "SELECT * FROM experiments ORDER BY 1")
    assert sqlite_store.create_experiment(*args_for(workspace)) is None
    assert rows(db_path, "SELECT * FROM experiments ORDER BY 1") == before


@pytest.mark.parametrize("tags", [{"mlflow.trace.archiveNow": "1"}, {"a/../b": "x"}, {"k": "v" * 20_001},
                                  {"": "empty key"}])
def test_unusual_tags_are_left_to_mlflow(workspace, tags):
    db_path, name, location, _, root = args_for(workspace)
    fresh_store(workspace)
    assert sqlite_store.create_experiment(db_path, name, location, tags, root) is None
    assert rows(db_path, "SELECT count(*) FROM experiments") == [(0,)]


def test_mlflow_settings_that_change_writes_leave_it_to_mlflow(workspace, monkeypatch):
    fresh_store(workspace)
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert sqlite_store.create_experiment(*args_for(workspace)) is None


def test_a_missing_or_foreign_file_is_left_to_mlflow(workspace, tmp_path):
    db_path, name, location, tags, root = args_for(workspace)
    assert sqlite_store.create_experiment(db_path, name, location, tags, root) is None
    assert not db_path.exists()
    foreign = tmp_path / "pile.db"
    sqlite3.connect(foreign).close()
    assert sqlite_store.create_experiment(foreign, name, location, tags, root) is None


def test_a_failure_halfway_writes_nothing_and_new_sprint_says_so(workspace, cli):
    db_path = fresh_store(workspace)
    alter(db_path, "CREATE TRIGGER refuse BEFORE INSERT ON experiment_tags "
                   "BEGIN SELECT RAISE(ABORT, 'the disk refused the tag'); END")
    with pytest.raises(TrackingError, match="the disk refused the tag"):
        tracking.create_sprint_experiment(workspace, "01-question", plan_sprint(workspace, "Question").meta)
    assert rows(db_path, "SELECT count(*) FROM experiments") == [(0,)]
    result = cli("-w", workspace.root, "new-sprint", "Question")
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr.startswith("Error: could not create the MLflow experiment on sqlite:///")
    assert "the disk refused the tag" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(workspace.sprints_dir.iterdir()) == []
    assert rows(db_path, "SELECT count(*) FROM experiments") == [(0,)]


def test_a_locked_store_is_waited_for(workspace):
    db_path = fresh_store(workspace)
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    released.start()
    try:
        assert sqlite_store.create_experiment(*args_for(workspace)) == "1"
    finally:
        released.join()
        holder.close()


def test_run_counts_read_directly_match_mlflow(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    workspace, _ = init_workspace(tmp_path / "a folder with späces")
    ids = [create_sprint(workspace, question).meta.mlflow_experiment_id for question in ("One", "Two", "Three")]
    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    for experiment_id, runs in zip(ids, (3, 1, 0)):
        for number in range(runs):
            client.create_run(experiment_id, run_name=f"run-{number}")
    client.delete_run(client.search_runs([ids[0]])[0].info.run_id)
    direct = sqlite_store.count_active_runs(workspace.mlflow_db_path, ids)
    assert direct == {ids[0]: 2, ids[1]: 1, ids[2]: 0}
    assert tracking.count_runs(workspace, ids) == direct
    monkeypatch.setenv(tracking.CLIENT_ONLY, "1")
    assert tracking.count_runs(workspace, ids) == direct


def test_run_counts_in_an_unverified_store_come_from_mlflow(workspace):
    db_path = fresh_store(workspace)
    alter(db_path, NEW_REVISION)
    assert sqlite_store.count_active_runs(db_path, ["1"]) is None
    assert sqlite_store.count_active_runs(db_path, ["not-a-number"]) is None


def test_a_store_that_is_not_a_database_is_one_line_and_changes_nothing(workspace, cli):
    workspace.mlflow_db_path.write_bytes(b"\x00\x17 this is not SQLite " * 300)
    result = cli("-w", workspace.root, "new-sprint", "Question")
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr.strip() == (f"Error: could not create the MLflow experiment on {workspace.tracking_uri}: "
                                     "DatabaseError: file is not a database — nothing was created")
    assert list(workspace.sprints_dir.iterdir()) == []
