"""`sabbatical read …`: bring papers and links into the pile."""

from __future__ import annotations

from typing import Annotated

import typer

from . import app
from .context import not_built_yet

read = typer.Typer(help="Bring papers and links into the pile (arXiv, feeds, web pages, files).", no_args_is_help=True)
app.add_typer(read, name="read")

Sources = Annotated[list[str], typer.Argument(help="What to read.")]


@read.command("arxiv")
def read_arxiv(sources: Annotated[list[str] | None, typer.Argument(help="Search query, arXiv ids or abs/pdf URLs.")] = None) -> None:
    """Read arXiv papers by query, id or URL (or a bulk OAI-PMH harvest)."""
    not_built_yet("read arxiv", 3)


@read.command("feed")
def read_feed(sources: Sources) -> None:
    """Read and follow RSS/Atom/JSON feeds, from URLs or files."""
    not_built_yet("read feed", 3)


@read.command("url")
def read_url(urls: Sources) -> None:
    """Read web pages: main text, title, author, date."""
    not_built_yet("read url", 3)


@read.command("file")
def read_file(paths: Sources) -> None:
    """Read files: PDF, HTML, BibTeX, OPML, arXiv metadata dumps."""
    not_built_yet("read file", 3)


@read.command("update")
def read_update() -> None:
    """Refresh every followed source, fetching only what is new."""
    not_built_yet("read update", 3)
