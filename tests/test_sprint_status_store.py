"""`sprint status` reads its runs from the workspace's local MLflow store without importing MLflow (which
alone took seconds), and gives exactly what MLflow's client gives: active runs only, params, tags, every
metric's history (ties, NaN and the researcher's goals included), oldest first. A store it cannot read for
certain (a table without a column it reads, another store) is left to MLflow, and the answer is the same.

One workspace with tracked runs per module (MLflow is imported once, to make them).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

import pytest

from sabbatical.sprints import lifecycle, mlflow_store, tracking
from sabbatical.sprints.model import Sprint
from sabbatical.workspace import find_workspace
from tests.helpers.fresh_process import run_without_mlflow

PROBE = """
import sys
from sabbatical.cli import app
sys.argv = ["sabbatical", "-w", sys.argv[1], "sprint", "status", "01", "--json"]
try:
    app()
except SystemExit:
    pass
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from sabbatical import track
    from sabbatical.sprints.scaffold import create_sprint
    from sabbatical.workspace import init_workspace

    root = tmp_path_factory.mktemp("status") / "ws"
    ws, _ = init_workspace(root, title="Status")
    sprint = create_sprint(ws, "Do sparse heads generalise?").sprint
    for n in range(3):
        with track.run(f"run-{n}", {"lr": 0.1 * (n + 1), "seed": n}, sprint=sprint, tags={"note": "<b>x</b>"}) as run:
            run.metric("loss", 1.0, goal="min")
            run.metric("loss", 0.5 / (n + 1))
            run.metric("loss", 0.5 / (n + 1))  # a tie: the same point must win as in MLflow
            run.metric("accuracy", float("nan"))
            run.metric("accuracy", 0.7 + n / 10)
            run.metric("unsaid", 3.0 - n)
    with track.run("deleted", {"lr": 9}, sprint=sprint) as gone:
        gone.metric("loss", 0.0)
    tracking.client(ws).delete_run(gone.id)
    create_sprint(ws, "A second sprint, nothing tracked yet")
    return find_workspace(root)


def _same(a, b) -> None:
    as_json = lambda runs: json.dumps([asdict(r) for r in runs], sort_keys=True, default=str)  # noqa: E731 (NaN-safe)
    assert as_json(a) == as_json(b)


def test_the_store_gives_what_mlflow_gives(workspace):
    sprint = Sprint(workspace, "01")
    experiment_id = sprint.meta.mlflow_experiment_id
    read = mlflow_store.run_summaries(workspace, experiment_id)
    assert read is not None and [r.name for r in read] == ["run-0", "run-1", "run-2"]  # the deleted one left out
    _same(read, tracking.run_summaries(workspace, experiment_id))
    loss = read[2].metrics["loss"]
    assert (loss.best, loss.goal, loss.points) == (0.5 / 3, "min", 3) and read[0].params == {"lr": "0.1", "seed": "0"}
    assert read[0].metrics["accuracy"].points == 2 and read[0].tags["note"] == "<b>x</b>"


def test_the_experiment_is_found_by_name_as_mlflow_finds_it(workspace):
    first, second = Sprint(workspace, "01"), Sprint(workspace, "02")
    name = tracking.sprint_experiment_name(first.meta)
    assert mlflow_store.experiment_id_by_name(workspace, name) == (True, first.meta.mlflow_experiment_id)
    assert mlflow_store.experiment_id_by_name(workspace, tracking.sprint_experiment_name(second.meta)) == (True, None)
    first.meta.mlflow_experiment_id = None  # as a sprint.md written before its first run says
    assert lifecycle._experiment_id(first) == tracking.find_sprint_experiment(first) != None  # noqa: E711


def test_sprint_status_never_imports_mlflow_and_says_the_same(workspace):
    status = json.loads(run_without_mlflow(PROBE, str(workspace.root), timeout=120, env={"COLUMNS": "160"}))
    assert [r["name"] for r in status["runs"]] == ["run-0", "run-1", "run-2"]
    expected = tracking.run_summaries(workspace, Sprint(workspace, "01").meta.mlflow_experiment_id)
    assert json.dumps(status["runs"], sort_keys=True) == json.dumps(
        json.loads(json.dumps([asdict(r) for r in expected], default=str)), sort_keys=True
    )


def test_a_store_it_cannot_read_for_certain_is_left_to_mlflow(workspace, tmp_path):
    copy = tmp_path / "mlflow.db"
    with sqlite3.connect(workspace.mlflow_db_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute("ALTER TABLE metrics RENAME COLUMN is_nan TO nan_flag")  # a schema this does not know
    toml = workspace.root / "sabbatical.toml"
    text = toml.read_text()
    assert text.count('uri = ""') == 1  # the [tracking] key init writes
    try:
        toml.write_text(text.replace('uri = ""', f'uri = "sqlite:///{copy}"', 1))
        changed = find_workspace(workspace.root)
        experiment_id = Sprint(changed, "01").meta.mlflow_experiment_id
        assert mlflow_store.run_summaries(changed, experiment_id) is None
        assert mlflow_store.experiment_id_by_name(changed, "anything") == (False, None)
        toml.write_text(text.replace('uri = ""', 'uri = "http://127.0.0.1:9/"', 1))
        assert mlflow_store.run_summaries(find_workspace(workspace.root), experiment_id) is None
    finally:
        toml.write_text(text)
    assert mlflow_store.run_summaries(workspace, "not-a-number") is None
    assert not Path(str(copy) + "-journal").exists()
