"""`sabbatical pile show`'s sections: each returns rich-markup lines for one item, in the order of `SHOW_SECTIONS`.

All of them are declared here, in one list, so what `pile show` prints is read in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import current_workspace

Section = Callable[[Any, Any], list[str]]


def _header(item: Any, _pile: Any) -> list[str]:
    from rich.markup import escape

    from ..reading.pile import handle_of

    # The title line is markup (bold), so the title in it is escaped: a feed's "[link=…]" stays text.
    lines = [
        f"[bold]{escape(item.title or '(no title yet)')}[/bold]",
        f"{handle_of(item.seq)}  ·  {item.id}  ·  {item.kind}",
    ]
    if item.authors:
        lines.append(", ".join(item.authors))
    when = " · ".join(
        x
        for x in (
            item.published and f"published {item.published[:10]}",
            item.updated and f"updated {item.updated[:10]}",
        )
        if x
    )
    lines += [x for x in (item.url, when, ", ".join(item.categories)) if x]
    return lines


def _text(item: Any, _pile: Any) -> list[str]:
    body = item.abstract or item.content
    if not body:
        return []
    return ["", body if len(body) <= 1500 else body[:1500].rsplit(" ", 1)[0] + " …"]


def _history(item: Any, _pile: Any) -> list[str]:
    lines = ["", f"[bold]Sources[/bold] (first seen {item.first_seen})"]
    lines += [f"  {s.kind} {s.locator}" + (f"  [{s.entry_id}]" if s.entry_id else "") for s in item.sources] or [
        "  (none)"
    ]
    if item.aliases:
        lines += ["[bold]Also known as[/bold]"] + [f"  {alias}" for alias, _ in item.aliases]
    if item.versions:
        lines += ["[bold]Versions[/bold]"] + [
            f"  v{v.version}  {(v.published or '')[:10]}  {v.title}" for v in item.versions
        ]
    if getattr(item, "earlier_texts", None):
        lines += ["[bold]Earlier texts[/bold] (kept when a read replaced them)"]
        lines += [
            f"  {t.replaced_at[:10]}  {t.title or '(no title)'}  — from {t.written_by}, replaced by {t.replaced_by}"
            for t in item.earlier_texts
        ]
    for heading, links in (("Links to", item.links_out), ("Linked from", item.links_in)):
        if links:
            lines += [f"[bold]{heading}[/bold]"] + [f"  {link.id}  {link.title}" for link in links]
    return lines


def _topic_and_triage(item: Any, opened: Any) -> list[str]:
    """The item's topic and what you decided about it."""
    from ..reading import topics, triage

    conn = opened.conn
    state = triage.current_state(conn, item.id)
    row = conn.execute("SELECT topic_id, similarity FROM item_topics WHERE item_id = ?", (item.id,)).fetchone()
    if row is None:
        where = "not organised yet (`sabbatical pile organise`)"
    elif row["topic_id"] is None:
        where = f"unsorted (nothing close; best similarity {row['similarity']:.2f})"
    else:
        name = topics.topic_names(conn).get(row["topic_id"], "")
        where = f"{row['topic_id']} {name} (similarity {row['similarity']:.2f})"
    lines = [
        "",
        "[bold]Topic and triage[/bold]",
        f"  topic: {where}",
        f"  state: {state.state}" + (f" since {state.state_at}" if state.state_at else ""),
    ]
    if state.tags:
        lines.append("  tags: " + ", ".join(state.tags))
    lines += [f"  note ({note.at[:10]}): {note.text}" for note in state.notes]
    return lines


CHECK_MARKS = {"verified": "✓ in the text", "not_found": "⚠ NOT found in the text", "too_short": "⚠ too short to check"}


