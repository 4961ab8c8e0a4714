"""The judge reads each cue pattern once over an item's joined sentences (not once per sentence); the
features it finds are exactly those a sentence-by-sentence search finds, in the same order: on text where a
match runs across a sentence end, on upper case and non-ASCII text, and on hostile strings."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sabbatical.reading import judge

ALL_PATTERNS = [
    *(p for _, p in judge._COMPILED_CUES),
    *(p for _, p in judge._COMPILED_KINDS),
    judge.OWN_MARKER,
    judge.PRIOR_MARKER,
    judge.ML_WORDS,
    judge.STRONG_ML_WORDS,
    judge.CLAIM,
    judge.CONTRAST,
    judge.GAIN,
]


def sentence_by_sentence(monkeypatch: pytest.MonkeyPatch, title: str, body: str) -> list:
    with monkeypatch.context() as patch:
        patch.setattr(judge.Joined, "hits", judge.Joined.hits_each)
        patch.setattr(judge.Joined, "words", judge.Joined.words_each)
        return flat(*judge.features(title, body))


def flat(sentences: list[judge.Sentence], found: dict[str, list[int]]) -> list:
    return [[(s.text, s.role, s.index) for s in sentences], list(found.items())]


def test_a_match_across_a_sentence_end_is_not_given_to_either_sentence(monkeypatch):
    # Joined, "improved.\nBy 5%" matches "improves by X" across the end of the first sentence.
    title, body = "Accuracy", "Our accuracy improved. By 5% of the runs we mean the last ones, and we show that."
    text = judge.joined(judge.sentence_roles(title, body))
    improves = dict(judge._COMPILED_CUES)["improves by X"]
    assert improves.search(text.text) and text.hits(improves) == set() == text.hits_each(improves)
    assert flat(*judge.features(title, body)) == sentence_by_sentence(monkeypatch, title, body)
    assert not any(name.endswith("improves by X") for name in judge.features(title, body)[1])


def test_upper_case_and_non_ascii_text_find_the_same_features(monkeypatch):
    cases = [
        ("WHY DO MODELS FAIL?", "WE FIND THAT STATE-OF-THE-ART MODELS DO NOT GENERALISE. THE MECHANISM IS A CIRCUIT."),
        (
            "Über Aufmerksamkeit",
            "We show that the attention mechanism in LLMs is not İnterpretable. Surprisingly, it"
            " fails; our ſtudy explains why (K = 3). We propose a new method that outperforms baselines by 4.1 points.",
        ),
        ("", "Prior work has been widely used.\nWe   introduce\ta benchmark for graphs."),
    ]
    for title, body in cases:
        assert flat(*judge.features(title, body)) == sentence_by_sentence(monkeypatch, title, body)


def test_every_pattern_is_written_in_lower_case():
    # Lowered ASCII text is matched by each pattern's case-sensitive copy: an upper-case letter outside an
    # escape (\W, \S, \b) would then never match.
    for pattern in ALL_PATTERNS:
        assert not re.search(r"(?<!\\)[A-Z]", pattern.pattern), pattern.pattern


_VOCABULARY = (
    "we find that show state-of-the-art SOTA outperforms improved by 4.1 points % . ? ! \n , our this paper "
    "prior work has been mechanism attention circuits understanding language insights fails does not "
    "contrary to surprisingly neural learning LLMs İ ſ K é <script> & ... e.g. et al. survey we argue"
)
WORDS = st.sampled_from(_VOCABULARY.split(" "))


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, max_size=6).map(" ".join), st.lists(WORDS | st.text(max_size=8), max_size=60).map(" ".join))
def test_hostile_text_finds_the_same_features_either_way(title, body):
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert flat(*judge.features(title, body)) == sentence_by_sentence(monkeypatch, title, body)
