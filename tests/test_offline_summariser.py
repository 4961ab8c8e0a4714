"""The offline summariser and learned judge: real sentences, verifiable quotes, a transparent verdict."""

from __future__ import annotations

import pytest

from sabbatical import db
from sabbatical.reading.offline import OFFLINE_MODEL, OFFLINE_VERSION, summarise_offline
from sabbatical.reading.summarise import OFFLINE, latest_summary, summarise_pile
from sabbatical.reading.summary_schema import ContributionKind, SourceDocument, Summary, split_sentences, verify_quotes
from sabbatical.tour import summarise_stage
from tests.helpers.fake_openai import insert_items, sample_documents

INSIGHT = SourceDocument(
    "arxiv:1",
    "paper",
    "Why do transformers copy?",
    "We train small transformers on synthetic sequences. We find that two attention heads form an induction "
    "mechanism early in training. Surprisingly, the mechanism fails to form when positional information is "
    "removed. Our analysis explains the phase change seen in the loss curve.",
    "",
    "h1",
)
SOTA = SourceDocument(
    "arxiv:2",
    "paper",
    "A stronger baseline for machine translation",
    "We revisit data augmentation for translation. Our system achieves state-of-the-art results on WMT14 and "
    "outperforms the previous best system by 1.1 BLEU. It also improves accuracy by 2.4% on two further "
    "benchmarks, a new SOTA.",
    "",
    "h2",
)
SURVEY = SourceDocument(
    "arxiv:3",
    "paper",
    "Retrieval-augmented generation: a survey",
    "This survey reviews retrieval-augmented generation methods. We organise forty papers by "
    "where retrieval happens, what is retrieved, and how the retrieved passages are used by the "
    "generator.",
    "",
    "h3",
)


@pytest.mark.parametrize("document", [INSIGHT, SOTA, SURVEY])
def test_every_quote_is_a_real_sentence_of_the_text_and_verifies(document):
    summary = summarise_offline(document)
    assert isinstance(summary, Summary)
    checks = verify_quotes(summary, document.full_text)
    assert checks and all(c.verified for c in checks), checks
    assert len(split_sentences(summary.tldr)) <= 2


def test_the_judge_tells_insight_from_a_benchmark_gain():
    insight, sota = summarise_offline(INSIGHT), summarise_offline(SOTA)
    assert insight.contribution is ContributionKind.NEW_INSIGHT
    assert sota.contribution is ContributionKind.SOTA_INCREMENT
    assert insight.insight.score > 0.7 > 0.4 > sota.insight.score


def test_the_rationale_names_the_features_that_decided():
    sota = summarise_offline(SOTA).insight.rationale
    assert sota.startswith("Learned judge: sota increment")
    sota_decided_by = sota.split("decided by", 1)[1].split("; against", 1)[0]
    assert any(
        f"{gain} in its own claims" in sota_decided_by
        for gain in ('"state-of-the-art"', '"outperforms"', '"improves by X"', "a benchmark gain")
    ), sota
    insight = summarise_offline(INSIGHT)
    assert insight.insight.rationale.startswith("Learned judge: new insight")
    decided_by = insight.insight.rationale.split("decided by", 1)[1].split("; against", 1)[0]
    assert '"explains" in its own claims' in decided_by
    # the quote is the body sentence holding a claim cue the rationale names
    quoted = [cue for cue in ("explains", "we find that") if cue in insight.insight.quote.lower()]
    assert quoted and f'"{quoted[0]}" in its own claims' in decided_by, (insight.insight.quote, decided_by)


def test_explicit_kinds_are_recognised():
    assert summarise_offline(SURVEY).contribution is ContributionKind.SURVEY
    dataset = SourceDocument(
        "x",
        "paper",
        "CodeBench",
        "We introduce a new benchmark of 2,000 coding tasks "
        "drawn from open-source repositories, each with tests written by hand. "
        "Models solve 31% of them.",
        "",
        "h",
    )
    assert summarise_offline(dataset).contribution is ContributionKind.DATASET_BENCHMARK


def test_a_title_only_item_still_gets_a_valid_summary_but_no_judgement():
    summary = summarise_offline(SourceDocument("u", "page", "Notes on scaling laws", "", "", "h"))
    assert summary.key_claims[0].quote == "Notes on scaling laws"
    assert summary.contribution is ContributionKind.UNJUDGED and summary.insight is None


@pytest.mark.parametrize(
    "text",
    [
        "Interpretability",
        "A one-line teaser about interpretability and mechanisms of surprising emergent understanding.",
        "x " * 19,
    ],
)
def test_too_little_text_is_unjudged_however_insightful_its_words(text):
    summary = summarise_offline(SourceDocument("u", "page", "Interpretability", text, "", "h"))
    assert summary.contribution is ContributionKind.UNJUDGED and summary.insight is None
    assert all(c.field != "insight" for c in verify_quotes(summary, text))


def test_state_of_the_art_in_a_background_sentence_does_not_make_a_finding_sota():
    finding = SourceDocument(
        "arxiv:5",
        "paper",
        "Why do state-of-the-art detectors fail on rotated objects?",
        "State-of-the-art object detectors outperform earlier systems on COCO. We find that their accuracy "
        "collapses when objects are rotated, and we trace the failure to the anchor boxes used in training. "
        "Surprisingly, larger models fail more often, which explains the gap between benchmark and field results.",
        "",
        "h5",
    )
    summary = summarise_offline(finding)
    assert summary.contribution is ContributionKind.NEW_INSIGHT, summary.insight
    assert '"state-of-the-art" in its own claims' not in summary.insight.rationale


def test_offline_summaries_are_labelled_with_what_made_them(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    insert_items(conn, sample_documents(6))
    report = summarise_pile(conn, OFFLINE)
    assert (report.done, report.failed, report.calls) == (6, 0, 0)
    assert report.quotes_verified == report.quotes_total > 0
    rows = conn.execute("SELECT DISTINCT producer, model, prompt_version, status FROM summaries").fetchall()
    assert [tuple(r) for r in rows] == [("offline", OFFLINE_MODEL, OFFLINE_VERSION, "ok")]
    assert conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0] == 0
    stored = latest_summary(conn, "test:00000")
    assert stored.producer == "offline" and stored.summary.contribution is ContributionKind.NEW_INSIGHT


def test_the_tour_stage_summarises_once_and_is_idempotent(workspace):
    conn = db.connect(workspace.pile_path)
    assert summarise_stage(workspace) == "no items to summarise yet"
    insert_items(conn, sample_documents(4))
    first = summarise_stage(workspace)
    assert first.startswith("summarised 4 items offline") and "16/16 quotes verified" in first
    second = summarise_stage(workspace)
    assert second.startswith("summarised 0 items offline") and "4 already done" in second
    assert conn.execute("SELECT COUNT(*) FROM summaries").fetchone()[0] == 4
