"""`sabbatical pile …`: the group, and inspecting, exporting and importing the pile.

`show` prints the sections declared in `pile_show.SHOW_SECTIONS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import pile_find, pile_summarise
from .context import open_pile, print_json, print_table, warn
from .pile_show import item_json, item_json_detail, render_item

pile = typer.Typer(help="Inspect, search, organise, triage and export the pile.", no_args_is_help=True)
pile.add_typer(pile_find.commands)
pile.add_typer(pile_summarise.commands)

Ids = pile_find.Ids
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@pile.command("list")
@pile_find.takes_filters("tag", "topic", "since", "sprint")
def list_items(
    kind: Annotated[str | None, typer.Option("--kind", help="paper, post, page or document.")] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="A source kind (feed, file, arxiv_query…), number, or part of its URL/path."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="How many to show (0 = all).")] = 50,
    state: Annotated[
        str | None,
        typer.Option("--state", help="inbox, kept, starred or dropped: ranked best first, each with why it is there."),
    ] = None,
    filter_options: pile_find.FilterOptions = pile_find.NO_FILTERS,
    as_json: Json = False,
) -> None:
    """List items, newest first (with --state: ranked, best first)."""
    from ..reading.search import allowed_ids

    if state:
        pile_find.list_by_state(state, limit=limit or None, as_json=as_json, kind=kind, source=source, **filter_options)
        return
    with open_pile() as opened:
        filters = pile_find.item_filters(opened.conn, opened.workspace, **filter_options)
        rows = opened.pile.list(kind=kind, source=source, limit=limit or None, only=allowed_ids(opened.conn, filters))
        if as_json:
            print_json(item_json(opened.conn, [r.id for r in rows]))
            return
    print_table(
        ["#", "id", "kind", "published", "title"],
        [[r.handle, r.id, r.kind, (r.published or "")[:10], r.title] for r in rows],
    )


@pile.command("show")
def show(item_id: str, as_json: Json = False) -> None:
    """Show one item: its sources, aliases, versions and links."""
    with open_pile() as opened:
        if as_json:
            print_json(item_json_detail(opened.conn, item_id))
            return
        item = opened.pile.get(item_id)
        render_item(item, opened.pile)


@pile.command("open")
def open_(
    item_id: Annotated[
        str, typer.Argument(help="The item: its number (12, or '#12' quoted), id, alias, arXiv id or URL.")
    ],
) -> None:
    """Open the item's web address in your browser (the BROWSER environment variable chooses which)."""
    from ..reading.browse import open_item

    with open_pile() as opened:
        done = open_item(opened.conn, item_id)
    typer.echo(f"Opened {done.handle} {done.title} ({done.url})")


@pile.command("export")
@pile_find.takes_filters(*pile_find.FILTER_OPTIONS)
def export(
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="jsonl (everything, for `pile import`), bibtex, "
            "csl (CSL-JSON for Zotero) or markdown (Obsidian notes).",
            metavar="FORMAT",
        ),
    ] = "jsonl",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="File (jsonl, bibtex, csl) or folder (markdown); "
            "standard output when not given (markdown: ./pile-notes).",
        ),
    ] = None,
    filter_options: pile_find.FilterOptions = pile_find.NO_FILTERS,
) -> None:
    """Export the pile: JSON lines (lossless), BibTeX, CSL-JSON or Markdown notes (one per item)."""
    import sys

    from ..reading import export as exports
    from ..reading.search import allowed_ids
    from ..reading.summary_rows import preferred_key

    with open_pile() as opened:
        filters = pile_find.item_filters(opened.conn, opened.workspace, **filter_options)
        allowed = allowed_ids(opened.conn, filters)  # None: every item
        ids = None if allowed is None else sorted(allowed)
        count = exports.write_export(
            opened.conn, format_, out, sys.stdout, ids=ids, prefer=preferred_key(opened.workspace.config.llm)
        )
    if format_ == "markdown":
        typer.echo(f"Wrote {count} notes to {out or exports.DEFAULT_NOTES_FOLDER}", err=True)
    else:
        typer.echo(f"Exported {count} items" + (f" to {out}" if out else ""), err=True)


@pile.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A JSON-lines export (`pile export --format jsonl`).")],
    as_json: Json = False,
) -> None:
    """Import a JSON-lines export into this pile (all or nothing; nothing already here is changed)."""
    from ..reading.export import import_jsonl

    with open_pile(writes=True) as opened:
        report = import_jsonl(opened.conn, path)
    if as_json:
        print_json(report)
        return
    typer.echo(
        f"Imported {report.new} new items ({report.existing} already here), {report.sources} sources, "
        f"{report.summaries} summaries, {report.topics} topics, {report.events} events"
    )
    if report.topics_left_out:
        warn(
            f"this pile already has topics, so the export's {report.topics_left_out} topics and their renames, "
            "pins and merges were left out"
        )
