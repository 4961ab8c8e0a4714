"""The daily loop through the CLI: one way to open the pile (a read-only workspace answers reads and refuses
writes in one line), short handles every table shows and every command accepts, triage lines that name
what changed, one undo step per command, and the same filters on list, search, inbox, export and digest.

One pile per module (built once), copied for the tests that change it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sabbatical import db
from sabbatical.errors import ExitCode
from sabbatical.reading import triage
from sabbatical.reading.pile import Entry, Pile
from tests.security.test_pile_integrity import _run_read_only

TITLES = [
    "Sparse attention heads in small models",
    "A podcast about tea (German)",
    "Induction heads revisited",
    "Grokking as phase change",
    "Notes on sparse autoencoders",
    "Attention sinks and long context",
]


def _build(root: Path) -> None:
    from sabbatical.workspace import init_workspace

    ws, _ = init_workspace(root, title="Daily loop")
    papers = [
        Entry(
            ids=[f"arxiv:2601.0{n:04d}"],
            kind="paper",
            title=t,
            abstract=f"{t}. Sparse attention study {n}.",
            published=f"2026-01-{n + 1:02d}T00:00:00Z",
        )
        for n, t in enumerate(TITLES[::2])
    ]
    posts = [
        Entry(
            ids=[f"https://blog.example/post-{n}"],
            kind="post",
            title=t,
            abstract=f"{t}. A post {n}.",
            published=f"2025-0{n + 1}-01T00:00:00Z",
        )
        for n, t in enumerate(TITLES[1::2])
    ]
    with Pile(db.connect(ws.pile_path)) as opened:
        opened.add(papers, opened.ensure_source("arxiv_query", "sparse attention"), "arxiv")
        opened.add(posts, opened.ensure_source("feed", "https://blog.example/feed.xml"), "feed")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("daily") / "ws"
    _build(root)
    return root


@pytest.fixture
def ws(built, tmp_path) -> Path:
    """A private copy of the module's workspace, for a test that changes it."""
    copy = tmp_path / "ws"
    shutil.copytree(built, copy)
    return copy


def _seq(root: Path, title: str) -> int:
    with Pile(db.connect(root / "reading" / "pile.db")) as opened:
        return opened.conn.execute("SELECT seq FROM items WHERE title = ?", (title,)).fetchone()[0]


# -- one way to open the pile ------------------------------------------------------------------------------
def test_a_read_only_workspace_answers_reads_and_refuses_each_write_in_one_line(ws):
    inbox, listed, topics, digest, digest_out, tagged, organised, triaged = _run_read_only(
        ws,
        [
            ["pile", "inbox"],
            ["pile", "list"],
            ["pile", "topics"],
            ["pile", "digest"],
            ["pile", "digest", "--out", str(ws / "elsewhere.md")],
            ["pile", "tag", "#1", "later"],
            ["pile", "organise"],
            ["pile", "triage"],
        ],
    )
    assert inbox[0] == listed[0] == topics[0] == 0, (inbox, listed, topics)
    assert "Grokking as phase change" in listed[1]
    for code, _, stderr in (digest, tagged, organised, triaged):
        lines = stderr.strip().splitlines()
        assert code == ExitCode.ERROR and len(lines) == 1, stderr
        assert lines[0].startswith("Error: the workspace is read-only") and "unexpected" not in lines[0]
    assert "digest.md" in digest[2]
    code, _, stderr = digest_out  # --out in the same read-only folder: the file cannot be written, said so
    assert code != 0 and "cannot write the digest" in stderr and "unexpected" not in stderr
    assert not (ws / "reading" / "digest.md").exists()


# -- short handles ------------------------------------------------------------------------------------------
def _handle_column(stdout: str) -> dict[str, str]:
    """title → the handle the table's first column shows for it."""
    shown = {}
    for line in stdout.splitlines():
        match = re.match(r"\s*(#\d+)\s+│", line)
        title = next((t for t in TITLES if t in line), None)
        if match and title:
            shown[title] = match[1]
    return shown


