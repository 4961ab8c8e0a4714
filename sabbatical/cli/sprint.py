"""`sabbatical new-sprint`, `sabbatical sprint …`, `sabbatical lab`, `sabbatical mlflow`."""

from __future__ import annotations

from typing import Annotated

import typer

from . import app
from .context import not_built_yet

sprint = typer.Typer(help="Two-week sprints: status, journal, reading list, close.", no_args_is_help=True)
app.add_typer(sprint, name="sprint")


@app.command("new-sprint")
def new_sprint(question: Annotated[str, typer.Argument(help="The research question this sprint tries to answer.")]) -> None:
    """Start a sprint: folder, notebooks tracked in MLflow, reading list, journal."""
    not_built_yet("new-sprint", 6)


@app.command("lab")
def lab(sprint_id: Annotated[str | None, typer.Argument(help="Sprint id (default: the active one).")] = None) -> None:
    """Start JupyterLab in a sprint folder, tracking to the workspace's MLflow store."""
    not_built_yet("lab", 6)


@app.command("mlflow")
def mlflow_ui() -> None:
    """Start the MLflow UI on the workspace's store."""
    not_built_yet("mlflow", 6)


@sprint.command("list")
def list_sprints() -> None:
    """List sprints with dates, status, runs, failures and findings."""
    not_built_yet("sprint list", 6)


@sprint.command("status")
def status(sprint_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Show one sprint in detail, with the best metrics per run."""
    not_built_yet("sprint status", 6)


@sprint.command("log")
def log(kind: str, text: str) -> None:
    """Write a failure, finding, feedback or note into the sprint journal."""
    not_built_yet("sprint log", 6)


@sprint.command("close")
def close(sprint_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Close a sprint with its answer and retro."""
    not_built_yet("sprint close", 6)


@sprint.command("reopen")
def reopen(sprint_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Reopen a closed sprint."""
    not_built_yet("sprint reopen", 6)


@sprint.command("reading")
def reading(sprint_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Show (or --refresh) the sprint's reading list from the pile."""
    not_built_yet("sprint reading", 6)
