"""Workspace commands: `init`, `paths`, `tour`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .context import current_workspace, print_json, print_table

# Top-level commands: the root mounts this app without a name.
commands = typer.Typer()

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@commands.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to make a workspace (created if missing).")] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Add only what is missing; never overwrite or delete.")
    ] = False,
    title: Annotated[str | None, typer.Option(help="The sabbatical's title.")] = None,
) -> None:
    """Create a workspace: sabbatical.toml, mkdocs.yml, reading/, sprints/ and .gitignore entries."""
    from ..workspace import init_workspace

    workspace, created = init_workspace(directory, force=force, title=title)
    if created:
        typer.echo(f"Workspace at {workspace.root}: created {', '.join(created)}")
    else:
        typer.echo(f"Workspace at {workspace.root} already has everything; nothing changed")


@commands.command()
def paths(as_json: JsonOption = False) -> None:
    """Show every resolved location and where it came from."""
    locations = current_workspace().locations()
    if as_json:
        print_json({loc.name: {"path": loc.value, "origin": loc.origin} for loc in locations})
        return
    print_table(["what", "where", "because"], [[loc.name, loc.value, loc.origin] for loc in locations])


@commands.command()
def tour(
    directory: Annotated[Path, typer.Argument(help="Folder for the tour's workspace.")] = Path("sabbatical-tour"),
) -> None:
    """Run the whole story offline on bundled samples: read, summarise, organise, sprint, publish."""
    from ..tour import run_tour

    report = run_tour(directory, on_step=lambda step: typer.echo(f"• {step.name}: {step.detail}"))
    typer.echo("\nThe tour is done. Next:")
    for line in report.open_next:
        typer.echo(f"  {line}")
    _say_where_the_command_is()


def _say_where_the_command_is() -> None:
    """After `make tour` the command lives in .venv/bin, which is not on PATH yet."""
    import shutil
    import sys

    here = Path(sys.argv[0]).resolve()
    on_path = shutil.which("sabbatical")
    if here.name == "sabbatical" and (on_path is None or Path(on_path).resolve() != here):
        typer.echo(f"  (`sabbatical` is {here}; `source {here.parent}/activate` puts it on your PATH)")