def test_every_table_shows_the_handle_every_command_accepts(built, cli):
    w = ("-w", built)
    for args in (
        ["pile", "list"],
        ["pile", "inbox"],
        ["pile", "list", "--state", "inbox"],
        ["pile", "search", "sparse attention"],
    ):
        result = cli(*w, *args)
        shown = _handle_column(result.stdout)
        assert shown, (args, result.stdout)
        assert all(handle == f"#{_seq(built, title)}" for title, handle in shown.items()), (args, shown)
    with Pile(db.connect(built / "reading" / "pile.db")) as opened:
        podcast = f"#{_seq(built, TITLES[1])}"
        assert opened.resolve(podcast) == opened.resolve(podcast[1:]) == "https://blog.example/post-0"
    shown = cli(*w, "pile", "show", podcast)
    assert shown.exit_code == 0 and f"{podcast}  ·  https://blog.example/post-0" in shown.stdout
    missing = cli(*w, "pile", "show", "#999")
    assert missing.exit_code == ExitCode.ERROR and "no item #999" in missing.stderr


def test_json_rows_and_item_records_carry_the_handle_tables_show(built, cli):
    w = ("-w", built)
    inbox = json.loads(cli(*w, "pile", "inbox", "--json").stdout)
    assert len(inbox) == len(TITLES)
    assert all(row["handle"] == f"#{_seq(built, row['title'])}" for row in inbox), inbox
    assert list(inbox[0])[:2] == ["id", "handle"] and {"score", "why", "state"} <= set(inbox[0])
    listed = json.loads(cli(*w, "pile", "list", "--json").stdout)
    assert sorted(r["handle"] for r in listed) == sorted(r["handle"] for r in inbox)
    assert all(r["handle"] == f"#{r['seq']}" for r in listed)
    ranked = json.loads(cli(*w, "pile", "list", "--state", "inbox", "--json").stdout)
    assert all(r["handle"] == r["item"]["handle"] for r in ranked) and ranked


def test_triage_names_what_it_changed_and_one_command_is_one_undo_step(ws, cli):
    w = ("-w", ws)
    handle = f"#{_seq(ws, TITLES[1])}"
    kept = cli(*w, "pile", "keep", handle)
    assert kept.stdout.strip() == f"{handle} {TITLES[1]}: kept"
    tagged = cli(*w, "pile", "tag", handle, "Audio", "tea", "later")
    assert tagged.stdout.strip() == f"{handle} {TITLES[1]}: tags audio, tea, later"
    undone = cli(*w, "pile", "undo", handle)
    assert undone.stdout.strip() == f"{handle} {TITLES[1]}: tag undone, now kept"
    with Pile(db.connect(ws / "reading" / "pile.db")) as opened:
        state = triage.current_state(opened.conn, "https://blog.example/post-0")
        assert state.tags == [] and state.state == "kept"
        undo_events = opened.conn.execute("SELECT value FROM events WHERE action = 'undo'").fetchall()
        assert len(undo_events) == 1 and len(json.loads(undo_events[0]["value"])["events"]) == 3
    again = cli(*w, "pile", "undo", handle)  # the next undo takes back the keep, not a leftover tag
    assert again.stdout.strip() == f"{handle} {TITLES[1]}: keep undone, now inbox"


# -- filters everywhere ------------------------------------------------------------------------------------
def _sprint_naming(root: Path, cli, item_ids: list[str]) -> None:
    """Sprint 1, whose reading list names these items (as `sprint reading` writes them)."""
    assert cli("-w", root, "new-sprint", "Do sparse attention heads matter?").exit_code == 0
    (sprint_md,) = (root / "sprints").glob("01-*/sprint.md")
    text = sprint_md.read_text(encoding="utf-8")
    listed = "\n".join(f"{n}. **Something** (paper): tldr `{item}`" for n, item in enumerate(item_ids, 1))
    head, _, rest = text.partition("## Reading list\n")
    _, _, after = rest.partition("\n## ")
    sprint_md.write_text(f"{head}## Reading list\n\n{listed}\n\n## {after}", encoding="utf-8")


