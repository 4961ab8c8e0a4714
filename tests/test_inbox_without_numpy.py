"""A daily `pile inbox` and `pile stats` on a pile whose figures are kept (the aims' vectors, the taste model,
the judge's calibration and its held-out accuracy, every item's closeness and P(keep)) import no numpy and
say exactly what a run that computes them says; a new decision makes them stale; a kept calibration or
held-out accuracy is what a later run uses, and a damaged one is computed again."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from sabbatical import db
from sabbatical.reading import rank, stats_cache, topics
from sabbatical.workspace import find_workspace, init_workspace
from tests.helpers.organise_pile import judge_and_decide, topic_pile

SPRINT = """---
id: '01'
title: Quantum
question: Which qubit entanglement schemes survive noise?
start: '2026-12-07'
end: '2026-12-20'
status: open
---

# Sprint 01
"""
REPORT = "\nimport sys\nprint('NUMPY' if 'numpy' in sys.modules else 'NO-NUMPY')\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A workspace with vectors, an open sprint, judged summaries and 22 decisions; copied for each test."""
    workspace, _ = init_workspace(tmp_path_factory.mktemp("daily") / "ws", title="Daily")
    conn = db.connect(workspace.pile_path)
    items = topic_pile(conn, per_topic=12, topics=("quantum", "vision", "biology"))
    topics.organise(conn, workspace.config)
    judge_and_decide(conn, items)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    (workspace.sprints_dir / "01-quantum").mkdir(parents=True)
    (workspace.sprints_dir / "01-quantum" / "sprint.md").write_text(SPRINT)
    return workspace.root, items


@pytest.fixture
def root(built, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(built[0], copy)
    return copy


def _run(root, *args):
    """`sabbatical -w ROOT ARGS` in a fresh interpreter: (its output, whether it imported numpy)."""
    code = (
        "import sys\n"
        f"sys.argv = ['sabbatical', '-w', {str(root)!r}, *{list(args)!r}]\n"
        "from sabbatical.cli import main\n"
        "try:\n    main()\n"
        "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
    )
    done = subprocess.run([sys.executable, "-c", code + REPORT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    output, _, last = done.stdout.rstrip().rpartition("\n")
    return output, last == "NUMPY"


def _uncached_inbox(root):
    workspace = find_workspace(root)
    conn = db.connect(workspace.pile_path)
    try:
        ranked = rank.rank_items(conn, workspace.config, sprints_dir=workspace.sprints_dir, limit=20)
        return [(r.id, r.score, r.why) for r in ranked]
    finally:
        conn.close()


def _as_ranked(output):
    return [(r["id"], r["score"], r["why"]) for r in json.loads(output)]


def _figures(root):
    return json.loads((root / ".sabbatical" / stats_cache.CACHE_FILE).read_text())


def test_a_later_inbox_and_stats_import_no_numpy_and_say_the_same(root):
    first_inbox, _ = _run(root, "pile", "inbox", "--json")
    first_stats, _ = _run(root, "pile", "stats", "--json")
    assert any("the sprint question" in why for *_, why in _as_ranked(first_inbox))
    assert json.loads(first_stats)["judge"]["active"] and json.loads(first_stats)["taste"]["active"]
    assert _run(root, "pile", "inbox", "--json") == (first_inbox, False)
    assert _run(root, "pile", "stats", "--json") == (first_stats, False)
    assert _as_ranked(first_inbox) == _uncached_inbox(root)
    table, numpy = _run(root, "pile", "inbox")
    assert not numpy and "#" in table


def test_after_a_decision_the_inbox_is_worked_out_again_as_without_any_cache(root, built):
    _run(root, "pile", "inbox", "--json")
    _run(root, "pile", "keep", built[1]["biology"][5])
    inbox, numpy = _run(root, "pile", "inbox", "--json")
    assert numpy  # the taste model is fitted again, over the vectors
    assert _as_ranked(inbox) == _uncached_inbox(root)
    assert _run(root, "pile", "inbox", "--json") == (inbox, False)


def test_a_kept_calibration_is_what_a_later_inbox_uses(root):
    _run(root, "pile", "inbox", "--json")
    data = _figures(root)
    data["figures"]["judge-calibration"]["value"] = {"coef": [0.0], "intercept": 9.0}  # "keep every judged item"
    (root / ".sabbatical" / stats_cache.CACHE_FILE).write_text(json.dumps(data))
    inbox, _ = _run(root, "pile", "inbox", "--json")
    assert {r["insight"] for r in json.loads(inbox) if r["insight"] is not None} == {1.0}


@pytest.mark.parametrize("damage", [{"coef": ["x"], "intercept": 0.0}, {"coef": [0.5]}, "text"])
def test_a_damaged_calibration_is_fitted_again(root, damage):
    _run(root, "pile", "inbox", "--json")
    data = _figures(root)
    data["figures"]["judge-calibration"]["value"] = damage
    (root / ".sabbatical" / stats_cache.CACHE_FILE).write_text(json.dumps(data))
    inbox, _ = _run(root, "pile", "inbox", "--json")
    assert _as_ranked(inbox) == _uncached_inbox(root)


def test_a_kept_held_out_accuracy_is_used_until_a_decision_changes_it(root, built):
    fresh = json.loads(_run(root, "pile", "stats", "--json")[0])["judge"]["held_out_accuracy"]
    data = _figures(root)
    data["figures"]["judge-held-out"]["value"] = {"accuracy": 0.123}
    (root / ".sabbatical" / stats_cache.CACHE_FILE).write_text(json.dumps(data))
    assert json.loads(_run(root, "pile", "stats", "--json")[0])["judge"]["held_out_accuracy"] == 0.123
    data["figures"]["judge-held-out"]["value"] = {"accuracy": "high"}
    (root / ".sabbatical" / stats_cache.CACHE_FILE).write_text(json.dumps(data))
    assert json.loads(_run(root, "pile", "stats", "--json")[0])["judge"]["held_out_accuracy"] == fresh
    _run(root, "pile", "drop", built[1]["quantum"][10])
    assert json.loads(_run(root, "pile", "stats", "--json")[0])["judge"]["labelled"] == 23
