"""Ranking: insight × relevance × recency, explained per item; the open sprint's question counts;
a taste model learns from enough triage and `pile stats` reports its held-out accuracy."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sabbatical import db
from sabbatical.config import Config, ReadingConfig
from sabbatical.reading import rank, topics, triage
from tests.helpers.organise_pile import add_items, topic_pile

NOW = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


def _summarise(
    conn,
    item_id: str,
    score: float,
    contribution: str = "new_insight",
    tldr: str = "A finding.",
    prompt_version: str = "v1",
) -> None:
    conn.execute(
        "INSERT INTO summaries (item_id, content_hash, prompt_version, model, producer, status, tldr, "
        "contribution, insight_score) VALUES (?, 'h', ?, 'm', 'offline', 'ok', ?, ?, ?)",
        (item_id, prompt_version, tldr, contribution, score),
    )


def test_without_summaries_or_interests_everything_is_neutral_and_says_so(conn):
    topic_pile(conn, per_topic=5)
    ranked = rank.rank_items(conn, Config(), now=NOW)
    assert len(ranked) == 15
    first = ranked[0]
    assert (
        first.insight is None and first.relevance == 1.0 and first.score == pytest.approx(0.5 * first.recency, abs=1e-3)
    )
    assert "not summarised yet (neutral insight 0.5)" in first.why
    assert "no interests or open sprint" in first.why and "added" in first.why


def test_insight_interests_and_recency_order_the_inbox(conn):
    pile = topic_pile(conn, per_topic=8)
    topics.organise(conn, Config())
    for item_id in pile["quantum"] + pile["vision"]:
        _summarise(conn, item_id, 0.6)
    _summarise(conn, pile["quantum"][0], 0.95, tldr="Why qubits decohere.", prompt_version="v2")
    config = Config(reading=ReadingConfig(interests=["qubit entanglement"]))
    ranked = rank.rank_items(conn, config, now=NOW)
    assert ranked[0].id == pile["quantum"][0]
    assert ranked[0].tldr == "Why qubits decohere." and ranked[0].contribution == "new_insight"
    assert "insight 0.95 (new insight)" in ranked[0].why and "close to interest 'qubit entanglement'" in ranked[0].why
    order = [r.id for r in ranked]
    assert max(order.index(i) for i in pile["quantum"]) < min(order.index(i) for i in pile["vision"])
    old = add_items(conn, "quantum", 1, start=50, first_seen="2025-01-01T00:00:00Z")[0]
    _summarise(conn, old, 0.6)
    ranked = {r.id: r for r in rank.rank_items(conn, config, now=NOW)}
    assert ranked[old].recency < ranked[pile["quantum"][1]].recency and ranked[old].recency == 0.1
    assert ranked[old].relevance == 1.0 and "not embedded yet (neutral relevance)" in ranked[old].why


def test_only_the_asked_state_is_ranked_and_the_latest_summary_wins(conn):
    pile = topic_pile(conn, per_topic=4)
    triage.triage(conn, pile["vision"], "drop")
    _summarise(conn, pile["quantum"][0], 0.1)
    conn.execute(
        "INSERT INTO summaries (item_id, content_hash, prompt_version, model, producer, status, tldr, "
        "contribution, insight_score) VALUES (?, 'h2', 'v2', 'm', 'llm', 'ok', 'Newer.', 'survey', 0.9)",
        (pile["quantum"][0],),
    )
    inbox = {r.id for r in rank.rank_items(conn, Config(), now=NOW)}
    assert inbox == set(pile["quantum"] + pile["language"])
    assert {r.id for r in rank.rank_items(conn, Config(), state="dropped", now=NOW)} == set(pile["vision"])
    best = rank.rank_items(conn, Config(), now=NOW)[0]
    assert best.id == pile["quantum"][0] and best.tldr == "Newer." and best.insight == 0.9


def test_the_open_sprint_question_counts_as_an_interest(conn, tmp_path):
    from sabbatical.sprints.model import open_sprint_question

    pile = topic_pile(conn, per_topic=6)
    topics.organise(conn, Config())
    sprints = tmp_path / "sprints"
    (sprints / "01-closed").mkdir(parents=True)
    dates = "start: 2026-01-05\nend: 2026-01-19\n"
    (sprints / "01-closed" / "sprint.md").write_text(
        f"---\nid: '01'\nquestion: Do pixels matter?\n{dates}status: closed\n---\n"
    )
    (sprints / "02-open").mkdir()
    (sprints / "02-open" / "sprint.md").write_text(
        f"---\nid: '02'\nquestion: Can a parser learn grammar from a small corpus?\n{dates}status: open\n---\n# Plan\n"
    )
    (sprints / "03-broken").mkdir()
    (sprints / "03-broken" / "sprint.md").write_text("---\nquestion: [unclosed\n---\n")
    assert open_sprint_question(sprints) == "Can a parser learn grammar from a small corpus?"
    ranked = rank.rank_items(conn, Config(), sprints_dir=sprints, now=NOW)
    assert ranked[0].id in pile["language"] and "close to the sprint question" in ranked[0].why
    assert open_sprint_question(tmp_path / "nowhere") is None


def test_a_taste_model_learns_after_enough_triage_and_stats_report_its_accuracy(conn):
    pile = topic_pile(conn, per_topic=20, topics=("quantum", "vision", "biology"))
    topics.organise(conn, Config())
    report = rank.taste_report(conn, Config())
    assert not report.active and "needs ≥ 20" in report.needs
    triage.triage(conn, pile["quantum"][:12], "keep")
    triage.triage(conn, pile["vision"][:12], "drop")
    report = rank.taste_report(conn, Config())
    assert report.active and report.labelled == 24 and report.positives == 12 and report.folds == 5
    assert report.held_out_accuracy >= 0.9 and report.baseline_accuracy == 0.5
    ranked = {r.id: r for r in rank.rank_items(conn, Config(), now=NOW)}
    liked, disliked = ranked[pile["quantum"][15]], ranked[pile["vision"][15]]
    assert liked.taste > 0.5 > disliked.taste
    assert liked.score > disliked.score and "your taste model" in liked.why
    stats = rank.pile_stats(conn, Config())
    assert stats["states"] == {"inbox": 36, "kept": 12, "starred": 0, "dropped": 12}
    assert stats["kinds"] == {"paper": 60} and stats["taste"]["held_out_accuracy"] == report.held_out_accuracy


def test_too_few_of_one_kind_keeps_the_model_off(conn):
    pile = topic_pile(conn, per_topic=20)
    assert "no vectors yet" in rank.taste_report(conn, Config()).needs
    topics.organise(conn, Config())
    triage.triage(conn, pile["quantum"] + pile["vision"][:3], "keep")
    triage.triage(conn, pile["language"][:2], "drop")
    report = rank.taste_report(conn, Config())
    assert report.labelled == 25 and not report.active and "have 23 kept/starred, 2 dropped" in report.needs
    assert all(r.taste is None for r in rank.rank_items(conn, Config(), now=NOW))


def test_the_cli_shows_the_inbox_list_by_state_and_stats(workspace, cli):
    conn = db.connect(workspace.pile_path)
    pile = topic_pile(conn, per_topic=4)
    conn.close()
    w = ("--workspace", workspace.root)
    inbox = json.loads(cli(*w, "pile", "inbox", "--json", "-n", "5").stdout)
    assert len(inbox) == 5 and {"id", "score", "why", "insight", "relevance", "recency", "taste"} <= set(inbox[0])
    table = cli(*w, "pile", "inbox")
    assert table.exit_code == 0 and "why it is here" in table.stdout
    cli(*w, "pile", "star", pile["quantum"][0])
    before = workspace.pile_path.read_bytes()
    stats = cli(*w, "pile", "stats")
    assert stats.exit_code == 0 and "starred 1" in stats.stdout and "taste model: not yet" in stats.stdout
    assert "no vectors yet" in stats.stdout and workspace.pile_path.read_bytes() == before
    assert "insight judge: not calibrated yet — needs ≥ 20" in stats.stdout
    as_json = json.loads(cli(*w, "pile", "stats", "--json").stdout)
    assert as_json["items"] == 12 and as_json["states"]["starred"] == 1


def test_an_unjudged_item_has_no_insight_a_neutral_score_and_says_so(conn):
    pile = topic_pile(conn, per_topic=3)
    short, judged = pile["quantum"][0], pile["quantum"][1]
    _summarise(conn, short, None, contribution="unjudged", tldr="A title only.")
    _summarise(conn, judged, 0.9)
    ranked = {r.id: r for r in rank.rank_items(conn, Config(), now=NOW)}
    assert ranked[short].insight is None and ranked[short].contribution == "unjudged"
    assert "unjudged: too little text to judge (neutral insight 0.5)" in ranked[short].why
    assert ranked[short].score == pytest.approx(0.5 * ranked[short].recency, abs=1e-3)
    assert ranked[judged].insight == 0.9


def _decide(conn, scores_and_states):
    for n, (score, state) in enumerate(scores_and_states):
        item_id = f"arxiv:2601.{n:05d}"
        conn.execute(
            "INSERT INTO items (id, kind, title, content_hash) VALUES (?, 'paper', ?, 'h')", (item_id, item_id)
        )
        _summarise(conn, item_id, score)
        if state:
            triage.triage(conn, [item_id], state)


def test_the_judge_is_calibrated_on_your_decisions_and_stats_report_its_agreement(conn, tmp_path):
    # This researcher keeps only what the judge scores very high: at 0.5 the judge agrees with half of them.
    decisions = [(0.9 + n / 100, "keep") for n in range(10)] + [(0.55 + n / 100, "drop") for n in range(10)]
    early = db.connect(tmp_path / "early.db")
    _decide(early, decisions[:10] + decisions[10:15])
    before = rank.judge_agreement(early, Config())
    early.close()
    assert not before.active and before.labelled == 15 and "needs ≥ 20" in before.needs
    _decide(conn, decisions + [(0.6, None), (0.95, None)])
    report = rank.judge_agreement(conn, Config())
    assert report.active and report.labelled == 20 and report.raw_accuracy == 0.5
    assert report.held_out_accuracy >= 0.9 and report.baseline_accuracy == 0.5 and report.folds == 5
    ranked = {r.id: r for r in rank.rank_items(conn, Config(), now=NOW)}
    lukewarm, strong = ranked["arxiv:2601.00020"], ranked["arxiv:2601.00021"]
    assert lukewarm.insight < 0.3 < 0.7 < strong.insight
    assert "insight 0.60 (new insight), " in lukewarm.why and "calibrated on your decisions" in lukewarm.why
    assert rank.pile_stats(conn, Config())["judge"]["held_out_accuracy"] == report.held_out_accuracy
