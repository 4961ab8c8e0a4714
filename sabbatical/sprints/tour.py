"""The tour's sprint stage: start a sprint, run its experiment notebook headless, close it.

The notebook itself records a failure (a learning rate that diverges) and a finding (the best rate) in
the journal and on its MLflow runs; the stage then closes the sprint with the answer those support. A
second tour finds the sprint by its slug and reuses it, finishing it only if an earlier tour stopped
half-way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .journal import count_kinds
from .lifecycle import close_sprint
from .model import Sprint, all_sprints
from .notebooks import execute_notebook
from .scaffold import create_sprint

if TYPE_CHECKING:
    from ..workspace import Workspace

SLUG = "learning-rates"
QUESTION = "Does a larger learning rate make a small model learn faster, or only less reliably?"
HYPOTHESIS = "Faster up to a point, then it diverges; the best rate sits just below that point."
EXPERIMENT = "02-experiment.ipynb"


def tour_stage(workspace: Workspace) -> str:
    existing = [sprint for sprint in all_sprints(workspace) if sprint.slug == SLUG]
    if existing and existing[0].meta.status == "closed":
        sprint = existing[0]
        return f"reusing sprint {sprint.id} in sprints/{sprint.name}/ (closed, answer: {sprint.meta.answer})"
    sprint = existing[0] if existing else create_sprint(workspace, QUESTION, hypothesis=HYPOTHESIS, slug=SLUG).sprint
    if not count_kinds(sprint.journal())["finding"]:
        execute_notebook(workspace, sprint.notebooks_dir / EXPERIMENT)
    close_sprint(sprint, "partly", _summary(sprint))
    counts = count_kinds(sprint.journal())
    return (f"sprint {sprint.id} in sprints/{sprint.name}/: ran notebooks/{EXPERIMENT} headless "
            f"(runs in MLflow experiment {sprint.meta.mlflow_experiment_id}; journal: {counts['failure']} failure, "
            f"{counts['finding']} finding), closed with answer partly")


def _summary(sprint: Sprint) -> str:
    journal = sprint.journal()
    findings = [entry.text for entry in journal if entry.kind == "finding"]
    failures = [entry.text for entry in journal if entry.kind == "failure"]
    parts = ["Larger rates learn faster only up to a point."]
    if findings:
        parts.append(f"Found: {findings[-1]}.")
    if failures:
        parts.append(f"Failed: {failures[-1]}.")
    parts.append("Only one toy problem was tried, so the answer is partly.")
    return " ".join(parts)
