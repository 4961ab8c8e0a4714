"""The judge's dev set (benchmarks/data/judge-dev.jsonl) is well-formed against the real corpus.

Every row names a paper that exists in its pool, carries a valid label and confidence, and stores no
third-party text; the random rows are exactly the seeded draw `judge_quality.py --draw` makes, so a hidden
set drawn the same way is comparable. The figures' arithmetic is checked on hand-made cases.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from benchmarks import judge_quality as jq

ALLOWED_KEYS = {"pool", "id", "label", "confidence", "note", "drawn"}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return jq.load_dev_set()


@pytest.fixture(scope="module")
def papers(corpus) -> dict:
    return {pool: {p.id: p for p in jq.pool_papers(corpus, pool)} for pool in jq.POOLS}


def test_rows_have_valid_fields_and_no_repeats(rows):
    assert len(rows) >= 300
    for row in rows:
        assert set(row) <= ALLOWED_KEYS and {"pool", "id", "label", "confidence", "note"} <= set(row), row
        assert row["pool"] in jq.POOLS and row["label"] in jq.LABELS and row["confidence"] in jq.CONFIDENCES, row
        assert row.get("drawn", "random") in ("random", "searched"), row
        assert isinstance(row["note"], str) and len(row["note"]) <= 200, row
    keys = Counter((r["pool"], r["id"]) for r in rows)
    assert [key for key, n in keys.items() if n > 1] == []


def test_all_three_pools_and_labels_are_well_represented(rows):
    per_pool = Counter(r["pool"] for r in rows)
    assert set(per_pool) == set(jq.POOLS) and min(per_pool.values()) >= 80, per_pool
    per_label = Counter(r["label"] for r in rows)
    assert min(per_label.values()) >= 40, per_label
    assert {r["pool"] for r in rows if r["label"] == "insight"} == set(jq.POOLS)
    assert Counter(r["confidence"] for r in rows)["low"] >= 30  # the lower-confidence figure means something


def test_every_id_exists_in_its_pool_with_an_abstract(rows, papers):
    missing = [(r["pool"], r["id"]) for r in rows if r["id"] not in papers[r["pool"]]]
    assert missing == []
    pattern = {
        "daily": r"arxiv:\d{4}\.\d{4,5}",
        "oai": r"arxiv:(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})",
        "csv": r"keras:[0-9a-f]{12}",
    }
    assert [r["id"] for r in rows if not re.fullmatch(pattern[r["pool"]], r["id"])] == []
    assert all(papers[r["pool"]][r["id"]].abstract for r in rows)


def test_random_rows_are_the_seeded_draw_of_each_pool(rows, papers):
    for pool in jq.POOLS:
        drawn = [r["id"] for r in rows if r["pool"] == pool and r.get("drawn", "random") == "random"]
        expected = [p.id for p in jq.draw(list(papers[pool].values()), pool, len(drawn))]
        assert sorted(drawn) == sorted(expected), pool


def test_notes_quote_no_third_party_text(rows, papers):
    """A note is the labeller's own words: no run of eight words from the paper's title or abstract."""

    def runs(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        return {tuple(words[i : i + 8]) for i in range(len(words) - 7)}

    copied = [
        r["id"]
        for r in rows
        if r["note"]
        and runs(r["note"]) & runs(papers[r["pool"]][r["id"]].title + " " + papers[r["pool"]][r["id"]].abstract)
    ]
    assert copied == []


def test_figures_on_hand_made_cases():
    truth = [True, True, False, False, False]
    assert jq.balanced_accuracy(truth, [True, False, False, False, True]) == pytest.approx((0.5 + 2 / 3) / 2)
    assert jq.balanced_accuracy([True, True], [True, False]) is None
    assert jq.roc_auc(truth, [0.9, 0.4, 0.4, 0.1, 0.2]) == pytest.approx((3 + 2.5) / 6)
    case = jq.Case("daily", "arxiv:1", "other", "low", "t", "a")
    scored = [jq.Scored(case, "other", None), jq.Scored(case, "sota", 0.2)]
    result = jq.figures(scored)
    assert result["other_recall"] == (1, 2) and result["unjudged"] == 1
    assert result["confusion"]["other"] == {"insight": 0, "sota": 1, "other": 1}


def test_folds_are_seeded_and_stratified(rows):
    cases = [jq.Case(r["pool"], r["id"], r["label"], r["confidence"], "", "") for r in rows]
    folds = jq.folds(cases, 5)
    assert folds == jq.folds(cases, 5) and set(folds) == set(range(5))
    for label in jq.LABELS:
        sizes = Counter(f for f, c in zip(folds, cases) if c.label == label)
        assert max(sizes.values()) - min(sizes.values()) <= 1
