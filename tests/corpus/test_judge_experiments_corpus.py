"""The judge's experiment bench (benchmarks/judge_experiments.py) measures the judge that ships.

With the shipped grids (one class weight, no n-gram block scaling, the judge's own grid of wording scales) its
nested cross-validation of the `dense` variant must judge every row as `judge_quality.py --cv` does through
`judge_training.train` and `judge.judge`: same kind, same score to the judge's rounding. Otherwise a figure it prints for
a variant would be compared against a different baseline. Run on a stratified slice of the dev set so it stays
fast.
"""

from __future__ import annotations

import pytest

from benchmarks import judge_experiments as bench
from benchmarks import judge_quality as jq
from sabbatical.reading import judge, judge_training


@pytest.fixture(scope="module")
def slice_of_cases(corpus) -> list[jq.Case]:
    every = jq.cases(jq.load_dev_set(), corpus)
    return [c for label in jq.LABELS for c in [c for c in every if c.label == label][:30]]


def test_the_bench_judges_each_row_as_the_shipped_training_does(slice_of_cases):
    product = jq.cross_validated(slice_of_cases, 5, seed=15)
    base = [judge.features(c.title, c.abstract) for c in slice_of_cases]
    present = [set(found) for _, found in base]
    dense = bench.dense_vectors(slice_of_cases, base, "dense")
    grid = bench.Grid(weight=(1.0,), scale=(1.0,), dense=judge_training.WORDING_SCALE_GRID)
    scored, chosen = bench.nested(slice_of_cases, present, 15, grid, dense=dense)
    assert len(chosen) == 5
    assert all(
        c in judge_training.C_GRID and t in judge_training.THRESHOLD_GRID and d in judge_training.WORDING_SCALE_GRID
        for c, _, _, t, d in chosen
    )
    assert [s.label for s in scored] == [s.label for s in product]
    for ours, theirs in zip(scored, product):
        if theirs.score is None:
            assert ours.score is None
        else:
            assert ours.score == pytest.approx(theirs.score, abs=0.006), ours.case.id


def test_a_variant_adds_features_and_drops_none(slice_of_cases):
    case = next(c for c in slice_of_cases if "we propose" in c.abstract.lower())
    sentences, found = judge.features(case.title, case.abstract)
    extra = bench.VARIANTS["both"](sentences, found)
    assert extra and not extra & set(found)
    assert any(name.startswith("shape:") for name in extra)
    assert bench.VARIANTS["base"](sentences, found) == set() == bench.VARIANTS["dense"](sentences, found)


def test_the_dense_variant_is_the_judges_wording_block(slice_of_cases):
    base = [judge.features(c.title, c.abstract) for c in slice_of_cases[:5]]
    dense = bench.dense_vectors(slice_of_cases[:5], base, "dense")
    alone = [judge.wording_vectors([judge.wording_text(sentences)])[0] for sentences, _ in base]
    assert dense.shape == (5, 256) and abs(dense - alone).max() < 1e-6
    assert bench.dense_vectors(slice_of_cases[:5], base, "base") is None
    assert bench.dense_vectors(slice_of_cases[:5], base, "dense-split").shape == (5, 512)
