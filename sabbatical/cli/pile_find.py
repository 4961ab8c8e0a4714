"""`sabbatical pile …`: search, organise into topics, triage, rank and digest.

Triage commands append events; `pile undo ID` cancels an item's latest triage/note/tag with another
event, and `pile unmark ID` puts an item back in the inbox. Nothing is ever deleted.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import typer

from .context import open_pile, print_json, print_table, progress, warn
from .pile_show import with_item_json

# Merged into `sabbatical pile` by cli/pile.py.
commands = typer.Typer()
topic = typer.Typer(
    help="Rename, pin and merge topics (your names and pins win over every refit).", no_args_is_help=True
)
commands.add_typer(topic, name="topic")

Ids = Annotated[
    list[str],
    typer.Argument(
        help="Items: the number tables show (12, or '#12' quoted: in a shell # "
        "starts a comment), canonical id, alias, arXiv id or URL."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="How many to show.")]
# The filters every listing takes (`reading.filters`): list, search, inbox, export, digest and triage.
Tag = Annotated[str | None, typer.Option("--tag", help="Only items with this tag.")]
State = Annotated[str | None, typer.Option("--state", help="inbox, kept, starred or dropped.")]
Topic = Annotated[str | None, typer.Option("--topic", help="Topic number or name, or 'unsorted'.")]
Kind = Annotated[str | None, typer.Option("--kind", help="paper, post, page or document.")]
Since = Annotated[str | None, typer.Option("--since", help="Published (else added) since: 7d, 2w, 3m, 1y or a date.")]
Source = Annotated[str | None, typer.Option("--source", help="Source id, kind, or part of its URL/title.")]
SprintOption = Annotated[
    str | None,
    typer.Option("--sprint", help="Only items a sprint names (its reading list and citations): number, slug or words."),
]
FILTER_OPTIONS = {
    "tag": Tag,
    "state": State,
    "topic": Topic,
    "kind": Kind,
    "since": Since,
    "source": Source,
    "sprint": SprintOption,
}
FilterOptions = Mapping[str, str | None]
NO_FILTERS: FilterOptions = MappingProxyType({})


def takes_filters(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command these filter options (of FILTER_OPTIONS), where its `filter_options` parameter stands;
    the command receives what they say as that one mapping, which `item_filters` takes as keywords."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True)
        parameters = []
        for parameter in own.parameters.values():
            if parameter.name == "filter_options":
                parameters += [_keyword(name, FILTER_OPTIONS[name], None) for name in names]
            else:
                parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def with_filters(**values: Any) -> None:
            command(filter_options={name: values.pop(name) for name in names}, **values)

        with_filters.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        with_filters.__annotations__ = {p.name: p.annotation for p in parameters}
        return with_filters

    return decorate


def _keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# -- finding ---------------------------------------------------------------------------------------------
@commands.command("search")
@takes_filters("topic", "kind", "state", "since", "source", "tag", "sprint")
def search(
    query: Annotated[str, typer.Argument(help="Words to look for; any text is safe.")],
    filter_options: FilterOptions = NO_FILTERS,
    mode: Annotated[
        str, typer.Option("--mode", help="hybrid (words and meaning, fused), words or meaning.")
    ] = "hybrid",
    limit: Limit = 20,
    as_json: Json = False,
) -> None:
    """Search by words (BM25) and meaning (vectors), fused; each hit says why it matched.

    Meaning covers what `pile organise` embedded; a line on stderr (and `note` in --json) says what it did not.
    """
    from ..reading import search as searching

    with open_pile() as opened:
        filters = item_filters(opened.conn, opened.workspace, **filter_options)
        hits = searching.search(opened.conn, opened.workspace.config, query, limit=limit, filters=filters, mode=mode)
        handles = item_handles(opened.conn, [h.id for h in hits])
        if as_json:
            print_json(
                {"hits": with_item_json(opened.conn, hits), "words_only": hits.words_only, "note": hits.note or None}
            )
            return
    _print_hits(hits, as_json=False, handles=handles)


@commands.command("related")
def related(item_id: str, limit: Limit = 10, as_json: Json = False) -> None:
    """Items most like this one in meaning."""
    from ..reading import search as searching

    with open_pile() as opened:
        hits = searching.related(opened.conn, opened.workspace.config, item_id, limit=limit)
        handles = item_handles(opened.conn, [h.id for h in hits])
    _print_hits(hits, as_json, handles)


def item_filters(conn: Any, workspace: Any, **options: str | None) -> Any:
    """The `reading.filters` filter object for what the command's filter options say."""
    from ..reading.filters import item_filters as build

    return build(conn, workspace, **options)


