"""The summary schema: what a valid summary is, and checking its quotes against the source text."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sabbatical.llm import parse_answer, strict_json_schema
from sabbatical.reading.summary_schema import (
    ContributionKind,
    Summary,
    normalise_for_matching,
    quote_occurs,
    split_sentences,
    verify_quotes,
)

SOURCE = (
    r"Scaling Laws Revisited. We find that \emph{loss} curves bend at a critical batch-size. "
    "Surprisingly, the effect vanishes for deduplicated data. Our model outperforms GPT-2 by 3.1% on "
    "LAMBADA, i.e. a new state-of-the-art."
)


def valid(**changes) -> dict:
    data = {
        "tldr": "Loss curves bend at a critical batch size. The effect vanishes on deduplicated data.",
        "key_claims": [{"claim": "Curves bend.", "quote": "We find that loss curves bend at a critical batch-size"}],
        "contribution": "new_insight",
        "insight": {
            "score": 0.8,
            "rationale": "It explains a behaviour.",
            "quote": "the effect vanishes for deduplicated data",
        },
        "topics": ["scaling laws"],
        "questions": [],
    }
    data.update(changes)
    return data


def test_a_valid_summary_round_trips():
    summary = Summary.model_validate(valid())
    assert summary.contribution is ContributionKind.NEW_INSIGHT
    assert Summary.model_validate(summary.model_dump(mode="json")) == summary


@pytest.mark.parametrize(
    "change",
    [
        {"tldr": "One. Two. Three sentences are too many."},
        {"contribution": "groundbreaking"},
        {"insight": {"score": 1.5, "rationale": "Too high.", "quote": "the effect vanishes"}},
        {"insight": {"score": 0.5, "rationale": "First sentence. Second sentence.", "quote": "the effect vanishes"}},
        {"key_claims": []},
        {"admin": True},
    ],
)
def test_invalid_summaries_are_rejected(change):
    with pytest.raises(ValidationError):
        Summary.model_validate(valid(**change))


def test_every_contribution_kind_of_the_issue_exists():
    assert {k.value for k in ContributionKind} == {
        "new_insight",
        "new_method",
        "sota_increment",
        "dataset_benchmark",
        "tool_system",
        "survey",
        "position",
        "other",
        "unjudged",
    }


def test_sentences_split_without_breaking_abbreviations():
    text = "We use e.g. dropout, as in Smith et al. 2020. It works! Does it scale? 3 runs agree."
    assert split_sentences(text) == [
        "We use e.g. dropout, as in Smith et al. 2020.",
        "It works!",
        "Does it scale?",
        "3 runs agree.",
    ]


def test_normalisation_ignores_case_whitespace_latex_and_typography():
    assert normalise_for_matching("We  find\nthat \\emph{Loss} curves — “bend”") == "we find that loss curves bend"
    assert normalise_for_matching(r"improves by 3.1\% (+1.2~BLEU)") == "improves by 3.1% 1.2 bleu"


def test_quotes_that_occur_verify_and_others_are_flagged_not_dropped():
    summary = Summary.model_validate(
        valid(
            key_claims=[
                {"claim": "a", "quote": "WE FIND THAT LOSS CURVES bend at a critical batch size"},
                {"claim": "b", "quote": "outperforms GPT-2 by 3.1% on LAMBADA"},
                {"claim": "c", "quote": "the model explains all of language"},
                {"claim": "d", "quote": "bend"},
            ]
        )
    )
    checks = verify_quotes(summary, SOURCE)
    assert [c.status for c in checks] == ["verified", "verified", "not_found", "too_short", "verified"]
    assert len(checks) == 5 and checks[2].quote == "the model explains all of language"


def test_an_ellipsis_in_a_quote_matches_the_parts_in_order():
    source = normalise_for_matching(SOURCE)
    assert quote_occurs("We find that loss curves … deduplicated data", source) == "verified"
    assert quote_occurs("deduplicated data ... We find that loss curves", source) == "not_found"


def test_pdf_hyphenation_across_a_line_break_still_verifies():
    source = "Large models memo-\nrise rare sequences early in training."
    summary = Summary.model_validate(
        valid(
            key_claims=[{"claim": "x", "quote": "Large models memorise rare sequences"}],
            insight={"score": 0.5, "rationale": "Fine.", "quote": "rare sequences early in training"},
        )
    )
    assert all(c.verified for c in verify_quotes(summary, source))


def test_the_strict_schema_requires_every_field_and_forbids_others():
    schema = strict_json_schema(Summary)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"tldr", "key_claims", "contribution", "insight", "topics", "questions"}
    for definition in schema["$defs"].values():
        if definition.get("type") == "object":
            assert definition["additionalProperties"] is False
            assert set(definition["required"]) == set(definition["properties"])


def test_parse_answer_explains_what_is_wrong():
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_answer("{nope", Summary)
    with pytest.raises(ValueError, match="contribution"):
        parse_answer('{"tldr": "x", "contribution": "great"}', Summary)
    fenced = "```json\n" + Summary.model_validate(valid()).model_dump_json() + "\n```"
    assert parse_answer(fenced, Summary).contribution is ContributionKind.NEW_INSIGHT
