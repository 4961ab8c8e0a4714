"""Triage: keep/star/drop/unmark, notes and tags as append-only events; undo is another event;
the state is derived; nothing is ever deleted; unknown ids fail alone (exit 3) after the rest is kept."""

from __future__ import annotations

import json

import pytest

from sabbatical import db
from sabbatical.errors import ExitCode, NotFound, PartialFailure, UsageError
from sabbatical.reading import triage
from tests.helpers.organise_pile import add_item, add_items, event_count


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


def test_triage_states_follow_the_latest_event(conn):
    a, b, c = add_items(conn, "quantum", 3)
    triage.triage(conn, [a], "keep")
    triage.triage(conn, [b], "star")
    triage.triage(conn, [c], "drop")
    assert {i: triage.current_state(conn, i).state for i in (a, b, c)} == {a: "kept", b: "starred", c: "dropped"}
    triage.triage(conn, [a], "star")
    triage.triage(conn, [c], "inbox")
    assert triage.current_state(conn, a).state == "starred" and triage.current_state(conn, c).state == "inbox"
    assert triage.counts_by_state(conn) == {"inbox": 1, "kept": 0, "starred": 2, "dropped": 0}
    assert triage.ids_in_state(conn, "starred") == {a, b}
    assert triage.ids_in_state(conn, "inbox") == {c}
    with pytest.raises(UsageError, match="inbox, kept, starred, dropped"):
        triage.ids_in_state(conn, "archived")


def test_undo_walks_back_one_event_at_a_time_and_is_itself_an_event(conn):
    (item,) = add_items(conn, "vision", 1)
    triage.triage(conn, [item], "keep")
    triage.triage(conn, [item], "star")
    before = event_count(conn)
    (undone,) = triage.undo(conn, [item])
    assert undone.action == "undo star" and undone.state == "kept"
    assert event_count(conn) == before + 1
    last = conn.execute("SELECT action, value FROM events ORDER BY id DESC LIMIT 1").fetchone()
    assert last["action"] == "undo" and json.loads(last["value"])["action"] == "star"
    triage.undo(conn, [item])
    assert triage.current_state(conn, item).state == "inbox"
    with pytest.raises(PartialFailure, match="could not be") as failure:
        triage.undo(conn, [item])
    assert failure.value.failures == [f"{item}: nothing to undo"]


def test_notes_and_tags_fold_and_undo(conn):
    (item,) = add_items(conn, "language", 1)
    triage.add_note(conn, item, "  Compare with the parser paper.  ")
    triage.tag(conn, item, ["Parsing", "to-read", "parsing"])
    triage.tag(conn, item, ["to-read"], remove=True)
    state = triage.current_state(conn, item)
    assert [n.text for n in state.notes] == ["Compare with the parser paper."]
    assert state.tags == ["parsing"]
    triage.undo(conn, [item])  # undoes the untag
    assert triage.current_state(conn, item).tags == ["parsing", "to-read"]
    with pytest.raises(UsageError):
        triage.add_note(conn, item, "   ")
    with pytest.raises(UsageError):
        triage.tag(conn, item, [" "])


def test_nothing_is_ever_deleted_and_events_only_grow(conn):
    ids = add_items(conn, "biology", 4)
    counts = [event_count(conn)]
    for action in ("keep", "star", "drop", "inbox"):
        triage.triage(conn, ids, action)
        counts.append(event_count(conn))
    triage.undo(conn, ids)
    counts.append(event_count(conn))
    assert counts == sorted(counts) and counts[-1] == 20
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 4
    with pytest.raises(Exception, match="append-only"):
        conn.execute("UPDATE events SET action = 'keep'")
    with pytest.raises(Exception, match="never deleted"):
        conn.execute("DELETE FROM items")


def test_items_are_named_by_id_alias_arxiv_id_or_url(conn):
    add_item(conn, "arxiv:2310.01405", "Representation engineering", "top-down transparency")
    conn.execute("INSERT INTO aliases (alias, item_id, kind) VALUES ('doi:10.1/x', 'arxiv:2310.01405', 'doi')")
    for ref in ("arxiv:2310.01405", "2310.01405", "2310.01405v2", "https://arxiv.org/abs/2310.01405v1", "doi:10.1/x"):
        assert triage.resolve_item(conn, ref) == "arxiv:2310.01405", ref
    with pytest.raises(NotFound, match="pile list"):
        triage.resolve_item(conn, "arxiv:9999.99999")


