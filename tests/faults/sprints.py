"""Workspaces with sprints for the fault suite: real sprint folders, MLflow runs, journals and notebooks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.helpers.site_workspace import add_run, add_sprint, png_bytes, write_notebook

QUESTIONS = [
    "Does warm-up help small transformers converge?",
    "Can retrieval replace fine-tuning for citations?",
    "Do summaries drift between prompt versions?",
]


def sprint_workspace(root: Path, sprints: int = 2) -> Any:
    """A workspace with `sprints` sprints, each with a run, a journal and a notebook with a figure."""
    from sabbatical.workspace import init_workspace

    workspace, _ = init_workspace(root, title="Fault suite sabbatical")
    for number in range(sprints):
        sprint = add_sprint(
            workspace,
            QUESTIONS[number],
            start=date.today() - timedelta(days=15 * (sprints - number)),
            slug=f"question-{number + 1}",
        )
        sprint.log("failure", f"attempt {number} diverged", why="the learning rate was too high")
        sprint.log("finding", f"result {number} holds", evidence="the baseline run")
        add_run(workspace, sprint, "baseline", params={"lr": 0.1}, metrics={"loss": [3.0, 2.0, 1.0 + number]})
        write_notebook(
            sprint.notebooks_dir / "03-results.ipynb",
            title=f"Results {number + 1}",
            image=png_bytes(label=f"sprint {number + 1}"),
        )
    return workspace
