"""A site build reads the runs of the workspace's local MLflow store without importing MLflow (seconds of
CPU), and publishes what MLflow's client gives: every status, params, metric histories, the researcher's
goals, runs tagged `sabbatical.publish = false` left out. One workspace per module.
"""

from __future__ import annotations

import pytest

from sabbatical.site import runs_source
from tests.helpers.fresh_process import run_without_mlflow
from tests.helpers.site_workspace import add_run, add_sprint

BUILD = """
import sys
from sabbatical.site.build import build_site
from sabbatical.workspace import find_workspace
build_site(find_workspace(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from mlflow import MlflowClient

    from sabbatical.workspace import find_workspace, init_workspace

    root = tmp_path_factory.mktemp("runs-store") / "ws"
    ws, _ = init_workspace(root, title="Runs")
    sprint = add_sprint(ws, "Does the store reader agree with MLflow?", slug="store")
    add_run(ws, sprint, "base", params={"lr": 0.1}, metrics={"loss": [3.0, 2.0, 1.0], "acc": [0.1, float("nan")]})
    add_run(ws, sprint, "broken", status="FAILED", metrics={"loss": [3.0, 9.0]})
    hidden = add_run(ws, sprint, "kept-off-run", metrics={"loss": [1.0, 0.5]})
    MlflowClient(tracking_uri=ws.tracking_uri).set_tag(hidden, runs_source.PUBLISH_TAG, "false")
    return find_workspace(root)


def _experiments(workspace):
    from sabbatical.sprints.model import Sprint

    return [Sprint(workspace, "01").meta.mlflow_experiment_id or ""]


def test_the_local_store_gives_the_runs_mlflow_gives(workspace, monkeypatch):
    from sabbatical.sprints import mlflow_store

    problems: list[str] = []
    read = runs_source.runs_by_experiment(workspace, _experiments(workspace), problems)
    monkeypatch.setattr(mlflow_store, "stored_runs", lambda *args: None)  # as for a store it cannot read
    asked = runs_source.runs_by_experiment(workspace, _experiments(workspace), problems)
    assert problems == []
    runs = read[_experiments(workspace)[0]]
    assert [(run.name, run.status) for run in runs] == [("base", "FINISHED"), ("broken", "FAILED")]
    assert runs[0].params == {"lr": "0.1"} and [p.value for p in runs[0].history["loss"]] == [3.0, 2.0, 1.0]
    assert repr(read) == repr(asked)  # NaN included, field for field


def test_a_cold_build_never_imports_mlflow(workspace):
    run_without_mlflow(BUILD, str(workspace.root), timeout=300, env={"NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"})
    page = next((workspace.site_dir / "sprints").glob("*store/index.html")).read_text()
    assert "base" in page and "broken" in page and "kept-off-run" not in page
