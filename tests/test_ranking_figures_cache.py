"""Ranking keeps every item's closeness to the aims and its P(keep) in the workspace's cache folder
(`.sabbatical/ranking-figures.json` and `ranking-taste.json`): a later run ranks with the kept figures
without loading the vectors, to the last bit; a new decision makes P(keep) stale and only it (the closeness
is read back), a changed vector makes both stale, a changed interest the closeness; a damaged or symlinked
file is computed again (never followed); the pile is never written."""

from __future__ import annotations

import json

import pytest

from sabbatical import db
from sabbatical.config import Config, ReadingConfig
from sabbatical.reading import embed, rank, stats_cache, triage
from tests.helpers.organise_pile import build_decided_pile

CONFIG = Config(reading=ReadingConfig(interests=["qubit entanglement"]))


@pytest.fixture(scope="module")
def decided_pile(tmp_path_factory):
    """A pile with vectors, an interest and 24 decisions (an active taste model), copied fresh for each test."""
    path = tmp_path_factory.mktemp("ranking-pile") / "pile.db"
    return path, build_decided_pile(path, CONFIG)


@pytest.fixture
def path(decided_pile, tmp_path):
    copy = tmp_path / "pile.db"
    copy.write_bytes(decided_pile[0].read_bytes())
    return copy


def _ranked(path, cache_dir, config=CONFIG):
    """Every item's ranking as a fresh run sees it (its own connection: nothing kept in memory)."""
    conn = db.connect(path)
    try:
        return [
            (r.id, r.score, r.relevance, r.taste, r.why)
            for r in rank.rank_items(conn, config, state=None, cache_dir=cache_dir)
        ]
    finally:
        conn.close()


def _file(cache_dir, column="ids"):
    """The file a kept column is in: P(keep) apart from the rest."""
    return cache_dir / (stats_cache.TASTE_FILE if column == "liked" else stats_cache.RANKING_FILE)


def _entry(column):
    return "liked" if column == "liked" else "closeness"


def _doctor(cache_dir, column, value):
    """Set every row of a kept column (not its key): a ranking read back from the file shows it."""
    data = json.loads(_file(cache_dir, column).read_text())
    figures = data["figures"][_entry(column)]["value"]
    figures[column] = [value] * len(figures[column])
    _file(cache_dir, column).write_text(json.dumps(data))


def _vectors_loaded(path, cache_dir) -> bool:
    """Whether one ranking loaded the vector matrix (it is kept with the connection once loaded)."""
    conn = db.connect(path)
    try:
        rank.rank_items(conn, CONFIG, cache_dir=cache_dir)
        return any(isinstance(key, tuple) and key[0] == "index" for key in embed.derived_cache(conn))
    finally:
        conn.close()


def test_kept_figures_rank_the_same_to_the_last_bit_without_loading_the_vectors(path, tmp_path):
    cache = tmp_path / ".sabbatical"
    fresh = _ranked(path, None)
    assert any(taste is not None for *_, taste, _ in fresh)
    assert any("close to interest 'qubit entanglement'" in why for *_, why in fresh)
    assert _vectors_loaded(path, cache)  # the first run computes and keeps them
    assert _file(cache).is_file()
    assert not _vectors_loaded(path, cache)  # a later run reads them
    assert _ranked(path, cache) == fresh


def test_kept_figures_are_what_a_later_run_ranks_with(path, tmp_path):
    cache = tmp_path / ".sabbatical"
    _ranked(path, cache)
    _doctor(cache, "liked", 0.5)  # "you would keep half of anything"
    assert {taste for *_, taste, _ in _ranked(path, cache)} == {0.5}


def test_a_new_decision_makes_the_kept_figures_stale(path, decided_pile, tmp_path):
    cache = tmp_path / ".sabbatical"
    _ranked(path, cache)
    _doctor(cache, "liked", 0.5)
    conn = db.connect(path)
    triage.triage(conn, decided_pile[1]["biology"][:3], "drop")
    conn.close()
    assert _ranked(path, cache) == _ranked(path, None)
    assert {taste for *_, taste, _ in _ranked(path, cache)} != {0.5}


