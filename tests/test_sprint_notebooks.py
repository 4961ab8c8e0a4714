"""The sprint's notebook templates run on a real kernel and leave real runs; the tour's sprint stage."""

from __future__ import annotations

import json

import nbformat
import pytest
from mlflow import MlflowClient

from sabbatical.errors import SabbaticalError
from sabbatical.sprints.model import Sprint
from sabbatical.sprints.notebooks import execute_notebook
from sabbatical.sprints.scaffold import create_sprint
from sabbatical.tour import sprint_stage

pytestmark = pytest.mark.slow


def runs_by_name(workspace, experiment_id: str) -> dict:
    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    return {run.info.run_name: run for run in client.search_runs([experiment_id])}


def journal(sprint) -> list[dict]:
    """The journal's entries (failures, findings, …), without the run-started/run-ended events."""
    lines = [json.loads(line) for line in sprint.journal_path.read_text().splitlines()]
    return [line for line in lines if "kind" in line]


def test_both_templates_run_and_leave_runs_figures_and_journal_entries(workspace):
    sprint = create_sprint(workspace, "Does gradient descent care about the learning rate?").sprint
    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    assert not sprint.meta.mlflow_experiment_id  # made at the first tracked run, not by new-sprint

    explore = execute_notebook(workspace, sprint.notebooks_dir / "01-explore.ipynb")
    assert explore.cells == 3
    experiment_id = Sprint(workspace, folder=sprint.folder).meta.mlflow_experiment_id
    assert experiment_id
    first_look = runs_by_name(workspace, experiment_id)["first look"]
    assert first_look.info.status == "FINISHED"
    assert first_look.data.params == {"true_slope": "3.0", "noise": "0.5", "seed": "0"}
    assert [m.step for m in client.get_metric_history(first_look.info.run_id, "slope_error")] == [
        10,
        25,
        50,
        100,
        200,
        400,
    ]
    assert [a.path for a in client.list_artifacts(first_look.info.run_id, "figures")] == [
        "figures/data-at-a-glance.png"
    ]

    execute_notebook(workspace, sprint.notebooks_dir / "02-experiment.ipynb")
    runs = runs_by_name(workspace, experiment_id)
    assert set(runs) == {"first look", "lr=0.05", "lr=0.4", "lr=1.2", "compare"}
    assert {run.info.status for run in runs.values()} == {"FINISHED"}
    diverging = runs["lr=1.2"]
    assert diverging.data.params == {"learning_rate": "1.2", "steps": "30", "seed": "0"}
    losses = client.get_metric_history(diverging.info.run_id, "loss")
    assert [m.step for m in losses] == list(range(30)) and losses[-1].value > losses[0].value
    assert [a.path for a in client.list_artifacts(runs["compare"].info.run_id, "figures")] == [
        "figures/loss-by-learning-rate.png"
    ]
    assert (sprint.artifacts_dir / "loss-by-learning-rate.png").stat().st_size > 0

    entries = journal(sprint)
    kinds = [(entry["kind"], entry["notebook"]) for entry in entries]
    assert kinds == [
        ("note", "01-explore.ipynb"),
        ("failure", "02-experiment.ipynb"),
        ("finding", "02-experiment.ipynb"),
    ]
    failure, finding = entries[1], entries[2]
    assert failure["text"] == "learning rate 1.2 diverges" and failure["run_id"] == diverging.info.run_id
    assert finding["text"].startswith("learning rate 0.4 reaches the lowest loss")
    assert runs["lr=1.2"].data.tags["sabbatical.failure.1"] == failure["text"]
    assert runs["compare"].data.tags["sabbatical.finding.1"] == finding["text"]

    executed = nbformat.read(sprint.notebooks_dir / "02-experiment.ipynb", as_version=4)
    assert all(cell.execution_count for cell in executed.cells if cell.cell_type == "code")
    assert not list(sprint.notebooks_dir.glob("kernel-*"))  # the kernel's sockets live elsewhere


def test_a_failing_cell_names_the_error_and_keeps_the_outputs(workspace):
    sprint = create_sprint(workspace, "What if it breaks?").sprint
    path = sprint.notebooks_dir / "broken.ipynb"
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("print('before')"),
            nbformat.v4.new_code_cell("raise ValueError('no data today')"),
        ]
    )
    nbformat.write(notebook, path)
    with pytest.raises(SabbaticalError, match=r"broken.ipynb failed: ValueError: no data today"):
        execute_notebook(workspace, path)
    saved = nbformat.read(path, as_version=4)
    assert saved.cells[0].outputs[0]["text"] == "before\n"


def test_the_tour_stage_runs_a_sprint_once_and_reuses_it(workspace):
    first = sprint_stage(workspace)
    assert first.startswith("sprint 01 in sprints/01-learning-rates/: ran notebooks/02-experiment.ipynb headless")
    assert "1 failure, 1 finding" in first and first.endswith("closed with answer partly")
    (sprint_folder,) = workspace.sprints_dir.iterdir()

    sprint = Sprint(workspace, folder=sprint_folder)
    assert sprint.meta.status == "closed" and sprint.meta.answer == "partly"
    assert "learning rate 1.2 diverges" in sprint.document().section("Retro")
    runs_before = set(runs_by_name(workspace, sprint.meta.mlflow_experiment_id))

    second = sprint_stage(workspace)
    assert second == "reusing sprint 01 in sprints/01-learning-rates/ (closed, answer: partly)"
    assert set(runs_by_name(workspace, sprint.meta.mlflow_experiment_id)) == runs_before
    assert [e["kind"] for e in journal(sprint)].count("finding") == 1
