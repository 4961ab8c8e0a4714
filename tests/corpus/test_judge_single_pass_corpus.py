"""On every text of the judge's dev set, the single pass over an item's joined sentences finds exactly the
features a sentence-by-sentence search finds (same names, same sentences, same order)."""

from __future__ import annotations

import pytest

from benchmarks import judge_quality as jq
from sabbatical.reading import judge


def test_the_dev_set_texts_get_the_same_features_either_way(corpus):
    cases = jq.cases(jq.load_dev_set(), corpus)
    fast = [judge.features(c.title, c.abstract)[1] for c in cases]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(judge.Joined, "hits", judge.Joined.hits_each)
        patch.setattr(judge.Joined, "words", judge.Joined.words_each)
        slow = [judge.features(c.title, c.abstract)[1] for c in cases]
    assert len(cases) >= 300
    assert [list(f.items()) for f in fast] == [list(f.items()) for f in slow]
