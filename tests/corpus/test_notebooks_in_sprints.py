"""Real third-party notebooks dropped into a sprint: listed, run headless, and failing in one clear line."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from sabbatical.errors import SabbaticalError
from sabbatical.sprints.notebooks import execute_notebook
from sabbatical.sprints.scaffold import create_sprint


@pytest.fixture
def sprint_with_corpus_notebooks(workspace, corpus):
    sprint = create_sprint(workspace, "What do other people's notebooks look like?").sprint
    for path in sorted((corpus / "notebooks").glob("*.ipynb")):
        shutil.copy(path, sprint.notebooks_dir / path.name)  # into the test's tmp_path, never the repo
    return sprint


def test_status_lists_every_notebook(sprint_with_corpus_notebooks, corpus, cli):
    sprint = sprint_with_corpus_notebooks
    status = json.loads(cli("-w", sprint.workspace.root, "sprint", "status", "--json").stdout)
    expected = sorted(
        ["01-explore.ipynb", "02-experiment.ipynb"] + [path.name for path in (corpus / "notebooks").glob("*.ipynb")]
    )
    assert status["notebooks"] == expected


@pytest.mark.slow
def test_a_pure_python_notebook_runs_headless_in_the_sprint(sprint_with_corpus_notebooks):
    sprint = sprint_with_corpus_notebooks
    path = sprint.notebooks_dir / "nanoGPT_transformer_sizing.ipynb"
    result = execute_notebook(sprint.workspace, path)
    assert result.cells == 9
    executed = nbformat.read(path, as_version=4)
    assert all(cell.execution_count for cell in executed.cells if cell.cell_type == "code")
    assert any(cell.outputs for cell in executed.cells if cell.cell_type == "code")


@pytest.mark.slow
def test_a_notebook_needing_missing_packages_fails_in_one_line(sprint_with_corpus_notebooks):
    sprint = sprint_with_corpus_notebooks
    with pytest.raises(SabbaticalError) as failed:
        execute_notebook(sprint.workspace, sprint.notebooks_dir / "minGPT_demo.ipynb")
    message = str(failed.value)
    assert message.startswith("minGPT_demo.ipynb failed: ModuleNotFoundError: No module named ")
    assert "\n" not in message
