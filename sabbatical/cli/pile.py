"""`sabbatical pile …`: the group, and inspecting, exporting and importing the pile.

`show` renders through `render_item`, a list of sections, so other parts of the product (summaries,
topics) can add their own section without touching the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from . import app
from .context import current_workspace, print_json, print_table

pile = typer.Typer(help="Inspect, search, organise, triage and export the pile.", no_args_is_help=True)
app.add_typer(pile, name="pile")

Ids = Annotated[list[str], typer.Argument(help="Item ids.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
FORMATS = ("jsonl", "bibtex", "markdown")


def _open_pile() -> Any:
    from ..reading.pile import Pile

    return Pile.open(current_workspace())


@pile.command("list")
def list_items(
    kind: Annotated[str | None, typer.Option("--kind", help="paper, post, page or document.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="A source kind (feed, file, arxiv_query…), "
                                                                "number, or part of its URL/path.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="How many to show (0 = all).")] = 50,
    state: Annotated[str | None, typer.Option("--state", help="inbox, kept, starred or dropped: ranked best "
                                                              "first, each with why it is there.")] = None,
    as_json: Json = False,
) -> None:
    """List items, newest first (with --state: ranked, best first)."""
    if state:
        from .pile_find import list_by_state

        list_by_state(state, kind=kind, source=source, limit=limit or None, as_json=as_json)
        return
    with _open_pile() as opened:
        rows = opened.list(kind=kind, source=source, limit=limit or None)
    if as_json:
        print_json(rows)
        return
    print_table(["id", "kind", "published", "title"],
                [[r.id, r.kind, (r.published or "")[:10], r.title] for r in rows])


@pile.command("show")
def show(item_id: str, as_json: Json = False) -> None:
    """Show one item: its sources, aliases, versions and links."""
    with _open_pile() as opened:
        item = opened.get(item_id)
        if as_json:
            print_json(item)
            return
        render_item(item, opened)


Section = Callable[[Any, Any], list[str]]


def _header(item: Any, _pile: Any) -> list[str]:
    lines = [f"[bold]{item.title or '(no title yet)'}[/bold]", f"{item.id}  ·  {item.kind}"]
    if item.authors:
        lines.append(", ".join(item.authors))
    when = " · ".join(x for x in (item.published and f"published {item.published[:10]}",
                                  item.updated and f"updated {item.updated[:10]}") if x)
    lines += [x for x in (item.url, when, ", ".join(item.categories)) if x]
    return lines


def _text(item: Any, _pile: Any) -> list[str]:
    body = item.abstract or item.content
    if not body:
        return []
    return ["", body if len(body) <= 1500 else body[:1500].rsplit(" ", 1)[0] + " …"]


def _history(item: Any, _pile: Any) -> list[str]:
    lines = ["", f"[bold]Sources[/bold] (first seen {item.first_seen})"]
    lines += [f"  {s.kind} {s.locator}" + (f"  [{s.entry_id}]" if s.entry_id else "") for s in item.sources] or ["  (none)"]
    if item.aliases:
        lines += ["[bold]Also known as[/bold]"] + [f"  {alias}" for alias, _ in item.aliases]
    if item.versions:
        lines += ["[bold]Versions[/bold]"] + [f"  v{v.version}  {(v.published or '')[:10]}  {v.title}"
                                               for v in item.versions]
    for heading, links in (("Links to", item.links_out), ("Linked from", item.links_in)):
        if links:
            lines += [f"[bold]{heading}[/bold]"] + [f"  {l.id}  {l.title}" for l in links]
    return lines


# In display order; each section returns rich-markup lines for the item.
SHOW_SECTIONS: list[Section] = [_header, _text, _history]


def render_item(item: Any, opened_pile: Any) -> None:
    from rich.markup import escape

    from .context import console

    out = console()
    for section in SHOW_SECTIONS:
        for line in section(item, opened_pile):
            out.print(line if line.startswith("[bold]") else escape(line), soft_wrap=True)


@pile.command("export")
def export(
    format_: Annotated[str, typer.Option("--format", "-f", help="jsonl, bibtex or markdown.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File (jsonl, bibtex) or folder (markdown); "
                                                                "default: standard output, or ./pile-notes.")] = None,
) -> None:
    """Export the pile as JSON lines, BibTeX or Markdown notes (one per item, Obsidian-friendly)."""
    import sys

    from ..errors import UsageError
    from ..reading import export as exports

    if format_ not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not '{format_}'")
    with _open_pile() as opened:
        if format_ == "markdown":
            folder = out or Path("pile-notes")
            count = exports.export_markdown(opened.conn, folder)
            typer.echo(f"Wrote {count} notes to {folder}", err=True)
            return
        writer = exports.export_jsonl if format_ == "jsonl" else exports.export_bibtex
        if out is None:
            count = writer(opened.conn, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="\n") as handle:
                count = writer(opened.conn, handle)
    typer.echo(f"Exported {count} items" + (f" to {out}" if out else ""), err=True)


@pile.command("import")
def import_(path: Annotated[Path, typer.Argument(help="A JSON-lines export (`pile export --format jsonl`).")],
            as_json: Json = False) -> None:
    """Import a JSON-lines export into this pile (all or nothing; nothing already here is changed)."""
    from ..reading.export import import_jsonl

    with _open_pile() as opened:
        report = import_jsonl(opened.conn, path)
    if as_json:
        print_json(report)
        return
    typer.echo(f"Imported {report.new} new items ({report.existing} already here), {report.sources} sources, "
               f"{report.events} events")
