"""`sabbatical pile triage`: a terminal screen for triage at the speed of reading (Textual).

The list is the ranked inbox (or any state and filter), best first. Every key is the library call the CLI
command makes, so each decision is the same append-only event `pile keep` records:

    j / k, ↓ / ↑   move            K keep     s star     d drop      u undo (the last change made here)
    n  note        t  tag (words)  o open the item's URL in the browser      / search the pile
    enter  the full summary: claims with their quotes, the judgement, and why it is here      q quit

`k` moves up (as in every pager), so keep is capital `K`. After a decision the cursor moves on to the next
item. Every string shown comes from feeds, pages or an LLM, so each is put on screen as plain text
(`rich.text.Text`), never as markup.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static

from ..config import Config
from ..errors import SabbaticalError
from ..reading import rank, triage
from ..reading import search as searching
from ..reading.browse import open_item
from ..reading.pile import item_labels
from ..reading.summary_rows import preferred_key

SHOWN = 500  # rows on the screen at once: the best of the inbox, not all 5,000 of it


@dataclass
class Row:
    """One line of the list: an item, where it stands and why it is here."""

    id: str
    handle: str
    title: str
    state: str
    score: str
    topic: str
    why: str


def ranked_rows(
    conn: sqlite3.Connection,
    config: Config,
    *,
    state: str,
    filters: searching.Filters | None,
    sprints_dir: Any = None,
    cache_dir: Any = None,
    limit: int = SHOWN,
) -> list[Row]:
    """The ranked items in `state` that the filters allow, as rows."""
    ranked = rank.rank_items(
        conn, config, state=state, sprints_dir=sprints_dir, cache_dir=cache_dir, limit=limit, filters=filters
    )
    labels = item_labels(conn, [r.id for r in ranked])
    return [
        Row(r.id, labels.get(r.id, ("", ""))[0], r.title, r.state, f"{r.score:.2f}", r.topic, r.why) for r in ranked
    ]


def search_rows(
    conn: sqlite3.Connection, config: Config, query: str, filters: searching.Filters | None, limit: int = SHOWN
) -> list[Row]:
    hits = searching.search(conn, config, query, limit=limit, filters=filters)
    labels = item_labels(conn, [h.id for h in hits])
    return [
        Row(h.id, labels.get(h.id, ("", ""))[0], h.title, h.state, f"{h.score:.3f}", h.topic, h.why_text) for h in hits
    ]


def summary_text(conn: sqlite3.Connection, config: Config, row: Row) -> Text:
    """The full view of one item: summary, claims with their quotes, judgement, notes and why it is here."""
    from ..reading.item_json import item_record

    record = item_record(conn, row.id, prefer=preferred_key(config.llm))
    text = Text()
    text.append(f"{row.handle} {record['title']}\n", style="bold")
    text.append(f"{record['kind']} · {record.get('url') or 'no URL'} · {record['state']}\n\n")
    summary = record.get("summary")
    if summary:
        _summary_into(text, summary)
    else:
        text.append("Not summarised yet (`sabbatical pile summarise`).\n\n", style="italic")
    for note in record.get("notes") or []:
        text.append(f"Note ({note['at'][:10]}): {note['text']}\n")
    if record.get("tags"):
        text.append("Tags: " + ", ".join(record["tags"]) + "\n")
    text.append("\nWhy it is here: ", style="bold")
    text.append(row.why + "\n")
    return text


def _summary_into(text: Text, summary: dict[str, Any]) -> None:
    text.append("TL;DR ", style="bold")
    text.append(f"{summary.get('tldr') or ''}\n\n")
    claims = summary.get("key_claims") or []
    if claims:
        text.append("Claims\n", style="bold")
    for claim in claims:
        text.append(f"• {claim.get('claim', '')}\n")
        if claim.get("quote"):
            text.append(f"    “{claim['quote']}” ({claim.get('check') or 'unchecked'})\n", style="dim")
    score = summary.get("insight_score")
    text.append("\nJudgement: ", style="bold")
    text.append(
        f"{summary.get('kind') or '?'}, insight {'?' if score is None else f'{score:.2f}'} — "
        f"{summary.get('rationale') or ''}\n"
    )
    text.append(f"({summary.get('producer')}: {summary.get('model')}, prompt {summary.get('prompt_version')})\n")


class Ask(ModalScreen[str]):
    """One line of input (a note, tags, a search); escape gives back nothing."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "cancel")]

    def __init__(self, prompt: str):
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        yield Static(Text(self.prompt))
        yield Input(id="answer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss("")


class Detail(ModalScreen[None]):
    """The full summary of one item; any of escape, enter or q goes back to the list."""

    BINDINGS: ClassVar = [Binding("escape,enter,q", "close", "back")]

    def __init__(self, body: Text):
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.body, id="detail")

    def action_close(self) -> None:
        self.dismiss(None)


