"""The judge's wording block: WordLlama's vector of the title and the paper's own sentences, a dense block with
a scale of its own. An abstract worded like the training rows' average adds nothing; the rationale keeps
naming the named features and says when the wording tipped the decision; without wordllama the judge still
judges, as if the wording were average."""

from __future__ import annotations

import json

import pytest

from sabbatical.reading import embed, judge, judge_training
from sabbatical.reading.summary_schema import ContributionKind

from .test_judge_features import BACKGROUND_SOTA, OWN_SOTA, ROWS

TITLE = "Why do demonstrations stop helping?"


def vector_of(title: str, body: str):
    sentences, _ = judge.features(title, body)
    return judge.wording_vectors([judge.wording_text(sentences)])[0]


def test_the_wording_text_is_the_title_and_the_papers_own_sentences():
    sentences, _ = judge.features("A decoder", OWN_SOTA)
    text = judge.wording_text(sentences)
    assert text.startswith("A decoder We propose") and "remains challenging" not in text
    vector = vector_of("A decoder", OWN_SOTA)
    assert vector.shape == (embed.WORDLLAMA_DIM,) and abs(float(vector @ vector) - 1) < 1e-5


def test_the_shipped_judge_has_a_wording_block_in_its_insight_head():
    model = judge.shipped_model()
    assert model.wording is not None and model.about["wording_scale"] in judge_training.WORDING_SCALE_GRID[1:]
    assert {len(model.wording.mean), len(model.wording.insight)} == {embed.WORDLLAMA_DIM}
    assert model.wording.push(model.wording.mean) == 0.0  # the average wording adds nothing
    sentences, _ = judge.features(TITLE, BACKGROUND_SOTA)
    on_insight = model.wording_push(sentences)
    assert on_insight != 0
    verdict = model.judge(TITLE, BACKGROUND_SOTA)
    assert verdict.wording == pytest.approx(on_insight, abs=1e-4)  # insight: its push towards insight


def wording_only(bias: float, towards_insight: float) -> judge.JudgeModel:
    """A model whose named features weigh nothing except one, so that the wording alone can tip it."""
    mean = [0.0] * embed.WORDLLAMA_DIM
    direction = list(vector_of(TITLE, BACKGROUND_SOTA) * towards_insight)
    wording = judge.Wording(mean, direction)
    return judge.JudgeModel({"claim:contrast": 0.5}, bias, {}, 1.0, 0.5, {}, wording)


def test_the_rationale_says_when_the_wording_tipped_the_decision():
    tipped = wording_only(bias=-0.7, towards_insight=1.0).judge(TITLE, BACKGROUND_SOTA)
    assert tipped.kind is ContributionKind.NEW_INSIGHT and tipped.wording_tipped and tipped.wording > 0
    assert tipped.rationale.endswith("; the text's overall wording tipped it")
    assert "a finding set against expectation" in tipped.rationale.split("decided by", 1)[1]
    held = wording_only(bias=0.0, towards_insight=1.0).judge(TITLE, BACKGROUND_SOTA)
    assert held.kind is ContributionKind.NEW_INSIGHT and not held.wording_tipped
    assert "wording" not in held.rationale
    against = wording_only(bias=0.0, towards_insight=-1.0).judge(TITLE, BACKGROUND_SOTA)
    assert against.kind is not ContributionKind.NEW_INSIGHT and against.wording_tipped and against.wording > 0
    assert against.rationale.endswith("; the text's overall wording tipped it")


def test_training_picks_the_wording_scale_and_the_weights_round_trip():
    model = judge_training.train(ROWS)
    assert model.about["wording_scale"] in judge_training.WORDING_SCALE_GRID
    fixed = judge_training.train(ROWS, c=0.05, threshold=0.5, wording_scale=0.2)
    assert fixed.wording is not None and fixed.about["wording_scale"] == 0.2
    again = judge.JudgeModel.from_json(json.loads(json.dumps(fixed.to_json())))
    for title, body in ((TITLE, BACKGROUND_SOTA), ("A decoder", OWN_SOTA)):
        first, second = fixed.judge(title, body), again.judge(title, body)
        # (the file leaves out weights under 0.0005, which a rationale may name as "against it")
        assert (first.kind, first.score, first.wording_tipped) == (second.kind, second.score, second.wording_tipped)
        assert first.wording == pytest.approx(second.wording, abs=1e-3)
    assert judge_training.train(ROWS, c=0.05, threshold=0.5, wording_scale=0.0).wording is None


def test_without_wordllama_the_judge_judges_as_if_the_wording_were_average(monkeypatch):
    with_vectors = judge.shipped_model().judge(TITLE, BACKGROUND_SOTA)
    monkeypatch.setattr(judge, "wording_vectors", lambda texts: None)
    verdict = judge.shipped_model().judge(TITLE, BACKGROUND_SOTA)
    assert verdict.wording == 0.0 and not verdict.wording_tipped and verdict.rationale
    assert verdict.score != with_vectors.score
    assert judge_training.train(ROWS, c=0.05, threshold=0.5).wording is None


def test_weights_without_a_wording_block_still_load():
    data = judge.shipped_model().to_json()
    data["format"] = 1
    del data["wording"]
    old = judge.JudgeModel.from_json(data)
    assert old.wording is None and old.judge(TITLE, BACKGROUND_SOTA).wording == 0.0
    with pytest.raises(ValueError, match="train-judge"):
        judge.JudgeModel.from_json({**data, "format": 99})
