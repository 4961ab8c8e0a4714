"""The triage screen, driven headless by Textual's Pilot: each key records the event the CLI command
records, undo takes back the last change made on the screen (a whole tag command at once), hostile
titles are shown as text (never markup), `o` hands the URL to the browser opener (recorded here, so no
browser opens), / searches and enter shows the full summary with its claims, quotes and why it is here."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Static

from sabbatical import db
from sabbatical.cli import triage_ui
from sabbatical.config import load_config
from sabbatical.reading import triage
from sabbatical.reading.pile import Entry, Pile

HOSTILE = "[bold red]Pwned[/] <script>alert(1)</script> [link=http://evil.example]x[/link]"


@pytest.fixture
def pile(workspace):
    entries = [
        Entry(
            ids=[f"arxiv:2601.0{n:04d}"],
            kind="paper",
            title=title,
            url=f"https://arxiv.org/abs/2601.0{n:04d}",
            abstract=f"{title}. Sparse attention is studied here in depth, with results {n}.",
        )
        for n, title in enumerate([HOSTILE, "Induction heads revisited", "Sparse attention sinks"])
    ]
    with Pile(db.connect(workspace.pile_path)) as opened:
        opened.add(entries, opened.ensure_source("arxiv_query", "sparse attention"), "arxiv")
        yield opened.conn, load_config(workspace.config_path)


def _screen_text(app) -> str:
    table = app.query_one(DataTable)
    cells = [str(table.get_cell_at((r, c))) for r in range(table.row_count) for c in range(len(table.columns))]
    return "\n".join(cells)


def _run(app, keys: list[str], check) -> None:
    async def drive() -> None:
        async with app.run_test(size=(140, 40)) as pilot:
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
            check(app)

    asyncio.run(drive())


def test_keys_record_the_same_events_as_the_cli_and_undo_takes_back_the_last(pile):
    conn, config = pile
    rows = triage_ui.ranked_rows(conn, config, state="inbox", filters=None)
    opened: list[str] = []
    app = triage_ui.TriageApp(conn, config, rows, open_url=opened.append)
    first, second, third = (r.id for r in rows)

    def check(app) -> None:
        assert triage.current_state(conn, first).state == "kept"
        assert triage.current_state(conn, second).state == "inbox"  # starred, then undone
        state = triage.current_state(conn, third)
        assert state.state == "dropped" and state.tags == ["later", "rl"]
        assert [n.text for n in state.notes] == ["read the appendix"]
        assert opened == [conn.execute("SELECT url FROM items WHERE id = ?", (third,)).fetchone()[0]]
        assert app.query_one(DataTable).get_cell(third, "state").plain == "dropped"

    # K keep (moves on), s star, u undo it, j down, d drop, k up then j down, t tag, n note, o open
    keys = [
        "K",
        "s",
        "u",
        "j",
        "d",
        "k",
        "j",
        "t",
        *"later RL",
        "enter",
        "t",
        *"tea cup",
        "enter",
        "u",
        "n",
        *"read the appendix",
        "enter",
        "o",
    ]
    _run(app, keys, check)
    actions = [r[0] for r in conn.execute("SELECT action FROM events ORDER BY id")]
    assert actions == ["keep", "star", "undo", "drop", "tag", "tag", "tag", "tag", "undo", "note"]


def test_hostile_titles_are_text_and_enter_shows_the_whole_summary(pile, workspace):
    from sabbatical.reading.summarise import SummariseRequest, summarise_workspace

    conn, config = pile
    summarise_workspace(workspace, SummariseRequest(selection="all"))
    rows = triage_ui.ranked_rows(conn, config, state="inbox", filters=None)
    app = triage_ui.TriageApp(conn, config, rows, open_url=lambda url: pytest.fail("no browser in tests"))
    hostile_row = next(n for n, r in enumerate(rows) if r.title == HOSTILE)

    def check(app) -> None:
        assert HOSTILE in _screen_text(app)  # the brackets are still there: shown, not interpreted
        detail = app.screen.query_one("#detail", Static)
        body = str(detail.render())
        assert HOSTILE in body and "TL;DR" in body and "Judgement" in body and "Why it is here" in body

    _run(app, ["j"] * hostile_row + ["enter"], check)


def test_slash_searches_and_the_list_becomes_the_matches(pile):
    conn, config = pile
    app = triage_ui.TriageApp(conn, config, triage_ui.ranked_rows(conn, config, state="inbox", filters=None))

    def check(app) -> None:
        assert [r.title for r in app.rows] == ["Induction heads revisited"]
        assert "1 match(es)" in str(app.query_one("#status", Static).render())

    _run(app, ["slash", *"induction", "enter"], check)


def test_the_command_without_a_terminal_says_what_to_use_instead(workspace, cli):
    result = cli("-w", workspace.root, "pile", "triage", "--tag", "later")
    assert result.exit_code == 2 and result.stderr.startswith("Error: pile triage is a screen")
    assert len(result.stderr.strip().splitlines()) == 1 and "pile inbox" in result.stderr