class TriageApp(App[None]):
    """The triage screen over an open pile connection (the CLI opens and closes it)."""

    TITLE = "sabbatical · triage"
    BINDINGS: ClassVar = [
        Binding("j,down", "move(1)", "down", show=False),
        Binding("k,up", "move(-1)", "up", show=False),
        Binding("K", "decide('keep')", "keep"),
        Binding("s", "decide('star')", "star"),
        Binding("d", "decide('drop')", "drop"),
        Binding("u", "undo", "undo"),
        Binding("n", "note", "note"),
        Binding("t", "tag", "tag"),
        Binding("o", "open_url", "open"),
        Binding("slash", "search", "search"),
        Binding("enter", "detail", "summary"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self,
        conn: sqlite3.Connection,
        config: Config,
        rows: list[Row],
        *,
        filters: searching.Filters | None = None,
        open_url: Callable[[str], Any] | None = None,
    ):
        super().__init__()
        self.conn, self.config, self.rows, self.filters = conn, config, rows, filters
        self.browse = open_url  # None: the browser webbrowser finds (BROWSER chooses it), as `pile open` does
        self.changed: list[str] = []  # items changed here, latest last: what `u` takes back

    def compose(self) -> ComposeResult:
        yield DataTable(id="items", cursor_type="row", zebra_stripes=True)
        yield Static(Text(""), id="why")
        yield Static(Text(""), id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("#", key="handle")
        table.add_column("state", key="state")
        table.add_column("score", key="score")
        table.add_column("title", key="title")
        table.add_column("topic", key="topic")
        self._fill(self.rows)
        table.focus()

    # -- the list ----------------------------------------------------------------------------------------
    def _fill(self, rows: list[Row]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                Text(row.handle), Text(row.state), Text(row.score), Text(row.title), Text(row.topic), key=row.id
            )
        self._say(f"{len(rows)} item(s)" if rows else "Nothing here.")
        self._show_why()

    @property
    def current(self) -> Row | None:
        table = self.query_one(DataTable)
        return self.rows[table.cursor_row] if self.rows and 0 <= table.cursor_row < len(self.rows) else None

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_why()

    def on_data_table_row_selected(self, _: DataTable.RowSelected) -> None:
        self.action_detail()

    def _show_why(self) -> None:
        row = self.current
        self.query_one("#why", Static).update(Text(f"why it is here: {row.why}" if row else ""))

    def _say(self, line: str) -> None:
        self.query_one("#status", Static).update(Text(line))

    def _set_state(self, item_id: str, state: str) -> None:
        for row in self.rows:
            if row.id == item_id:
                row.state = state
                self.query_one(DataTable).update_cell(item_id, "state", Text(state))

    # -- keys --------------------------------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, min(len(self.rows) - 1, table.cursor_row + step)))

    def action_decide(self, action: str) -> None:
        row = self.current
        if row is None:
            return
        (record,) = self._call(lambda: triage.triage(self.conn, [row.id], action)) or [None]
        if record is not None:
            self._recorded(record, f"{record.state}")
            self.action_move(1)

    def action_undo(self) -> None:
        if not self.changed:
            self._say("Nothing changed here yet to undo.")
            return
        item_id = self.changed[-1]
        (record,) = self._call(lambda: triage.undo(self.conn, [item_id])) or [None]
        if record is not None:
            self.changed.pop()
            self._set_state(item_id, record.state)
            self._say(f"{record.label}: {record.action.removeprefix('undo ')} undone, now {record.state}")

    def action_note(self) -> None:
        row = self.current
        if row is not None:
            self.push_screen(Ask(f"Note on {row.handle} {row.title}:"), lambda text: self._note(row, text))

    def _note(self, row: Row, text: str | None) -> None:
        if text and text.strip():
            record = self._call(lambda: triage.add_note(self.conn, row.id, text))
            if record is not None:
                self._recorded(record, "note added")

    def action_tag(self) -> None:
        row = self.current
        if row is not None:
            self.push_screen(
                Ask(f"Tags for {row.handle} {row.title} (separated by spaces):"), lambda words: self._tag(row, words)
            )

    def _tag(self, row: Row, words: str | None) -> None:
        if words and words.split():
            record = self._call(lambda: triage.tag(self.conn, row.id, words.split()))
            if record is not None:
                self._recorded(record, "tags " + ", ".join(record.tags))

    def action_open_url(self) -> None:
        row = self.current
        if row is not None:
            done = self._call(lambda: open_item(self.conn, row.id, self.browse))  # what `pile open` calls
            if done is not None:
                self._say(f"Opened {done.handle} {done.title} ({done.url})")

    def action_search(self) -> None:
        self.push_screen(Ask("Search the pile:"), self._search)

    def _search(self, query: str | None) -> None:
        if query and query.strip():
            rows = self._call(lambda: search_rows(self.conn, self.config, query, self.filters))
            if rows is not None:
                self._fill(rows)
                self._say(f"{len(rows)} match(es) for {query!r}")

    def action_detail(self) -> None:
        row = self.current
        if row is not None:
            self.push_screen(Detail(summary_text(self.conn, self.config, row)))

    # -- one way to call the library -----------------------------------------------------------------------
    def _call(self, work: Callable[[], Any]) -> Any:
        """The library's answer, or None with its error on the status line (the screen stays up)."""
        try:
            return work()
        except SabbaticalError as exc:
            self._say(f"Error: {exc}")
            return None

    def _recorded(self, record: triage.Recorded, what: str) -> None:
        self.changed.append(record.item_id)
        self._set_state(record.item_id, record.state)
        self._say(f"{record.label}: {what}")
