"""What keeps `pile inbox` fast without changing its answer: a `limit` ranks every candidate but explains
only the items returned (the same items, in the same order, said the same way); the interests and the
sprint question are embedded once and kept in the workspace's cache folder, keyed on the embedder's
fitted state, so a later run does not load the embedder; a cache that is damaged, a symlink or cannot be
written is not used, and the ranking is the same."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from sabbatical import db
from sabbatical.config import Config, ReadingConfig
from sabbatical.reading import aim_cache, embed, rank, taste, topics
from tests.helpers.organise_pile import add_items, judge_and_decide, topic_pile

NOW = datetime(2026, 1, 2, tzinfo=UTC)
CONFIG = Config(reading=ReadingConfig(interests=["qubit entanglement", "protein folding"]))


@pytest.fixture
def pile(tmp_path):
    path = tmp_path / "pile.db"
    conn = db.connect(path)
    items = topic_pile(conn, per_topic=12, topics=("quantum", "vision", "biology", "language"))
    topics.organise(conn, Config())
    judge_and_decide(conn, items)
    conn.close()
    return path, items


def _rank(path, **options):
    conn = db.connect(path)
    try:
        return [asdict(r) for r in rank.rank_items(conn, CONFIG, now=NOW, **options)], conn
    finally:
        conn.close()


def test_a_limit_returns_the_first_items_of_the_whole_ranking_said_the_same_way(pile):
    path, _ = pile
    whole, _ = _rank(path)
    assert len(whole) == 48 - 22
    for limit in (1, 5, 20):
        assert _rank(path, limit=limit)[0] == whole[:limit]
    assert any("calibrated on your decisions" in r["why"] for r in whole)
    assert any("after the judged items on your interests: not judged yet" in r["why"] for r in whole)


def test_the_calibrated_insight_is_the_calibration_models_own_probability(pile):
    path, _ = pile
    conn = db.connect(path)
    try:
        from sabbatical.reading.summary_rows import latest_summary_rows

        summaries = latest_summary_rows(conn)
        model = rank.judge_calibration(conn, summaries)
        assert isinstance(model, taste.Logistic)
        for item in rank.rank_items(conn, CONFIG, now=NOW):
            score = summaries[item.id]["insight_score"] if item.id in summaries else None
            if score is None:
                continue
            expected = float(model.predict_proba([[rank._logit(score)]])[0, 1])
            assert item.insight == round(max(0.05, expected), 3)
    finally:
        conn.close()


def test_the_aims_are_embedded_once_and_a_later_run_does_not_load_the_embedder(pile, tmp_path):
    path, _ = pile
    cache = tmp_path / "ws" / ".sabbatical"
    cache.parent.mkdir()
    uncached, _ = _rank(path)
    first, _ = _rank(path, cache_dir=cache)
    stored = json.loads((cache / aim_cache.CACHE_FILE).read_text())
    assert stored["version"] == 1 and len(stored["vectors"]) == 2
    conn = db.connect(path)
    try:
        again = [asdict(r) for r in rank.rank_items(conn, CONFIG, now=NOW, cache_dir=cache)]
        assert not any(key[0] == "embedder" for key in embed.derived_cache(conn))  # never loaded
    finally:
        conn.close()
    assert uncached == first == again
    assert any("close to interest 'qubit entanglement'" in r["why"] for r in again)


def test_a_refit_gives_new_keys_and_the_ranking_follows_the_new_space(pile, tmp_path):
    path, _ = pile
    cache = tmp_path / ".sabbatical"
    _rank(path, cache_dir=cache)
    conn = db.connect(path)
    add_items(conn, "quantum", 6, start=100, seed=3)
    topics.organise(conn, Config(), refit=True)  # a new TF-IDF generation: every vector is in a new space
    conn.close()
    refit, _ = _rank(path, cache_dir=cache)
    assert refit == _rank(path)[0]
    assert len(json.loads((cache / aim_cache.CACHE_FILE).read_text())["vectors"]) == 4


def test_a_damaged_symlinked_or_unwritable_cache_is_not_used(pile, tmp_path):
    path, _ = pile
    expected, _ = _rank(path)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / aim_cache.CACHE_FILE).write_text('{"version": 1, "vectors": {"x": "not a vector"')
    assert _rank(path, cache_dir=damaged)[0] == expected
    assert len(json.loads((damaged / aim_cache.CACHE_FILE).read_text())["vectors"]) == 2  # replaced whole

    outside = tmp_path / "outside.json"
    outside.write_text("kept as it is")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / aim_cache.CACHE_FILE).symlink_to(outside)
    assert _rank(path, cache_dir=linked)[0] == expected
    assert outside.read_text() == "kept as it is"  # never written through the link
    assert not (linked / aim_cache.CACHE_FILE).is_symlink()  # the link itself was replaced by a real file

    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    assert _rank(path, cache_dir=not_a_folder)[0] == expected