def test_the_same_filters_narrow_list_search_inbox_export_and_digest(ws, cli):
    w = ("-w", ws)
    induction, autoencoders = "arxiv:2601.00001", "arxiv:2601.00002"  # TITLES[2], TITLES[4]
    cli(*w, "pile", "tag", induction, "Reading-Group")
    cli(*w, "pile", "tag", autoencoders, "reading-group", "later")
    cli(*w, "pile", "star", autoencoders)
    _sprint_naming(ws, cli, [autoencoders, "https://blog.example/post-1"])
    cited = cli(*w, "sprint", "log", "finding", "Heads matter less than sinks", "--cite", "2601.00000")
    assert cited.exit_code == 0, cited.stderr

    def ids_of(*args: str) -> set[str]:
        result = cli(*w, *args, "--json")
        assert result.exit_code == 0, (args, result.stderr)
        answer = json.loads(result.stdout)
        return {row["id"] for row in (answer["hits"] if isinstance(answer, dict) else answer)}

    assert ids_of("pile", "list", "--tag", "reading-group") == {induction, autoencoders}
    assert ids_of("pile", "list", "--tag", "reading-group", "--state", "starred") == {autoencoders}
    assert ids_of("pile", "list", "--kind", "post", "--since", "2025-02-15") == {"https://blog.example/post-2"}
    assert ids_of("pile", "list", "--sprint", "1") == {
        autoencoders,
        "https://blog.example/post-1",
        "arxiv:2601.00000",
    }  # listed, and cited
    assert ids_of("pile", "search", "sparse attention", "--tag", "later") == {autoencoders}
    assert ids_of("pile", "search", "sparse attention", "--sprint", "1", "--kind", "paper") == {
        autoencoders,
        "arxiv:2601.00000",
    }
    assert ids_of("pile", "inbox", "--tag", "reading-group") == {induction}  # the starred one is out of the inbox
    assert ids_of("pile", "inbox", "--sprint", "1") == {"https://blog.example/post-1", "arxiv:2601.00000"}
    digest = ws / "filtered-digest.md"
    assert cli(*w, "pile", "digest", "--since", "3000d", "--out", digest, "--tag", "later").exit_code == 0
    text = digest.read_text(encoding="utf-8")
    assert TITLES[4] in text and TITLES[2] not in text and TITLES[0] not in text
    unknown = cli(*w, "pile", "list", "--sprint", "99")
    assert unknown.exit_code != 0 and unknown.stderr.startswith("Error:") and len(unknown.stderr.splitlines()) == 1


def test_export_takes_the_same_filters(ws, cli):
    w = ("-w", ws)
    cli(*w, "pile", "tag", "arxiv:2601.00001", "reading-group")
    cli(*w, "pile", "tag", "https://blog.example/post-2", "reading-group")
    exported = cli(*w, "pile", "export", "--format", "bibtex", "--tag", "reading-group")
    assert exported.exit_code == 0, exported.stderr
    assert "Exported 2 items" in exported.stderr and exported.stdout.count("@") == 2
    assert TITLES[2] in exported.stdout and TITLES[5] in exported.stdout
    assert TITLES[4] not in exported.stdout


def test_pile_show_prints_a_hostile_title_as_text(ws, cli):
    hostile = "[link=http://evil.example]Click[/link] [bold red]me[/]"
    with Pile(db.connect(ws / "reading" / "pile.db")) as opened:
        opened.add([Entry(ids=["https://evil.example/post"], kind="post", title=hostile)], None, "feed")
    shown = cli("-w", ws, "pile", "show", "https://evil.example/post")
    assert shown.exit_code == 0 and hostile in shown.stdout
