"""The learned judge's features and training, on constructed abstracts: sentence roles decide what a cue
means, findings set against expectation and benchmark gains are read from the paper's own claims, and an
item that is not about machine learning says so."""

from __future__ import annotations

from sabbatical.reading import judge, judge_training, offline, stopwords
from sabbatical.reading.summary_schema import ContributionKind

BACKGROUND_SOTA = (
    "State-of-the-art language models achieve new state-of-the-art results on many benchmarks. "
    "We find that, contrary to the common view, their accuracy does not improve with more demonstrations "
    "when the labels are shuffled. We trace the failure to induction heads that copy the label tokens, "
    "which explains why larger models are more affected."
)
OWN_SOTA = (
    "Image segmentation remains challenging. We propose a new decoder for vision transformers pre-trained "
    "with self-supervised learning. "
    "Our model sets a new state of the art on ADE20K, improving mIoU by 2.3 points, and outperforms "
    "strong baselines on COCO with fewer parameters."
)
NOT_ML = (
    "Join queries over many relations are hard for query optimisers. We show that structural properties "
    "of the query, such as acyclicity, make evaluation faster in a relational database system, and we "
    "measure the gain on standard query workloads."
)


def names(title: str, body: str) -> set[str]:
    return set(judge.features(title, body)[1])


def test_state_of_the_art_in_a_background_sentence_is_not_a_gain_of_the_paper():
    found = names("Why do demonstrations stop helping?", BACKGROUND_SOTA)
    assert "background:state-of-the-art" in found
    assert not {"own:state-of-the-art", "own:gain", "claim:gain"} & found
    assert "claim:contrast" in found  # "we find that ... does not", "contrary to"


def test_a_gain_in_the_papers_own_claims_is_read_as_one():
    found = names("A decoder for segmentation", OWN_SOTA)
    assert {"own:gain", "own:state-of-the-art", "own:outperforms"} <= found
    assert "claim:contrast" not in found and "background:state-of-the-art" not in found


def test_the_shipped_judge_keeps_a_background_sota_sentence_from_making_a_finding_an_increment():
    finding = judge.judge("Why do demonstrations stop helping?", BACKGROUND_SOTA)
    increment = judge.judge("A decoder for segmentation", OWN_SOTA)
    assert finding.kind is ContributionKind.NEW_INSIGHT and finding.score >= 0.5
    assert increment.kind in (ContributionKind.SOTA_INCREMENT, ContributionKind.NEW_METHOD)
    assert increment.score < 0.5 < finding.score
    assert '"state-of-the-art" in its own claims' not in finding.rationale


def test_how_much_of_the_vocabulary_is_machine_learnings_is_a_feature():
    assert "topic:0 machine-learning words" in names("Structure-guided query evaluation", NOT_ML)
    assert "topic:4 machine-learning words" in names("A decoder for segmentation", OWN_SOTA)
    assert "topic:0 machine-learning words" in names("Auctions", "Agents bid with gradient inference in auctions.")
    model = judge.shipped_model()  # learned: the fewer such words, the less insight and the more "other"
    none, many = "topic:0 machine-learning words", "topic:4 machine-learning words"
    assert model.insight[none] < model.insight[many] and model.kind[none] < 0 < model.kind[many]


def test_the_rationale_is_one_sentence_naming_each_deciding_feature_once():
    verdict = judge.judge("A decoder for segmentation", OWN_SOTA)
    assert verdict.rationale.startswith("Learned judge: ") and verdict.rationale.count(". ") == 0
    decided = verdict.rationale.split("decided by", 1)[1].split("; against", 1)[0].split(", ")
    assert len(decided) == len(set(decided)) >= 1


ROWS = (
    [
        {"title": f"Why does model {n} fail?", "text": BACKGROUND_SOTA + f" Case {n}.", "label": "insight"}
        for n in range(8)
    ]
    + [
        {"title": f"Decoder {n}", "text": OWN_SOTA + f" Variant {n}.", "label": "sota", "confidence": "low"}
        for n in range(8)
    ]
    + [{"title": f"Query plans {n}", "text": NOT_ML + f" Workload {n}.", "label": "other"} for n in range(8)]
)


def test_training_chooses_c_and_threshold_from_its_grids_and_is_repeatable():
    first, second = judge_training.train(ROWS), judge_training.train(list(reversed(ROWS)))
    assert first.about["c"] in judge_training.C_GRID and first.threshold in judge_training.THRESHOLD_GRID
    assert first.to_json() == second.to_json()
    assert first.judge("Why does it fail?", BACKGROUND_SOTA).kind is ContributionKind.NEW_INSIGHT
    assert first.judge("Decoder", OWN_SOTA).kind is not ContributionKind.NEW_INSIGHT


def test_a_low_confidence_label_teaches_less_than_a_high_one():
    rows = [dict(r, confidence="high") for r in ROWS]
    sure = judge_training.train(rows, c=0.05, threshold=0.5)
    unsure = judge_training.train(
        [dict(r, confidence="low") if r["label"] == "sota" else r for r in rows], c=0.05, threshold=0.5
    )
    gain = "own:gain"
    assert sure.kind[gain] != unsure.kind[gain]


def test_one_stop_word_list_serves_the_summariser_and_the_judge():
    assert offline.STOPWORDS is stopwords.SUMMARY_STOP_WORDS is judge.NGRAM_STOPWORDS
    assert stopwords.STOP_WORDS <= stopwords.SUMMARY_STOP_WORDS
    assert {"propose", "results", "paper"} <= stopwords.PAPER_WORDS