def test_unknown_ids_fail_alone_after_the_others_are_recorded(conn):
    (item,) = add_items(conn, "quantum", 1)
    with pytest.raises(PartialFailure) as failure:
        triage.triage(conn, [item, "test:nope"], "keep")
    assert failure.value.exit_code == ExitCode.PARTIAL
    assert len(failure.value.failures) == 1 and "test:nope" in failure.value.failures[0]
    assert triage.current_state(conn, item).state == "kept"


def test_the_cli_triages_undoes_and_exits_3_on_a_bad_id(workspace, cli):
    conn = db.connect(workspace.pile_path)
    a, b = add_items(conn, "vision", 2)
    labels = {
        i: f"#{r['seq']} {r['title']}"
        for i in (a, b)
        for r in [conn.execute("SELECT seq, title FROM items WHERE id = ?", (i,)).fetchone()]
    }
    conn.close()
    w = ("--workspace", workspace.root)
    assert cli(*w, "pile", "keep", a).stdout.strip() == f"{labels[a]}: kept"
    assert cli(*w, "pile", "star", b).stdout.strip() == f"{labels[b]}: starred"
    dropped = cli(*w, "pile", "drop", a, "test:missing")
    assert dropped.exit_code == ExitCode.PARTIAL
    assert dropped.stdout.strip() == f"{labels[a]}: dropped"
    assert "no item 'test:missing'" in dropped.stderr
    undone = cli(*w, "pile", "undo", a)
    assert undone.exit_code == 0 and undone.stdout.strip() == f"{labels[a]}: drop undone, now kept"
    assert cli(*w, "pile", "unmark", b).stdout.strip() == f"{labels[b]}: inbox"
    noted = cli(*w, "pile", "note", a, "worth a sprint")
    assert noted.exit_code == 0 and noted.stdout.strip() == f"{labels[a]}: note added"
    tagged = cli(*w, "pile", "tag", a, "Vision", "later")
    assert tagged.stdout.strip() == f"{labels[a]}: tags vision, later"
    untagged = cli(*w, "pile", "tag", a, "later", "--remove")
    assert untagged.stdout.strip() == f"{labels[a]}: tags vision"
    conn = db.connect(workspace.pile_path)
    assert triage.current_state(conn, a).state == "kept"
    assert [n.text for n in triage.current_state(conn, a).notes] == ["worth a sprint"]
    conn.close()


def test_pile_list_by_state_is_ranked_and_explained(workspace, cli):
    conn = db.connect(workspace.pile_path)
    quantum = add_items(conn, "quantum", 3)
    add_items(conn, "vision", 3, kind="post")
    conn.close()
    w = ("--workspace", workspace.root)
    cli(*w, "pile", "star", *quantum[:2])
    starred = json.loads(cli(*w, "pile", "list", "--state", "starred", "--json").stdout)
    assert {r["id"] for r in starred} == set(quantum[:2]) and all(r["why"] for r in starred)
    inbox = json.loads(cli(*w, "pile", "list", "--state", "inbox", "--kind", "post", "--json").stdout)
    assert len(inbox) == 3 and all(r["kind"] == "post" for r in inbox)
    bad = cli(*w, "pile", "list", "--state", "archived")
    assert bad.exit_code == ExitCode.USAGE and "inbox, kept, starred, dropped" in bad.stderr


def test_pile_show_tells_the_topic_state_tags_and_notes(workspace, cli):
    conn = db.connect(workspace.pile_path)
    (item,) = add_items(conn, "quantum", 1)
    conn.close()
    w = ("--workspace", workspace.root)
    before = cli(*w, "pile", "show", item)
    assert before.exit_code == 0, before.stderr
    assert "topic: not organised yet" in before.stdout and "state: inbox" in before.stdout
    cli(*w, "pile", "star", item)
    cli(*w, "pile", "tag", item, "qubits")
    cli(*w, "pile", "note", item, "read the appendix")
    shown = cli(*w, "pile", "show", item).stdout
    assert "state: starred since" in shown and "tags: qubits" in shown and "read the appendix" in shown
