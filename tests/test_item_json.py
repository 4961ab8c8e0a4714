"""Contract: the one JSON shape of an item, as `pile show|list|search --json` print it (reading/item_json.py).

A key added here is added to README's "JSON output" section; a key renamed or removed needs a new
`json_version`. One workspace (the tour's samples, summarised offline, organised, triaged) serves the module.
"""

from __future__ import annotations

import json

import pytest

from sabbatical import db
from sabbatical.reading import item_json, topics, triage
from sabbatical.tour import read_stage, summarise_stage
from sabbatical.workspace import init_workspace

CORE_KEYS = {
    "json_version",
    "id",
    "seq",
    "kind",
    "title",
    "authors",
    "abstract",
    "url",
    "published",
    "updated",
    "categories",
    "private",
    "first_seen",
    "last_changed",
    "content_hash",
    "handle",
    "sources",
    "state",
    "state_at",
    "tags",
    "notes",
    "topic",
    "summary",
}
DETAIL_KEYS = CORE_KEYS | {
    "content",
    "extra",
    "metadata_from",
    "aliases",
    "versions",
    "earlier_texts",
    "links_out",
    "links_in",
}
SUMMARY_KEYS = {
    "producer",
    "model",
    "prompt_version",
    "created_at",
    "current",
    "tldr",
    "kind",
    "insight_score",
    "rationale",
    "insight_quote",
    "key_claims",
    "topics",
    "questions",
    "quotes_verified",
    "quotes_total",
}
PAPER = "arxiv:2601.01302"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("item-json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(root / "home"))
        patch.delenv("SABBATICAL_WORKSPACE", raising=False)
        patch.delenv("OPENAI_BASE_URL", raising=False)
        patch.delenv("OPENAI_API_KEY", raising=False)
        ws, _ = init_workspace(root / "ws", title="JSON contract")
        read_stage(ws)
        summarise_stage(ws)
        conn = db.connect(ws.pile_path)
        topics.organise(conn, ws.config)
        triage.triage(conn, [PAPER], "star")
        triage.tag(conn, PAPER, ["phase-diagram", "to-cite"])
        triage.add_note(conn, PAPER, "compare with the grokking paper")
        conn.close()
    return ws


def _json(cli, workspace, *args):
    result = cli("--workspace", workspace.root, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_pile_show_json_carries_summary_topic_triage_tags_and_notes(cli, workspace):
    shown = _json(cli, workspace, "pile", "show", "2601.01302")
    assert set(shown) == DETAIL_KEYS
    assert shown["json_version"] == item_json.ITEM_JSON_VERSION == 1
    assert (shown["id"], shown["state"], shown["tags"]) == (PAPER, "starred", ["phase-diagram", "to-cite"])
    assert [n["text"] for n in shown["notes"]] == ["compare with the grokking paper"] and shown["state_at"]
    assert set(shown["topic"]) == {"id", "name", "similarity"} and shown["topic"]["name"]
    summary = shown["summary"]
    assert set(summary) == SUMMARY_KEYS
    assert summary["producer"] == "offline" and summary["model"] and summary["prompt_version"]
    assert summary["tldr"] and summary["kind"] and summary["current"] is True
    assert all(
        set(c) == {"claim", "quote", "check"} and c["check"] in ("verified", "not_found", "too_short")
        for c in summary["key_claims"]
    )
    assert shown["versions"][0]["version"] == 3 and shown["links_in"]
    assert {"kind", "locator", "title", "entry_id", "first_seen"} == set(shown["sources"][0])


def test_pile_list_json_is_the_same_record_for_every_item(cli, workspace):
    listed = _json(cli, workspace, "pile", "list", "--limit", "0")
    assert len(listed) > 10 and all(set(r) == CORE_KEYS for r in listed)
    paper = next(r for r in listed if r["id"] == PAPER)
    shown = _json(cli, workspace, "pile", "show", PAPER)
    assert paper == {k: v for k, v in shown.items() if k in CORE_KEYS}
    untouched = next(r for r in listed if r["id"] != PAPER and r["summary"])
    assert (untouched["state"], untouched["state_at"], untouched["tags"], untouched["notes"]) == ("inbox", None, [], [])


def test_ranked_and_searched_items_carry_the_record_under_item(cli, workspace):
    starred = _json(cli, workspace, "pile", "list", "--state", "starred")
    assert [r["id"] for r in starred] == [PAPER] and set(starred[0]["item"]) == CORE_KEYS
    assert starred[0]["item"]["tags"] == ["phase-diagram", "to-cite"]
    hits = _json(cli, workspace, "pile", "search", "superposition weight decay")["hits"]
    assert hits and all(set(h["item"]) == CORE_KEYS and h["item"]["id"] == h["id"] for h in hits)
    assert any(h["item"]["summary"] for h in hits)


def test_the_library_builds_the_same_records_in_bulk(workspace):
    conn = db.connect(workspace.pile_path)
    try:
        ids = [r["id"] for r in conn.execute("SELECT id FROM items ORDER BY id")]
        records = item_json.item_records(conn, [*reversed(ids), "no-such-item"])
        assert [r["id"] for r in records] == list(reversed(ids))
        one = item_json.item_record(conn, PAPER)
        assert next(r for r in records if r["id"] == PAPER) == {k: v for k, v in one.items() if k in CORE_KEYS}
    finally:
        conn.close()
