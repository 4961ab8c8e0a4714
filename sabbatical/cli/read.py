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

from .context import open_pile, print_json, print_table, progress, warn

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


def _finish(report: Any, as_json: bool, *, updating: bool = False) -> None:
    """Print the outcome, then raise the run's error (if any) so the exit code tells the truth.

    `read update` prints one summary line, not one line per unchanged source."""
    if as_json:
        print_json(report)
    else:
        for outcome in report.sources:
            if outcome.status == "followed" or (outcome.status == "not_modified" and not updating):
                typer.echo(f"{outcome.source}: {outcome.message}")
        for line in report.warnings:
            warn(line)
        typer.echo(report.update_summary() if updating else report.summary())
    error = report.error()
    if error is not None:
        raise error


def _run(
    description: str, work: Callable[[Any], Any], as_json: bool, force: bool = False, updating: bool = False
) -> None:
    with _ingester(description, force) as ingester:
        report = work(ingester)
    _finish(report, as_json, updating=updating)


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
        _run(
            "Reading arXiv",
            lambda i: read_papers(i, sources or [], max_results=max_results, sort=sort, follow=follow),
            as_json,
        )


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
def read_feed(
    sources: Sources,
    no_follow: Annotated[bool, typer.Option("--no-follow", help="Read once; do not refresh on `read update`.")] = False,
    force: Force = False,
    as_json: Json = False,
) -> None:
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
    """Refresh every followed source (conditional GET: only what is new is fetched).

    A failing source is tried again after 1 h, 2 h, 4 h, … at most a week (--force tries it now); muted
    sources are left alone."""
    from ..reading.ingest import update

    _run("Updating", update, as_json, force, updating=True)


@read.command("sources")
def read_sources(
    all_sources: Annotated[bool, typer.Option("--all", help="Also sources read once and not followed.")] = False,
    as_json: Json = False,
) -> None:
    """List followed sources with their health: last success, failures in a row, items, last new item."""
    from ..reading.source_health import source_health

    with open_pile() as opened:
        sources = source_health(opened.conn, followed_only=not all_sources)
    if as_json:
        print_json([{**vars(s), "health": s.health} for s in sources])
        return
    if not sources:
        typer.echo("No followed sources — `sabbatical read feed URL` follows a feed")
        return
    print_table(
        ["id", "source", "health", "items", "last new item", "last success", "failures"],
        [
            [
                s.id,
                f"{s.kind} {s.title or s.locator}",
                _health_text(s),
                s.items,
                _day(s.last_new_item),
                _day(s.last_success),
                s.failures or "",
            ]
            for s in sources
        ],
    )


def _health_text(source: Any) -> str:
    text = source.health
    if text == "backing off":
        text += f" until {source.retry_after[:16].replace('T', ' ')}"
    if source.failures and source.last_error:
        text += f": {source.last_error}"
    return text


def _day(moment: str | None) -> str:
    return (moment or "never")[:10]


SourceRef = Annotated[str, typer.Argument(help="The source's id (as `read sources` shows it), URL, query or path.")]


@read.command("mute")
def read_mute(source: SourceRef) -> None:
    """Keep following a source but leave it out of `read update` until `read unmute`."""
    _set_muted(source, True)


@read.command("unmute")
def read_unmute(source: SourceRef) -> None:
    """Let `read update` read a muted source again."""
    _set_muted(source, False)


def _set_muted(source: str, muted: bool) -> None:
    from ..reading.source_health import set_muted

    with open_pile(writes=True) as opened:
        found = set_muted(opened.conn, source, muted)
    typer.echo(f"{'Muted' if muted else 'Unmuted'} {found.kind} {found.locator} (source {found.id})")


@read.command("unfollow")
def read_unfollow(source: SourceRef) -> None:
    """Stop refreshing a source on `read update`; its items stay in the pile."""
    from ..reading.ingest import unfollow

    with open_pile(writes=True) as opened:
        gone = unfollow(opened.pile, source)
    workspace = opened.workspace
    typer.echo(f"No longer following {gone.kind} {gone.locator} (source {gone.id}); its items stay in the pile")
    if gone.locator in workspace.config.reading.feeds:
        warn(
            f"it is listed in [reading] feeds of {workspace.config_path.name}; remove it there too, "
            "or the next `read update` follows it again"
        )