def test_a_new_decision_recomputes_p_keep_only(path, decided_pile, tmp_path):
    cache = tmp_path / ".sabbatical"
    _ranked(path, cache)
    _doctor(cache, "best_similarity", 0.99)  # read back after the decision: the aims did not change
    conn = db.connect(path)
    triage.triage(conn, decided_pile[1]["biology"][:3], "drop")
    conn.close()
    closeness = _file(cache).read_bytes()
    ranked = _ranked(path, cache)
    close = [why for *_, why in ranked if "close to" in why]
    assert close and all("(0.99)" in why for why in close)  # the kept closeness, read back
    assert _file(cache).read_bytes() == closeness  # not rewritten
    fresh = {item: (taste, why.split("; your taste")[-1]) for item, _, _, taste, why in _ranked(path, None)}
    assert {item: (taste, why.split("; your taste")[-1]) for item, _, _, taste, why in ranked} == fresh


def test_a_changed_vector_makes_the_kept_figures_stale(path, decided_pile, tmp_path):
    cache = tmp_path / ".sabbatical"
    _ranked(path, cache)
    _doctor(cache, "best_similarity", 0.99)
    conn = db.connect(path)
    one = decided_pile[1]["biology"][0]
    row = conn.execute("SELECT * FROM embeddings WHERE item_id = ?", (one,)).fetchone()
    conn.execute(  # re-embedded: the same vector under a new rowid, as a replace stores it
        "INSERT OR REPLACE INTO embeddings (item_id, model, content_hash, dim, vector) VALUES (?, ?, ?, ?, ?)",
        (row["item_id"], row["model"], row["content_hash"], row["dim"], row["vector"]),
    )
    conn.close()
    assert _ranked(path, cache) == _ranked(path, None)


def test_a_changed_interest_makes_the_kept_figures_stale(path, tmp_path):
    cache = tmp_path / ".sabbatical"
    _ranked(path, cache)
    other = Config(reading=ReadingConfig(interests=["cell biology"]))
    assert _ranked(path, cache, other) == _ranked(path, None, other)
    assert any("close to interest 'cell biology'" in why for *_, why in _ranked(path, cache, other))


@pytest.mark.parametrize(
    "column, damage",
    [
        ("ids", ["not", "these"]),
        ("ids", "x"),
        ("best_aim", [7] * 3),
        ("best_similarity", None),
        ("liked", ["0.5"] * 2),
        ("liked", 0.5),
    ],
    ids=["fewer ids", "ids not a list", "an aim that is not there", "a missing column", "text", "not a list"],
)
def test_damaged_figures_are_computed_again(path, tmp_path, column, damage):
    cache = tmp_path / ".sabbatical"
    fresh = _ranked(path, None)
    _ranked(path, cache)
    data = json.loads(_file(cache, column).read_text())
    data["figures"][_entry(column)]["value"][column] = damage
    _file(cache, column).write_text(json.dumps(data))
    assert _ranked(path, cache) == fresh


def test_a_file_that_is_not_json_is_computed_again(path, tmp_path):
    cache = tmp_path / ".sabbatical"
    cache.mkdir()
    _file(cache).write_bytes(b"\x00\xff not json")
    assert _ranked(path, cache) == _ranked(path, None)
    assert json.loads(_file(cache).read_text())["figures"]["closeness"]["value"]["ids"]


@pytest.mark.parametrize("column", ["ids", "liked"], ids=["closeness", "P(keep)"])
def test_a_symlinked_figures_file_is_neither_followed_nor_replaced(path, tmp_path, column):
    cache = tmp_path / ".sabbatical"
    cache.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text("keep me")
    _file(cache, column).symlink_to(outside)
    assert _ranked(path, cache) == _ranked(path, None)
    assert outside.read_text() == "keep me" and _file(cache, column).is_symlink()


def test_ranking_with_kept_figures_never_writes_the_pile(path, tmp_path):
    cache = tmp_path / ".sabbatical"
    conn = db.connect(path)
    before = conn.total_changes
    rank.rank_items(conn, CONFIG, cache_dir=cache)
    rank.rank_items(conn, CONFIG, cache_dir=cache)
    assert conn.total_changes == before
    conn.close()


def test_stats_never_read_the_ranking_figures(path, tmp_path):
    cache = tmp_path / ".sabbatical"
    _ranked(path, cache)
    for column in ("ids", "liked"):
        _file(cache, column).write_text("{ damaged")
    conn = db.connect(path)
    rank.pile_stats(conn, CONFIG, cache_dir=cache)
    conn.close()
    assert _file(cache).read_text() == _file(cache, "liked").read_text() == "{ damaged"
