"""`pile stats` keeps the taste model's report in the workspace's cache folder: a kept report is used while
no decision and no vector changes, and a missing, damaged or stale one is computed again; the pile is
never written."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from sabbatical import db
from sabbatical.config import Config
from sabbatical.reading import rank, stats_cache, topics, triage
from tests.helpers.organise_pile import build_decided_pile, topic_pile


@pytest.fixture(scope="module")
def decided_pile(tmp_path_factory):
    """A pile with vectors and 24 decisions (an active taste model), copied fresh for each test."""
    path = tmp_path_factory.mktemp("stats-pile") / "pile.db"
    return path, build_decided_pile(path, Config())


@pytest.fixture
def conn(decided_pile, tmp_path):
    copy = tmp_path / "pile.db"
    copy.write_bytes(decided_pile[0].read_bytes())
    connection = db.connect(copy)
    yield connection
    connection.close()


def _kept(cache_dir):
    return json.loads((cache_dir / stats_cache.CACHE_FILE).read_text())["figures"]["taste"]


def _doctor(cache_dir, **changes):
    """Alter the kept report's figures (not its key): a report read back from the file shows them."""
    path = cache_dir / stats_cache.CACHE_FILE
    data = json.loads(path.read_text())
    data["figures"]["taste"]["value"].update(changes)
    path.write_text(json.dumps(data))


def test_a_missing_cache_is_computed_and_kept_and_then_used(conn, tmp_path):
    cache = tmp_path / ".sabbatical"
    fresh = rank.taste_report(conn, Config())
    assert fresh.active and fresh.held_out_accuracy is not None
    assert rank.taste_report(conn, Config(), cache_dir=cache) == fresh  # the folder does not exist yet
    assert _kept(cache)["value"] == asdict(fresh)
    _doctor(cache, held_out_accuracy=0.123)
    assert rank.taste_report(conn, Config(), cache_dir=cache).held_out_accuracy == 0.123  # read, not refit
    assert rank.pile_stats(conn, Config(), cache_dir=cache)["taste"]["held_out_accuracy"] == 0.123


def test_a_new_decision_makes_the_kept_report_stale(conn, decided_pile, tmp_path):
    cache = tmp_path / ".sabbatical"
    rank.taste_report(conn, Config(), cache_dir=cache)
    _doctor(cache, held_out_accuracy=0.123)
    triage.triage(conn, decided_pile[1]["biology"][:3], "drop")
    report = rank.taste_report(conn, Config(), cache_dir=cache)
    assert report == rank.taste_report(conn, Config()) and report.labelled == 27
    assert _kept(cache)["value"]["labelled"] == 27


def test_a_changed_vector_makes_the_kept_report_stale(conn, decided_pile, tmp_path):
    cache = tmp_path / ".sabbatical"
    rank.taste_report(conn, Config(), cache_dir=cache)
    _doctor(cache, held_out_accuracy=0.123)
    one = decided_pile[1]["quantum"][0]
    row = conn.execute("SELECT * FROM embeddings WHERE item_id = ?", (one,)).fetchone()
    conn.execute(  # re-embedded: the same vector under a new rowid, as a replace stores it
        "INSERT OR REPLACE INTO embeddings (item_id, model, content_hash, dim, vector) VALUES (?, ?, ?, ?, ?)",
        (row["item_id"], row["model"], row["content_hash"], row["dim"], row["vector"]),
    )
    assert rank.taste_report(conn, Config(), cache_dir=cache).held_out_accuracy != 0.123


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00\xff not json",
        b"[]",
        b'{"version": 1, "figures": []}',
        b'{"version": 99, "figures": {}}',
        b'{"version": 1, "figures": {"taste": "x"}}',
        b'{"version": 1, "figures": {"taste": {"key": [], "value": {}}}}',
    ],
    ids=["bytes", "a list", "figures not a map", "another version", "entry not a map", "wrong key"],
)
def test_a_damaged_cache_is_computed_again_and_replaced(conn, tmp_path, damage):
    cache = tmp_path / ".sabbatical"
    cache.mkdir()
    (cache / stats_cache.CACHE_FILE).write_bytes(damage)
    assert rank.taste_report(conn, Config(), cache_dir=cache) == rank.taste_report(conn, Config())
    assert _kept(cache)["value"]["active"] is True


def test_a_kept_value_of_the_right_key_but_the_wrong_shape_is_computed_again(conn, tmp_path):
    cache = tmp_path / ".sabbatical"
    rank.taste_report(conn, Config(), cache_dir=cache)
    _doctor(cache, no_such_field=1)
    assert rank.taste_report(conn, Config(), cache_dir=cache) == rank.taste_report(conn, Config())
    assert "no_such_field" not in _kept(cache)["value"]


