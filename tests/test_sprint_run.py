"""`sabbatical sprint run`: a notebook executed headless on a real kernel, with papermill-style parameters;
running it again supersedes what the first execution logged instead of doubling it."""

from __future__ import annotations

import json

import nbformat
import pytest
from mlflow import MlflowClient

from sabbatical.site.sprint_source import site_sprint_of
from sabbatical.sprints.model import Sprint
from sabbatical.sprints.scaffold import create_sprint

pytestmark = pytest.mark.slow


def test_running_a_notebook_twice_supersedes_the_first_execution(workspace, cli):
    sprint = create_sprint(workspace, "Does gradient descent care about the learning rate?").sprint
    root = workspace.root
    first = cli("-w", root, "sprint", "run", "02-experiment", "-p", "steps=12", "-p", "learning_rates=[0.05, 1.2]")
    assert first.exit_code == 0, first.stderr
    assert "run      lr=0.05  FINISHED" in first.stdout and "run      compare  FINISHED" in first.stdout
    assert "failure  #1 learning rate 1.2 diverges" in first.stdout and "example, not published" in first.stdout

    executed = nbformat.read(sprint.notebooks_dir / "02-experiment.ipynb", as_version=4)
    injected = [cell for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1 and "steps = 12" in injected[0].source

    second = cli("-w", root, "sprint", "run", "02-experiment", "-p", "steps=12", "-p", "learning_rates=[0.05, 1.2]")
    assert second.exit_code == 0, second.stderr
    assert "replaces 2 entries its earlier runs logged" in second.stdout

    entries = Sprint(workspace, folder=sprint.folder).journal()
    current = [entry for entry in entries if entry.current]
    assert [entry.number for entry in current] == [3, 4] and all(entry.seen_before == 1 for entry in current)
    assert len({entry.extra["execution"] for entry in current}) == 1
    experiment = Sprint(workspace, folder=sprint.folder).meta.mlflow_experiment_id
    runs = MlflowClient(tracking_uri=workspace.tracking_uri).search_runs([experiment])
    assert {run.data.params.get("steps") for run in runs if run.info.run_name.startswith("lr=")} == {"12"}
    assert len(runs) == 6  # both executions' runs stay in MLflow; the journal says which are current

    status = cli("-w", root, "sprint", "status")
    assert "learning rate 1.2 diverges" in status.stdout and "also seen in 1 earlier run" in status.stdout
    assert "loss ↓" in status.stdout  # the template says the loss's goal
    assert "(3 runs of earlier executions" in status.stdout
    shown = json.loads(cli("-w", root, "sprint", "status", "--json").stdout)
    first_ids = {run.info.run_id for run in runs if run.info.start_time == min(r.info.start_time for r in runs)}
    assert len(shown["superseded_runs"]) == 3 and first_ids <= set(shown["superseded_runs"])
    on_site = site_sprint_of(Sprint(workspace, folder=sprint.folder))
    assert on_site.entries == []  # examples stay off the site
    assert on_site.superseded_runs == set(shown["superseded_runs"])  # the site leaves these runs out too
    assert json.loads(cli("-w", root, "sprint", "list", "--json").stdout)[0]["runs"] == 3  # current runs only

    # Without parameters the notebook runs as written: the earlier injection is gone.
    assert cli("-w", root, "sprint", "run", "02-experiment").exit_code == 0
    executed = nbformat.read(sprint.notebooks_dir / "02-experiment.ipynb", as_version=4)
    assert not [cell for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    listed = json.loads(cli("-w", root, "sprint", "list", "--json").stdout)[0]
    assert (listed["failures"], listed["findings"]) == (1, 1)


def test_a_failing_notebook_reports_what_ran_and_exits_1(workspace, cli):
    sprint = create_sprint(workspace, "Does a broken cell stop the run?").sprint
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from sabbatical import track\nwith track.run('before'):\n    track.metric('x', 1.0)"
        ),
        nbformat.v4.new_code_cell("raise RuntimeError('boom')"),
    ]
    nbformat.write(notebook, sprint.notebooks_dir / "broken.ipynb")
    result = cli("-w", workspace.root, "sprint", "run", "broken.ipynb", "--output", str(sprint.folder / "out.ipynb"))
    assert result.exit_code == 1 and "RuntimeError: boom" in result.stderr
    assert "run      before  FINISHED" in result.stdout
    assert (sprint.folder / "out.ipynb").is_file()
    missing = cli("-w", workspace.root, "sprint", "run", "nope")
    assert missing.exit_code == 1 and "02-experiment.ipynb" in missing.stderr
