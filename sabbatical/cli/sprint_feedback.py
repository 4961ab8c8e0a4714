"""`sabbatical sprint feedback import FILE`: readers' replies from a `gh` JSON export into sprint journals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .context import current_workspace

feedback = typer.Typer(help="Feedback from readers of the site.", no_args_is_help=True)


@feedback.command("import")
def import_replies(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON that `gh issue list --json number,title,body,author,url,"
            "createdAt,comments` (or `gh issue view`, or `gh api graphql` over "
            "discussions) printed.",
            show_default=False,
        ),
    ],
    sprint_id: Annotated[
        str | None,
        typer.Option(
            "--sprint",
            help="Sprint for replies that name no sprint's page (default: the active one).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Log each reply in the export as feedback, in the journal of the sprint it is about; known ones are skipped."""
    from ..sprints.feedback_import import import_feedback, read_export
    from ..sprints.model import Sprint, all_sprints

    workspace = current_workspace()
    replies = read_export(file)
    sprints = all_sprints(workspace)
    default = Sprint(workspace, sprint_id) if sprint_id else _active(workspace)
    report = import_feedback(sprints, default, replies)
    for sprint, reply in report.added:
        typer.echo(f"  sprint {sprint}: feedback from {reply.author}")
    typer.echo(
        f"Imported {len(report.added)} replies ({report.duplicates} already in the journal"
        + (f", {report.skipped} empty" if report.skipped else "")
        + ")."
    )


def _active(workspace):
    from ..errors import SabbaticalError
    from ..sprints.model import Sprint

    try:
        return Sprint(workspace, None)
    except SabbaticalError:
        return None