def summary_section(item: Any, opened_pile: Any) -> list[str]:
    """Lines for `pile show`: the latest summary, the judgement and each quote with its check."""
    from rich.markup import escape

    from ..reading.summarise import summary_for_display
    from ..reading.summary_rows import preferred_key

    shown = summary_for_display(opened_pile.conn, item.id, preferred_key(current_workspace().config.llm))
    if shown is None:
        return ["", "[bold]Summary[/bold]", f"  none yet — `sabbatical pile summarise --ids {item.id}`"]
    made_by = escape(f"{shown['model']}, {shown['prompt_version']}, {shown['created_at'][:10]}")
    stale = "" if shown["current"] else " — made from an earlier version of the text"
    lines = [
        "",
        f"[bold]Summary[/bold] ({shown['producer']}: {made_by}){stale}",
        f"  {shown['tldr']}",
        *_judgement(shown),
        "[bold]Key claims[/bold]",
    ]
    for claim in shown["key_claims"]:
        lines += [f"  - {claim['claim']}", "  " + _quoted(claim)]
    if shown["topics"]:
        lines.append(f"[bold]Topics[/bold]: {escape(', '.join(shown['topics']))}")
    if shown["questions"]:
        lines += ["[bold]Questions[/bold]"] + [f"  - {q}" for q in shown["questions"]]
    lines.append(f"  {shown['quotes_verified']}/{shown['quotes_total']} quotes found in the text")
    return lines


def _judgement(shown: dict[str, Any]) -> list[str]:
    """The verdict, its rationale and its quote; an item with too little text says it is unjudged."""
    from rich.markup import escape

    if not shown.get("judged", True):
        return ["[bold]Judgement[/bold]: unjudged (no insight score)", f"  {shown['rationale']}"]
    return [
        f"[bold]Judgement[/bold]: {escape(shown['contribution'].replace('_', ' '))}, "
        f"insight {shown['insight_score']:.2f}",
        f"  {shown['rationale']}",
        _quoted(shown["insight_quote"]),
    ]


def _quoted(quote: dict[str, str]) -> str:
    return f"  “{quote['quote']}” ({CHECK_MARKS.get(quote['check'], quote['check'])})"


def item_json(conn: Any, item_ids: list[str]) -> list[dict[str, Any]]:
    """The documented JSON records (`reading.item_json`) of these items, the configured summary preferred."""
    from ..reading.item_json import item_records

    return item_records(conn, item_ids, prefer=preferred_summary())


def item_json_detail(conn: Any, ref: str) -> dict[str, Any]:
    """One item's JSON record with its details, for `pile show --json`."""
    from ..reading.item_json import item_record

    return item_record(conn, ref, prefer=preferred_summary())


def with_item_json(conn: Any, rows: list[Any]) -> list[dict[str, Any]]:
    """Ranked rows or search hits as JSON: their own fields, and the item's record under "item"."""
    records = {r["id"]: r for r in item_json(conn, [row.id for row in rows])}
    return [{**vars(row), "item": records.get(row.id)} for row in rows]


def preferred_summary() -> tuple[str, str]:
    """(prompt version, model) of the configured producer, whose summary JSON prefers."""
    from ..reading.summary_rows import preferred_key

    return preferred_key(current_workspace().config.llm)


def _cited_by(item: Any, _pile: Any) -> list[str]:
    """The sprints whose reading list holds the item, and the journal entries that cite it."""
    from ..sprints.citations import citations_of

    found = citations_of(current_workspace(), item.id)
    if not found:
        return []
    lines = ["", "[bold]Cited by sprints[/bold]"]
    for citation in found:
        where = f"  sprint {citation.sprint_id} ({citation.sprint_folder})"
        if citation.entry is None:
            lines.append(f"{where}: on the reading list — {citation.question}")
        else:
            entry = citation.entry
            evidence = [*entry.extra.get("evidence_runs", []), *entry.extra.get("evidence_figures", [])]
            shown = f"; evidence {', '.join(map(str, evidence))}" if evidence else ""
            lines.append(f"{where}: {entry.kind} #{entry.number} {entry.text}{shown}")
    return lines


# In display order.
SHOW_SECTIONS: list[Section] = [_header, _text, summary_section, _history, _topic_and_triage, _cited_by]


def render_item(item: Any, opened_pile: Any) -> None:
    """Print every section of `pile show`; ingested text is escaped, only the section headings are markup."""
    from rich.markup import escape

    from .context import console

    out = console()
    for section in SHOW_SECTIONS:
        for line in section(item, opened_pile):
            out.print(line if line.startswith("[bold]") else escape(line), soft_wrap=True)