def test_reading_stats_never_writes_the_pile(conn, tmp_path):
    cache = tmp_path / ".sabbatical"
    before = conn.total_changes
    rank.pile_stats(conn, Config(), cache_dir=cache)
    rank.pile_stats(conn, Config(), cache_dir=cache)
    assert conn.total_changes == before


def test_a_symlinked_cache_file_is_neither_followed_nor_replaced(conn, tmp_path):
    cache = tmp_path / ".sabbatical"
    cache.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text("keep me")
    (cache / stats_cache.CACHE_FILE).symlink_to(outside)
    assert rank.taste_report(conn, Config(), cache_dir=cache) == rank.taste_report(conn, Config())
    assert outside.read_text() == "keep me" and (cache / stats_cache.CACHE_FILE).is_symlink()


def test_a_cache_folder_that_cannot_be_written_changes_nothing(conn, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert rank.taste_report(conn, Config(), cache_dir=blocker / ".sabbatical") == rank.taste_report(conn, Config())


def test_the_cli_keeps_the_report_in_the_workspace_cache(workspace, cli):
    conn = db.connect(workspace.pile_path)
    pile = topic_pile(conn, per_topic=10, topics=("quantum", "vision"))
    topics.organise(conn, Config())
    triage.triage(conn, pile["quantum"][:10], "keep")
    triage.triage(conn, pile["vision"][:10], "drop")
    conn.commit()
    conn.close()
    w = ("--workspace", workspace.root)
    first = cli(*w, "pile", "stats")
    assert first.exit_code == 0 and "taste model: held-out accuracy" in first.stdout
    _doctor(workspace.cache_dir, held_out_accuracy=0.123)
    assert "held-out accuracy 12% over 20 decisions" in cli(*w, "pile", "stats").stdout
    cli(*w, "pile", "keep", pile["vision"][0])
    assert "held-out accuracy 12%" not in cli(*w, "pile", "stats").stdout


def _tastes(conn, cache_dir):
    return {r.id: (r.taste, r.score) for r in rank.rank_items(conn, Config(), state=None, cache_dir=cache_dir)}


def test_the_inbox_keeps_the_fitted_taste_model_and_ranks_the_same_with_it(conn, decided_pile, tmp_path):
    cache = tmp_path / ".sabbatical"
    fresh = _tastes(conn, None)
    assert any(taste is not None for taste, _ in fresh.values())
    with db.connect(conn.execute("PRAGMA database_list").fetchone()["file"]) as first:  # a run of its own
        assert _tastes(first, cache) == fresh  # fitted and kept
    kept = json.loads((cache / stats_cache.CACHE_FILE).read_text())["figures"]["taste-model"]["value"]
    assert len(kept["coef"]) > 0 and isinstance(kept["intercept"], float)
    with db.connect(conn.execute("PRAGMA database_list").fetchone()["file"]) as other:  # a later run
        assert _tastes(other, cache) == fresh  # read back: the same coefficients to the last bit


def test_kept_coefficients_are_used_until_a_decision_changes_them(conn, decided_pile, tmp_path):
    cache = tmp_path / ".sabbatical"
    path = conn.execute("PRAGMA database_list").fetchone()["file"]
    _tastes(conn, cache)
    data = json.loads((cache / stats_cache.CACHE_FILE).read_text())
    entry = data["figures"]["taste-model"]["value"]
    entry["coef"], entry["intercept"] = [0.0] * len(entry["coef"]), 9.0  # "you would keep anything"
    (cache / stats_cache.CACHE_FILE).write_text(json.dumps(data))
    later = db.connect(path)
    assert {round(taste, 3) for taste, _ in _tastes(later, cache).values()} == {1.0}
    triage.triage(later, decided_pile[1]["biology"][:1], "drop")
    assert {round(taste, 3) for taste, _ in _tastes(later, cache).values()} != {1.0}
    later.close()


def test_damaged_coefficients_are_fitted_again(conn, tmp_path):
    cache = tmp_path / ".sabbatical"
    path = conn.execute("PRAGMA database_list").fetchone()["file"]
    fresh = _tastes(conn, None)
    with db.connect(path) as first:
        _tastes(first, cache)
    for damage in (["x", 1.0], {"a": 1}, None):
        data = json.loads((cache / stats_cache.CACHE_FILE).read_text())
        data["figures"]["taste-model"]["value"]["coef"] = damage if damage is not None else [0.5]
        data["figures"]["taste-model"]["value"]["intercept"] = "not a number" if damage is None else 0.0
        (cache / stats_cache.CACHE_FILE).write_text(json.dumps(data))
        later = db.connect(path)
        assert _tastes(later, cache) == fresh, damage
        later.close()