def item_handles(conn: Any, ids: list[str]) -> dict[str, str]:
    """item id → its short handle (#12), for the first column of every table of items."""
    from ..reading.pile import item_labels

    return {item_id: label[0] for item_id, label in item_labels(conn, ids).items()}


def _print_hits(hits: Any, as_json: bool, handles: dict[str, str]) -> None:
    """Hits as a table (or a JSON list), then their note, if any, as one line on stderr."""
    if as_json:
        print_json([h.__dict__ for h in hits])
    elif not hits:
        typer.echo("No matches.")
    else:
        print_table(
            ["#", "id", "title", "kind", "state", "why"],
            [[handles.get(h.id, ""), h.id, h.title, h.kind, h.state, h.why_text] for h in hits],
        )
    if hits.note:
        typer.echo(f"Note: {hits.note}", err=True)


# -- topics ------------------------------------------------------------------------------------------------
@commands.command("organise")
def organise(
    refit: Annotated[
        bool, typer.Option("--refit", help="Re-cluster the whole pile; ids, names and pins survive.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Sort the pile into stable topics (new items join the nearest topic, or stay unsorted)."""
    from ..reading import topics

    with open_pile(writes=True) as opened, progress("organising") as report:
        result = topics.organise(opened.conn, opened.workspace.config, refit=refit, on_progress=report)
    if as_json:
        print_json(result)
        return
    why = f" ({result.reason})" if result.reason else ""
    typer.echo(
        f"{result.mode}{why}: {result.placed} item(s) placed, {result.embedded} embedded; "
        f"{result.topics} topics ({result.new_topics} new, {result.retired_topics} retired), "
        f"{result.unsorted} unsorted, in {result.seconds:.2f} s [{result.model}]"
    )
    if result.keyword_labels_after_llm_failed:
        warn(
            f"the LLM endpoint could not name {result.keyword_labels_after_llm_failed} topic(s); they keep "
            "their keyword labels (`sabbatical pile llm-log` shows why)"
        )


@commands.command("topics")
def topics_(as_json: Json = False) -> None:
    """List topics with size and growth (new this week)."""
    from ..reading import topics

    with open_pile() as opened:
        found = topics.list_topics(opened.conn)
    if as_json:
        print_json(found)
        return
    print_table(
        ["id", "name", "size", "new this week", "", "keywords"],
        [
            [t.id or "—", t.name, t.size, t.new_this_week, "pinned" if t.pinned else "", ", ".join(t.keywords[:5])]
            for t in found
        ],
    )


@topic.command("rename")
def topic_rename(
    topic_id: str, name: Annotated[str, typer.Argument(help="The new name ('' = back to keywords).")]
) -> None:
    """Rename a topic (an event; survives refits)."""
    from ..reading import topics

    with open_pile(writes=True) as opened:
        info = topics.rename_topic(opened.conn, topic_id, name)
    typer.echo(f"topic {info.id} is now {info.name!r}")


@topic.command("pin")
def topic_pin(topic_id: str) -> None:
    """Pin a topic: refits keep it, with its centre where it is."""
    from ..reading import topics

    with open_pile(writes=True) as opened:
        info = topics.pin_topic(opened.conn, topic_id, True)
    typer.echo(f"topic {info.id} ({info.name}) pinned")


@topic.command("unpin")
def topic_unpin(topic_id: str) -> None:
    """Unpin a topic."""
    from ..reading import topics

    with open_pile(writes=True) as opened:
        info = topics.pin_topic(opened.conn, topic_id, False)
    typer.echo(f"topic {info.id} ({info.name}) unpinned")


@topic.command("merge")
def topic_merge(into: str, others: Annotated[list[str], typer.Argument(help="Topics merged into the first.")]) -> None:
    """Merge topics into the first one (an event; the merged ids stay retired)."""
    from ..reading import topics

    with open_pile(writes=True) as opened:
        info = topics.merge_topics(opened.conn, into, others)
    typer.echo(f"topic {info.id} ({info.name}) now holds {info.size} item(s)")


# -- triage --------------------------------------------------------------------------------------------
# The commands that mark items, one event an item, each printing `#12: state` for each:
# name → (help, the `reading.triage` function that records it, what that function takes after the items).
MARKING_COMMANDS: dict[str, tuple[str, str, str | bool]] = {
    "keep": ("Keep items.", "triage", "keep"),
    "star": ("Star items.", "triage", "star"),
    "drop": ("Drop items (they stay in the pile, out of the inbox).", "triage", "drop"),
    "unmark": ("Put items back in the inbox.", "triage", "inbox"),
    "private": (
        "Mark items private: never published on the site or in the digest (`pile public` undoes it).",
        "set_private",
        True,
    ),
    "public": ("Make private items publishable again.", "set_private", False),
}


def _mark(ids: list[str], function: str, argument: str | bool) -> None:
    from ..reading import triage

    def line(record: Any) -> str:
        return f"{record.label}: {record.state}"

    with open_pile(writes=True) as opened, _show_recorded(line):
        for record in getattr(triage, function)(opened.conn, ids, argument):
            typer.echo(line(record))


def _marking_command(function: str, argument: str | bool) -> Any:
    def command(ids: Ids) -> None:
        _mark(ids, function, argument)

    return command


for _name, (_help, _function, _argument) in MARKING_COMMANDS.items():
    commands.command(_name, help=_help)(_marking_command(_function, _argument))


@contextmanager
def _show_recorded(line: Any) -> Iterator[None]:
    """On a partial failure, print what was recorded before the error lines are printed."""
    from ..errors import PartialFailure

    try:
        yield
    except PartialFailure as exc:
        for record in getattr(exc, "recorded", []):
            typer.echo(line(record))
        raise


@commands.command("undo")
def undo(ids: Ids) -> None:
    """Undo each item's latest keep/star/drop/note/tag (recorded as another event)."""
    from ..reading import triage

    def line(record: Any) -> str:
        return f"{record.label}: {record.action.removeprefix('undo ')} undone, now {record.state}"

    with open_pile(writes=True) as opened, _show_recorded(line):
        for record in triage.undo(opened.conn, ids):
            typer.echo(line(record))


@commands.command("note")
def note(item_id: str, text: str) -> None:
    """Attach a note to an item."""
    from ..reading import triage

    with open_pile(writes=True) as opened:
        record = triage.add_note(opened.conn, item_id, text)
    typer.echo(f"{record.label}: note added")


@commands.command("tag")
def tag(
    item_id: str,
    tags: Annotated[list[str], typer.Argument(help="Tags to add.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags instead.")] = False,
) -> None:
    """Tag an item (or remove tags with --remove); one `pile undo` takes back the whole command."""
    from ..reading import triage

    with open_pile(writes=True) as opened:
        record = triage.tag(opened.conn, item_id, tags, remove=remove)
    typer.echo(f"{record.label}: tags " + (", ".join(record.tags) or "none"))


@commands.command("triage")
@takes_filters("tag", "topic", "kind", "since", "source", "sprint")
def triage_screen(
    state: Annotated[str, typer.Option("--state", help="inbox, kept, starred or dropped.")] = "inbox",
    filter_options: FilterOptions = NO_FILTERS,
) -> None:
    """Triage on one screen: j/k move, K keep, s star, d drop, u undo, n note, t tag, o open, / search,
    enter for the full summary, q quit (each key records what the matching command does)."""
    import sys

    from ..errors import UsageError
    from . import triage_ui

    with open_pile(writes=True) as opened:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError(
                "pile triage is a screen and needs a terminal; `pile inbox` (or `pile list --state "
                "…`) prints the same items, and `pile keep|star|drop ID…` triages them"
            )
        filters = item_filters(opened.conn, opened.workspace, **filter_options)
        rows = triage_ui.ranked_rows(
            opened.conn,
            opened.workspace.config,
            state=state,
            filters=filters,
            sprints_dir=opened.workspace.sprints_dir,
            cache_dir=opened.workspace.cache_dir,
        )
        triage_ui.TriageApp(opened.conn, opened.workspace.config, rows, filters=filters).run()


# -- ranking, digest, stats -----------------------------------------------------------------------------
@commands.command("inbox")
@takes_filters("tag", "topic", "kind", "since", "source", "sprint")
def inbox(
    limit: Limit = 20,
    filter_options: FilterOptions = NO_FILTERS,
    as_json: Json = False,
) -> None:
    """The inbox, best first: insight × relevance × recency, each with why it is here."""
    from ..reading import rank

    with open_pile() as opened:
        filters = item_filters(opened.conn, opened.workspace, **filter_options)
        ranked = rank.rank_items(
            opened.conn,
            opened.workspace.config,
            state="inbox",
            sprints_dir=opened.workspace.sprints_dir,
            cache_dir=opened.workspace.cache_dir,
            limit=limit,
            filters=filters,
        )
        handles = item_handles(opened.conn, [r.id for r in ranked])
    print_ranked(ranked, as_json, handles)


def list_by_state(state: str, *, limit: int | None, as_json: bool, **options: str | None) -> None:
    """`pile list --state …`: items in a triage state, ranked, narrowed by the other filter options."""
    from ..reading import rank

    with open_pile() as opened:
        filters = item_filters(opened.conn, opened.workspace, **options)
        ranked = rank.rank_items(
            opened.conn,
            opened.workspace.config,
            state=state,
            sprints_dir=opened.workspace.sprints_dir,
            cache_dir=opened.workspace.cache_dir,
            limit=limit,
            filters=filters,
        )
        handles = item_handles(opened.conn, [r.id for r in ranked])
        if as_json:
            rows = with_item_json(opened.conn, ranked)
            print_json([{"id": row["id"], "handle": handles.get(row["id"], ""), **row} for row in rows])
            return
    print_ranked(ranked, as_json, handles)


def print_ranked(ranked: list[Any], as_json: bool, handles: dict[str, str]) -> None:
    """Ranked items as a table (or JSON, each row with its short handle); `pile list --state` shares it."""
    if as_json:
        print_json([{"id": r.id, "handle": handles.get(r.id, ""), **vars(r)} for r in ranked])
        return
    if not ranked:
        typer.echo("Nothing here.")
        return
    print_table(
        ["#", "id", "title", "score", "topic", "why it is here"],
        [[handles.get(r.id, ""), r.id, r.title, f"{r.score:.3f}", r.topic, r.why] for r in ranked],
    )


@commands.command("digest")
@takes_filters("tag", "state", "topic", "kind", "source", "sprint")
def digest(
    since: Annotated[str, typer.Option("--since", help="New since: 7d, 2w, 1m or a date.")] = "7d",
    out: Annotated[Path | None, typer.Option("--out", help="Where to write (default: reading/digest.md).")] = None,
    filter_options: FilterOptions = NO_FILTERS,
) -> None:
    """Write a Markdown digest of new and top-ranked items, by topic."""
    from ..errors import UsageError
    from ..reading import digest as digests

    with open_pile(
        writes=out is None, why="`pile digest` writes reading/digest.md (--out FILE writes it elsewhere)"
    ) as opened:
        path = out or opened.workspace.digest_path
        filters = item_filters(opened.conn, opened.workspace, **filter_options)
        try:
            built = digests.build_digest(
                opened.conn,
                opened.workspace.config,
                since=since,
                sprints_dir=opened.workspace.sprints_dir,
                filters=filters,
            )
            written = digests.write_digest(built, path)
        except OSError as exc:
            raise UsageError(
                f"cannot write the digest to {path}: {exc.strerror or exc} — give --out a file "
                "in a folder you can write"
            ) from None
    typer.echo(f"{written.new_items} new item(s) in {len(written.topics)} topic(s) → {written.path}")


@commands.command("stats")
def stats(as_json: Json = False) -> None:
    """Counts by kind, state and topic, and how well the ranking and the judge agree with your triage."""
    from ..reading import rank

    with open_pile() as opened:
        figures = rank.pile_stats(opened.conn, opened.workspace.config, cache_dir=opened.workspace.cache_dir)
    if as_json:
        print_json(figures)
        return
    for section in ("kinds", "states"):
        typer.echo(f"{section}: " + ", ".join(f"{k} {v}" for k, v in figures[section].items()))
    typer.echo("topics: " + ", ".join(f"{t['name']} {t['size']}" for t in figures["topics"][:10]))
    taste = figures["taste"]
    if taste["active"]:
        typer.echo(
            f"taste model: held-out accuracy {taste['held_out_accuracy']:.0%} over {taste['labelled']} "
            f"decisions ({taste['folds']}-fold; always guessing the larger class: {taste['baseline_accuracy']:.0%})"
        )
    else:
        typer.echo(f"taste model: not yet — {taste['needs']}")
    judged = figures["judge"]
    raw = (
        ""
        if judged["raw_accuracy"] is None
        else f"as it is {judged['raw_accuracy']:.0%} over {judged['labelled']} decisions"
    )
    if judged["active"]:
        typer.echo(
            f"insight judge: agrees with your keep/drop {raw}; calibrated on them, held-out "
            f"{judged['held_out_accuracy']:.0%} ({judged['folds']}-fold; always guessing the larger class: "
            f"{judged['baseline_accuracy']:.0%})"
        )
    else:
        typer.echo(f"insight judge: {raw + '; ' if raw else ''}not calibrated yet — {judged['needs']}")
