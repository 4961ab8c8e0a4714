"""The inbox never ranks an item that is not judged yet, or one far from every interest, above the
judged items on the researcher's interests, however its score comes out; each says why it is there."""

from __future__ import annotations

from datetime import UTC, datetime

from sabbatical import db
from sabbatical.config import Config, ReadingConfig
from sabbatical.reading import rank, topics
from tests.helpers.organise_pile import add_items, topic_pile

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def _summarise(conn, item_id: str, score: float | None, contribution: str = "new_insight") -> None:
    conn.execute(
        "INSERT INTO summaries (item_id, content_hash, prompt_version, model, producer, status, tldr, "
        "contribution, insight_score) VALUES (?, 'h', 'v1', 'm', 'offline', 'ok', 'A finding.', ?, ?)",
        (item_id, contribution, score),
    )


def test_unjudged_and_off_interest_items_come_after_judged_relevant_ones(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    pile = topic_pile(conn, per_topic=8)
    topics.organise(conn, Config())
    for item_id in pile["quantum"]:
        _summarise(conn, item_id, 0.2, "sota_increment")  # judged, on interest, but a low score
    for item_id in pile["vision"]:
        _summarise(conn, item_id, 0.99)  # judged, high score, off interest
    _summarise(conn, pile["language"][0], None, "unjudged")  # too little text to judge
    fresh = add_items(conn, "quantum", 2, start=40, first_seen="2026-01-02T00:00:00Z")  # newest, not summarised
    config = Config(reading=ReadingConfig(interests=["qubit entanglement photon"]))
    ranked = rank.rank_items(conn, config, now=NOW)
    order = [r.id for r in ranked]
    first_rest = min(order.index(i) for i in pile["vision"] + pile["language"] + fresh)
    assert max(order.index(i) for i in pile["quantum"]) < first_rest
    why = {r.id: r.why for r in ranked}
    assert all("far from your interests" in why[i] for i in pile["vision"])
    assert "not judged yet" in why[pile["language"][0]] and all("not judged yet" in why[i] for i in fresh)
    assert not any("after the judged items" in why[i] for i in pile["quantum"])
    assert all("insight 0.20" in why[i] and "close to interest" in why[i] for i in pile["quantum"])
    conn.close()
