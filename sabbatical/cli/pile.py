"""`sabbatical pile …`: the group, and inspecting, exporting and importing the pile."""

from __future__ import annotations

from typing import Annotated

import typer

from . import app
from .context import not_built_yet

pile = typer.Typer(help="Inspect, search, organise, triage and export the pile.", no_args_is_help=True)
app.add_typer(pile, name="pile")

Ids = Annotated[list[str], typer.Argument(help="Item ids.")]


@pile.command("list")
def list_items() -> None:
    """List items, newest or best first."""
    not_built_yet("pile list", 3)


@pile.command("show")
def show(item_id: str) -> None:
    """Show one item: its sources, summary, judgement and history."""
    not_built_yet("pile show", 3)


@pile.command("export")
def export() -> None:
    """Export the pile as JSON lines, BibTeX or Markdown notes."""
    not_built_yet("pile export", 3)


@pile.command("import")
def import_(path: str) -> None:
    """Import a JSON-lines export into this pile."""
    not_built_yet("pile import", 3)
