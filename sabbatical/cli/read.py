"""`sabbatical read …`: bring papers and links into the pile.

Each command resolves the workspace, opens the pile, hands the sources to `sabbatical.reading.ingest`
with a progress bar, and prints one count line (or `--json`). Failed sources are listed after the good
work is committed: exit 3 when some failed, 1 when all did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from .context import open_pile, print_json, progress, warn

read = typer.Typer(help="Bring papers and links into the pile (arXiv, feeds, web pages, files).", no_args_is_help=True)

Sources = Annotated[list[str], typer.Argument(help="What to read.")]
Json = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
Force = Annotated[bool, typer.Option("--force", help="Read again even when unchanged since the last read.")]


@contextmanager
def _ingester(description: str, force: bool = False) -> Iterator[Any]:
    """An `Ingester` on the workspace's pile, reporting to a progress bar; the pile is closed afterwards."""
    from ..reading.ingest import Ingester

    with open_pile(writes=True) as opened, progress(description) as report:
        yield Ingester(opened.pile, opened.workspace.config.reading, on_progress=report, force=force)


def _finish(report: Any, as_json: bool) -> None:
    """Print the outcome, then raise the run's error (if any) so the exit code tells the truth."""
    if as_json:
        print_json(report)
    else:
        for outcome in report.sources:
            if outcome.status in ("not_modified", "followed"):
                typer.echo(f"{outcome.source}: {outcome.message}")
        for line in report.warnings:
            warn(line)
        typer.echo(report.summary())
    error = report.error()
    if error is not None:
        raise error


def _run(description: str, work: Callable[[Any], Any], as_json: bool, force: bool = False) -> None:
    with _ingester(description, force) as ingester:
        report = work(ingester)
    _finish(report, as_json)


@read.command("arxiv")
def read_arxiv(
    sources: Annotated[list[str] | None, typer.Argument(help="Search queries, arXiv ids or abs/pdf URLs.")] = None,
    harvest: Annotated[bool, typer.Option("--harvest", help="Bulk harvest through OAI-PMH (needs --from).")] = False,
    since: Annotated[str | None, typer.Option("--from", help="Harvest records changed since YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Harvest records changed until YYYY-MM-DD.")] = None,
    set_spec: Annotated[str | None, typer.Option("--set", help="Harvest one set: cs, math, physics:hep-th, …")] = None,
    max_results: Annotated[int, typer.Option("--max", min=1, help="Results per search query.")] = 100,
    sort: Annotated[str, typer.Option("--sort", help="Search order: relevance, newest or updated.")] = "relevance",
    follow: Annotated[bool, typer.Option("--follow", help="Re-run these searches on `read update`.")] = False,
    as_json: Json = False,
) -> None:
    """Read arXiv papers by search query, id or URL, or harvest a whole category (--harvest --from DATE)."""
    from ..reading.ingest import harvest_arxiv
    from ..reading.ingest import read_arxiv as read_papers

    _check_arxiv_options(sources or [], harvest, since, until, sort)
    if harvest:
        _run("Harvesting arXiv", lambda i: harvest_arxiv(i, since or "", set_spec=set_spec, until=until), as_json)
    else:
        _run("Reading arXiv", lambda i: read_papers(i, sources or [], max_results=max_results, sort=sort,
                                                    follow=follow), as_json)


def _check_arxiv_options(sources: list[str], harvest: bool, since: str | None, until: str | None, sort: str) -> None:
    from datetime import date

    from ..errors import UsageError
    from ..reading.sources.arxiv import SORTS

    if sort not in SORTS:
        raise UsageError(f"--sort must be one of {', '.join(SORTS)}, not '{sort}'")
    if not harvest:
        if since or until:
            raise UsageError("--from and --until go with --harvest")
        if not sources:
            raise UsageError("give a search query, arXiv ids or URLs — or --harvest --from YYYY-MM-DD")
        return
    if sources:
        raise UsageError("--harvest takes no queries or ids (use --set to narrow it)")
    for name, value in (("--from", since), ("--until", until)):
        try:
            value is None or date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{name} must be a date like 2024-03-07, not '{value}'") from None
    if not since:
        raise UsageError("--harvest needs --from YYYY-MM-DD (a harvest of everything is millions of records)")


@read.command("feed")
def read_feed(sources: Sources, no_follow: Annotated[bool, typer.Option(
        "--no-follow", help="Read once; do not refresh on `read update`.")] = False,
              force: Force = False, as_json: Json = False) -> None:
    """Read RSS/Atom/JSON feeds from URLs or files, and follow them (`read update` refreshes them)."""
    from ..reading.ingest import read_feeds

    _run("Reading feeds", lambda i: read_feeds(i, sources, follow=not no_follow), as_json, force)


@read.command("url")
def read_url(urls: Sources, force: Force = False, as_json: Json = False) -> None:
    """Read web pages (main text, title, author, date) and PDFs by URL; arXiv URLs go to arXiv."""
    from ..reading.ingest import read_urls

    _run("Reading pages", lambda i: read_urls(i, urls), as_json, force)


@read.command("file")
def read_file(paths: Sources, force: Force = False, as_json: Json = False) -> None:
    """Read files (or folders of them): PDF, HTML, BibTeX, OPML, feeds, arXiv Atom/OAI-PMH/JSON lines."""
    from ..reading.ingest import read_files

    _run("Reading files", lambda i: read_files(i, paths), as_json, force)


@read.command("update")
def read_update(force: Force = False, as_json: Json = False) -> None:
    """Refresh every followed source (conditional GET: only what is new is fetched)."""
    from ..reading.ingest import update

    _run("Updating", update, as_json, force)


@read.command("sources")
def read_sources(all_sources: Annotated[bool, typer.Option(
        "--all", help="Also sources read once and not followed.")] = False, as_json: Json = False) -> None:
    """List the followed sources with their ids, and how their last fetch went."""
    with open_pile() as opened:
        sources = opened.pile.sources(followed=None if all_sources else True)
    if as_json:
        print_json([{"id": s.id, "kind": s.kind, "locator": s.locator, "title": s.title, "followed": s.followed,
                     "last_fetched": s.last_fetched, "last_status": s.last_status, "last_error": s.last_error}
                    for s in sources])
        return
    for s in sources:
        status = f"{s.last_status or 'not fetched yet'}" + (f": {s.last_error}" if s.last_error else "")
        typer.echo(f"{s.id:>4}  {s.kind:<12} {s.locator}  ({status})")
    if not sources:
        typer.echo("No followed sources — `sabbatical read feed URL` follows a feed")


@read.command("unfollow")
def read_unfollow(source: Annotated[str, typer.Argument(
        help="The source's id (as `read sources` shows it), URL, query or path.")]) -> None:
    """Stop refreshing a source on `read update`; its items stay in the pile."""
    from ..reading.ingest import unfollow

    with open_pile(writes=True) as opened:
        gone = unfollow(opened.pile, source)
    workspace = opened.workspace
    typer.echo(f"No longer following {gone.kind} {gone.locator} (source {gone.id}); its items stay in the pile")
    if gone.locator in workspace.config.reading.feeds:
        warn(f"it is listed in [reading] feeds of {workspace.config_path.name}; remove it there too, "
             "or the next `read update` follows it again")
