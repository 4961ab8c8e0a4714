"""`sabbatical pile …`: search, organise into topics, triage, rank and digest."""

from __future__ import annotations

from typing import Annotated

import typer

from .context import not_built_yet
from .pile import pile

topic = typer.Typer(help="Rename, pin and merge topics.", no_args_is_help=True)
pile.add_typer(topic, name="topic")

Ids = Annotated[list[str], typer.Argument(help="Item ids.")]

@pile.command("search")
def search(query: str) -> None:
    """Search by words and meaning."""
    not_built_yet("pile search", 5)


@pile.command("related")
def related(item_id: str) -> None:
    """Items most like this one."""
    not_built_yet("pile related", 5)


@pile.command("organise")
def organise() -> None:
    """Sort the pile into stable topics."""
    not_built_yet("pile organise", 5)


@pile.command("topics")
def topics() -> None:
    """List topics with size and growth."""
    not_built_yet("pile topics", 5)


@topic.command("rename")
def topic_rename(topic_id: str, name: str) -> None:
    """Rename a topic."""
    not_built_yet("pile topic rename", 5)


@topic.command("pin")
def topic_pin(topic_id: str) -> None:
    """Pin a topic so refits keep it."""
    not_built_yet("pile topic pin", 5)


@topic.command("merge")
def topic_merge(topic_ids: list[str]) -> None:
    """Merge topics into the first one."""
    not_built_yet("pile topic merge", 5)


@pile.command("keep")
def keep(ids: Ids) -> None:
    """Keep items."""
    not_built_yet("pile keep", 5)


@pile.command("star")
def star(ids: Ids) -> None:
    """Star items."""
    not_built_yet("pile star", 5)


@pile.command("drop")
def drop(ids: Ids) -> None:
    """Drop items (they stay in the pile, out of the inbox)."""
    not_built_yet("pile drop", 5)


@pile.command("note")
def note(item_id: str, text: str) -> None:
    """Attach a note to an item."""
    not_built_yet("pile note", 5)


@pile.command("tag")
def tag(item_id: str, tags: list[str]) -> None:
    """Tag an item."""
    not_built_yet("pile tag", 5)


@pile.command("digest")
def digest() -> None:
    """Write a Markdown digest of new and top items, by topic."""
    not_built_yet("pile digest", 5)


@pile.command("stats")
def stats() -> None:
    """Pile statistics, and how well the ranking has learned your taste."""
    not_built_yet("pile stats", 5)
