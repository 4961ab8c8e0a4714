"""The offline insight judge: a learned linear model over features a person can read.

Each item becomes a bag of named features:

- **cue phrases by sentence role**: "state-of-the-art" in a background sentence (what others did) is
  `background:state-of-the-art`, in the paper's own claims `own:state-of-the-art`, in the title
  `title:state-of-the-art`; the model learns that only some of these mean a benchmark increment;
- **claim sentences** ("we show/find", "results reveal"): whether one sets a finding against expectation
  (`claim:contrast`: "contrary to", "we find that X does not") or states a benchmark gain (`claim:gain`:
  "new state of the art", "+2.3 points"), and how many there are;
- **machine-learning vocabulary**: how many distinct words only ML papers use the item has, in all of it
  and in its own sentences (papers from other fields write findings the same way, and are "other");
- **kind patterns** for surveys, positions, datasets/benchmarks, tools, tutorials, theory and methods;
- **n-grams**: words and word pairs of the title and the paper's own sentences that occur in enough
  training abstracts to mean something;
- **the wording**: WordLlama's packaged vector of the title and the paper's own sentences (the mean of
  its token vectors), a dense block of 256 columns with a regularisation of its own, in the insight head
  only. It sees what the named features miss: how a paper outside ML, or a method paper, is worded overall.

Two logistic regressions over these features make the judgement: insight vs not gives the insight
score (shifted so that 0.5 is where it calls an item insight), and for the rest, sota vs other gives
the kind (refined by the kind patterns: survey, position, dataset, tool). The rationale names the
named features that weighed most for the decision, and says so when the wording tipped it (the decision
would have gone the other way without it). Training weighs low-confidence labels less and picks the
regularisation, the wording block's scale and the insight threshold by cross-validation inside its own
rows (`judge_training.py`). The weights ship as a small JSON file (`judge_weights.json`) made by `scripts/train-judge` from
`benchmarks/data/judge-dev.jsonl`; judging needs no scikit-learn (training does), and the wording needs the
wordllama package (a default dependency): without it the wording counts as an average abstract's.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .stopwords import SUMMARY_STOP_WORDS
from .summary_schema import ContributionKind, split_sentences

CLASSES = ("insight", "sota", "other")
WEIGHTS_FILE = "judge_weights.json"
FORMAT_VERSION = 2  # 2: the wording block

# -- cue phrases: (name, pattern); the name is what a rationale shows ------------------------------------
CUES: list[tuple[str, str]] = [
    ("state-of-the-art", r"state[- ]of[- ]the[- ]art|\bsota\b"),
    ("outperforms", r"\boutperform\w*\b|\bsurpass\w*\b|\bbeats?\b|\bsuperior to\b"),
    (
        "improves by X",
        r"\b(?:improv|reduc|increas|boost|rais|lower|cut|gain)\w*\b(?:\W+\w+){0,8}?\W+(?:by|of)\W+"
        r"(?:up to\W+)?\d+(?:\.\d+)?\s*(?:%|percent|points?|pp\b|x\b)",
    ),
    ("X% better", r"\d+(?:\.\d+)?\s*(?:%|points?|pp)\s+(?:higher|lower|better|fewer|faster|more|improvement)\b"),
    (
        "competitive results",
        r"\b(?:achiev|obtain|reach|deliver|attain)\w*\W+(?:\w+\W+){0,3}(?:best|highest|superior|"
        r"competitive|strong|new|leading|remarkable|significant)\b",
    ),
    (
        "than baselines",
        r"\b(?:than|over)\s+(?:the\s+|a\s+|existing\s+|strong\s+)?(?:\w+[- ])?baselines?\b|"
        r"\bcompared (?:to|with) (?:existing|previous|prior|other)\b",
    ),
    (
        "extensive experiments",
        r"\bextensive (?:experiments|evaluations?|results)\b|\bexperiments on\b|"
        r"\bexperimental results\b",
    ),
    (
        "named benchmark",
        r"\b(?:glue|superglue|mmlu|imagenet|squad|wmt\d*|coco|humaneval|gsm8k|cifar-?\d*|ade20k|"
        r"kitti|nuscenes|librispeech|benchmarks? datasets?)\b",
    ),
    ("efficiency gain", r"\bspeed-?ups?\b|\b(?:faster|fewer parameters|less memory|lower latency)\b"),
    ("we show why", r"\bwe (?:show|explain|demonstrate|reveal|uncover) (?:why|how|when)\b|\bwhy (?:do|does|is|are)\b"),
    ("we find that", r"\bwe (?:find|found|observe|discover|show|demonstrate|identify|uncover) that\b"),
    ("surprisingly", r"\bsurprising(?:ly)?\b|\bcounter-?intuitive\b|\bunexpected(?:ly)?\b|\bparadox\w*\b"),
    (
        "mechanism",
        # "attention/gating/fusion/memory mechanism" is a part of a model, not a mechanism found; the check
        # stands after the word so the scan does not test it at every position.
        r"\bmechanism(?<!attention mechanism)(?<!gating mechanism)(?<!fusion mechanism)(?<!memory mechanism)s?\b|"
        r"\bmechanistic\b|"
        r"\bcircuits?\b",
    ),
    (
        "traces a cause",
        r"\bwe trace\b|\btraced? (?:\w+ ){0,4}to\b|\bis caused by\b|\battribut\w+ to\b|"
        r"\baccounts? for\b|\bdriven by\b",
    ),
    ("explains", r"\bexplain(?:s|ed|ing)?\b|\bexplanation\b"),
    ("we analyse", r"\bwe (?:analy[sz]e|investigate|study|characteri[sz]e|probe|examine|measure|quantify)\b"),
    ("analysis", r"\banalys[ie]s\b|\bempirical(?:ly)? stud\w+\b|\bsystematic(?:ally)? stud\w+\b"),
    (
        "fails",
        r"\bfail(?:s|ed|ure|ures)?\b|\bcannot\b|\bnegative results?\b|\bbreaks? down\b|\bstruggl\w+\b|"
        r"\blimitations?\b",
    ),
    ("does not", r"\bdoes not\b|\bdo not\b|\bnot necessarily\b"),
    (
        "against a common view",
        r"\bthe (?:usual|common|standard|prevailing|conventional) (?:view|wisdom|explanation|"
        r"assumption|belief)\b|\bcontrary to\b|\bchalleng\w+ the\b",
    ),
    ("depends on", r"\bdepends? on\b|\bdetermined by\b|\bpredicts?\b|\bcorrelat\w+\b"),
    (
        "understanding",
        r"\bunderstand(?<!scene understand)(?<!language understand)(?<!video understand)(?<!image understand)"
        r"(?<!visual understand)(?<!text understand)(?<!document understand)(?<!speech understand)"
        r"(?<!semantic understand)(?:ing)?\b|\binsights?\b",
    ),
    ("interpretability", r"\binterpretab\w*\b|\bexplainab\w*\b"),
    ("theory", r"\btheor(?:y|etical(?:ly)?)\b|\bwe prove\b|\btheorems?\b|\bbounds?\b"),
    (
        "phenomenon",
        r"\breveal(?:s|ed)?\b|\bphenomen(?:on|a)\b|\bemergen\w*\b|\bphase (?:diagram|transition)s?\b|"
        r"\bscaling laws?\b",
    ),
    (
        "we evaluate",
        r"\bwe (?:evaluate|test|assess|compare|benchmark|audit|ask|revisit|re-?examine)\b|"
        r"\bwhether\b",
    ),
    (
        "a study",
        r"\b(?:empirical|systematic|large-scale|comprehensive|controlled|careful|measurement|"
        r"evaluation|ablation|case|user) (?:study|studies|evaluation|investigation|analysis|comparison)\b",
    ),
    ("trade-off", r"\btrade-?offs?\b|\bat the cost of\b|\bonly when\b|\bdepending on\b"),
    (
        "counterexample",
        r"\bcounter-?examples?\b|\bflaw\w*\b|\bincorrect\b|\bmisleading\b|\bspurious\b|"
        r"\bbias(?:es|ed)?\b|\bshortcuts?\b",
    ),
    (
        "we propose",
        r"\bwe (?:propose|introduce|present|develop|design)\b|\bnovel\b|\bnew (?:method|approach|"
        r"architecture|algorithm|framework|model)\b|\bproposed (?:method|approach|model|framework)\b",
    ),
    ("framework", r"\bframework\b|\bpipeline\b|\barchitecture\b|\bmodule\b"),
]

# Kind patterns, looked for in the title and the opening sentences (what the paper says it is).
KIND_PATTERNS: list[tuple[str, str]] = [
    (
        "survey",
        r"\b(?:survey|we review|this review|overview of|systematic review|literature review|"
        r"comprehensive review|state of the field)\b",
    ),
    (
        "position",
        r"\b(?:position paper|we argue|this essay|we call (?:on|for)|we advocate|perspective|"
        r"we contend|opinion)\b",
    ),
    (
        "dataset",
        r"\bwe (?:introduce|present|release|propose|construct|collect|build|curate|create)\s+(?:a|an|the)?\s*"
        r"(?:new\s+|novel\s+|large[- ]scale\s+|challenging\s+|first\s+)*(?:\w+[- ])?(?:dataset|benchmark|"
        r"corpus|test suite|suite)s?\b|\b(?:dataset|benchmark|corpus) (?:for|of)\b",
    ),
    (
        "tool",
        r"\bopen[- ]source(?:d)?\s+(?:\w+\s+)?(?:library|toolkit|framework|system|tool|package|platform|"
        r"software)\b|\bwe (?:release|present|introduce|describe|build)\s+(?:a|an)\s+(?:\w+\s+)?(?:library|"
        r"toolkit|tool|platform|package|system|software)\b|\bpython (?:library|package)\b|\bgithub\.com\b",
    ),
    (
        "tutorial",
        r"\btutorial\b|\blecture notes\b|\bprimer\b|\bintroduction to\b|\bstep[- ]by[- ]step\b|"
        r"\bhow to\b|\bguide\b|\bhands-on\b",
    ),
    ("application", r"\bcase study\b|\bwe apply\b|\bapplied to\b|\bin practice\b|\bdeployment\b"),
]
KIND_OF_PATTERN = {
    "survey": ContributionKind.SURVEY,
    "position": ContributionKind.POSITION,
    "dataset": ContributionKind.DATASET_BENCHMARK,
    "tool": ContributionKind.TOOL_SYSTEM,
}

# A sentence speaks for the paper itself when it says "we", "our", "this paper"…; before the first such
# sentence, or when it names others' work, it is background.
OWN_MARKER = re.compile(
    r"\b(?:we|our|us|this (?:paper|work|study|article|note|thesis)|here,? we|the proposed|"
    r"in this (?:paper|work))\b",
    re.I,
)
PRIOR_MARKER = re.compile(
    r"\b(?:prior|previous|existing|recent|conventional|traditional|current|popular) "
    r"(?:work|works|methods?|approaches|models|studies|research|systems|techniques)\b|"
    r"\bhas been\b|\bhave been\b|\bwidely\b|\bremains?\b",
    re.I,
)
OPENING_SENTENCES = 4

_COMPILED_CUES = [(name, re.compile(pattern, re.I)) for name, pattern in CUES]
_COMPILED_KINDS = [(name, re.compile(pattern, re.I)) for name, pattern in KIND_PATTERNS]
_WORD = re.compile(r"[a-z][a-z0-9\-]+")
NGRAM_STOPWORDS = SUMMARY_STOP_WORDS


# -- features -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sentence:
    text: str
    role: str  # 'title', 'background' or 'own'
    index: int  # position in the body; -1 for the title


class Joined:
    """An item's sentences joined by newlines, with where each starts, so that one regex pass over the whole
    text says which sentences a pattern occurs in (searching sentence by sentence was ~330 calls an item).

    A match inside one sentence is a match of that sentence alone: the patterns use no `^`/`$` and no
    lookbehind that could see a newline. A match that runs across a sentence end (`\\W+` may cross it) is
    the one case where the two could differ, so then that pattern is searched sentence by sentence."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.text = "\n".join(texts)
        # ASCII text lowered is matched by the case-sensitive copy of a pattern, which is faster than re.I;
        # other text keeps re.I (its case folding is not str.lower's, and may change lengths).
        self.folded = self.text.lower() if self.text.isascii() else None
        self.starts: list[int] = []
        position = 0
        for text in texts:
            self.starts.append(position)
            position += len(text) + 1

    def hits(self, pattern: re.Pattern[str]) -> set[int]:
        """The numbers of the sentences `pattern` occurs in."""
        located = self._located(pattern)
        return {number for number, _ in located} if located is not None else self.hits_each(pattern)

    def _located(self, pattern: re.Pattern[str]) -> list[tuple[int, str]] | None:
        """Every match as (sentence number, matched text), in order; None when one runs across a sentence end."""
        found = []
        for match in self._finditer(pattern):
            number = bisect_right(self.starts, match.start()) - 1
            if match.end() > self.starts[number] + len(self.texts[number]):
                return None
            found.append((number, match.group()))
        return found

    def _finditer(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        cased = _case_sensitive(pattern) if self.folded is not None else None
        return (
            cased.finditer(self.folded)
            if cased is not None and self.folded is not None
            else pattern.finditer(self.text)
        )

    def hits_each(self, pattern: re.Pattern[str]) -> set[int]:
        return {number for number, text in enumerate(self.texts) if pattern.search(text)}

    def words(self, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
        """Every match of `pattern` (no groups) as (sentence number, matched text), in order."""
        located = self._located(pattern)
        return located if located is not None else self.words_each(pattern)

    def words_each(self, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
        return [(number, word) for number, text in enumerate(self.texts) for word in pattern.findall(text)]


@cache
def _case_sensitive(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """`pattern` without re.I, for lowered ASCII text (its literals are all lower case: a test checks); None
    when it is case-sensitive already."""
    return re.compile(pattern.pattern, pattern.flags & ~re.I) if pattern.flags & re.I else None


def joined(sentences: list[Sentence]) -> Joined:
    return Joined([s.text for s in sentences])


def sentence_roles(title: str, body: str) -> list[Sentence]:
    """The title, then each sentence of the body with its role."""
    sentences = [Sentence(title, "title", -1)] if title.strip() else []
    texts = split_sentences(body)
    body_text = Joined(texts)
    own_sentences, prior_sentences = body_text.hits(OWN_MARKER), body_text.hits(PRIOR_MARKER)
    seen_own = False
    for index, text in enumerate(texts):
        if index in own_sentences:
            role = "own"
            seen_own = True
        elif seen_own and index not in prior_sentences:
            role = "own"
        else:
            role = "background"
        sentences.append(Sentence(text, role, index))
    return sentences


def _places(sentences: list[Sentence], number: int, lead: int | None) -> list[str]:
    """Where a sentence stands: its role, and whether it states the contribution (the first of the
    paper's own sentences) or the conclusion (the last sentence)."""
    sentence = sentences[number]
    places = [sentence.role]
    if number == lead:
        places.append("lead")
    if sentence.role != "title" and number == len(sentences) - 1:
        places.append("end")
    return places


def cue_features(sentences: list[Sentence], text: Joined | None = None) -> dict[str, list[int]]:
    """Feature name → indexes of the sentences that carry it (a feature counts once per item)."""
    text = text or joined(sentences)
    found: dict[str, list[int]] = {}
    lead = next((n for n, s in enumerate(sentences) if s.role == "own"), None)
    cues = [(name, numbers) for name, pattern in _COMPILED_CUES if (numbers := text.hits(pattern))]
    for number in range(len(sentences)):
        places = _places(sentences, number, lead)
        for name, sentence_numbers in cues:
            if number in sentence_numbers:
                for place in places:
                    found.setdefault(f"{place}:{name}", []).append(number)
    found.update(title_features(sentences, text))
    opening = [n for n, s in enumerate(sentences) if s.role == "title" or s.index < OPENING_SENTENCES]
    opening_text = Joined(text.texts[: len(opening)])  # the title and the first sentences: a prefix
    for name, pattern in _COMPILED_KINDS:
        kind_hits = opening_text.hits(pattern)
        hits = [n for n in opening if n in kind_hits]
        if hits:
            found[f"kind:{name}"] = hits
    return found


TITLE_ASKS = re.compile(
    r"^(?:why|how|when|what|which|do|does|did|can|could|is|are|should|on the|towards? "
    r"(?:an? )?understanding|understanding|revisiting|rethinking|demystifying)\b",
    re.I,
)
ML_WORDS = re.compile(
    r"\b(?:learn\w*|neural|network|model\w*|train\w*|dataset|deep|transformer|llms?|"
    r"classifi\w*|predict\w*|reinforcement|embedding\w*|language|vision|agents?|translation|recognition|"
    r"detection|segmentation|generat\w+|bleu|gpt|bert|attention|supervised|inference)\b",
    re.I,
)


# Words that only machine-learning papers use (not "agents", "inference" or "gradient", which economics and
# physics use too); how many distinct ones an item has says how much it is an ML paper at all (a third of the
# "other" rows of the dev set are databases, economics or physics written like findings).
STRONG_ML_WORDS = re.compile(
    r"\b(?:neural|deep learning|deep neural|transformers?|llms?|large language models?|language models?|"
    r"fine-?tun\w*|pre-?train\w*|training data|trained|embeddings?|classifiers?|supervised|self-supervised|"
    r"unsupervised|reinforcement learning|gpt-?\w*|bert\w*|diffusion models?|convolutional|cnns?|gans?|"
    r"machine learning|representation learning|overfitting|learning rate|backpropagation|autoencoders?|"
    r"kernel methods?|learned|learning|neural networks?|vision-language|multimodal|in-context|prompt\w*)\b",
    re.I,
)
MAX_ML_WORDS = 5
# A claim sentence: the paper says what it found.
CLAIM = re.compile(
    r"\bwe (?:show|find|found|demonstrate|reveal|observe|prove|establish|identify|uncover)\b|"
    r"\b(?:results|experiments|analyses|findings) (?:show|reveal|suggest|indicate|demonstrate)\b|"
    r"\bour (?:main )?findings?\b",
    re.I,
)
# A finding set against what one expected ("contrary to", "we find that X does not").
CONTRAST = re.compile(
    r"\bcontrary to\b|\bsurprising(?:ly)?\b|\bcounter-?intuitive\b|\bunexpected(?:ly)?\b|"
    r"\bwe (?:find|show|observe) that (?:\w+ ){0,6}(?:does not|do not|cannot|fails?|is not|are not|no longer)\b|"
    r"\bin contrast to (?:prior|previous|common|popular)\b|\bdespite\b|\bnot (?:because|due to)\b|\brather than\b",
    re.I,
)
# A benchmark gain stated as one ("new state of the art", "+2.3", "4.1 points", "outperforms").
GAIN = re.compile(
    r"\bnew state[- ]of[- ]the[- ]art\b|\bstate[- ]of[- ]the[- ]art (?:results|performance|accuracy)\b|"
    r"\bsets? (?:a )?new\b|\+\s?\d+(?:\.\d+)?\b|\b\d+(?:\.\d+)?\s?(?:%|points?|pp)(?!\w)|\boutperform\w*\b",
    re.I,
)


def claim_features(sentences: list[Sentence], text: Joined | None = None) -> dict[str, list[int]]:
    """What the paper's claim sentences say (a contrast with expectation, a benchmark gain), how many claims
    it makes, gains and contrasts by sentence role, and how much of its vocabulary (all of it, and its own
    sentences') is machine learning's."""
    text = text or joined(sentences)
    found: dict[str, list[int]] = {}
    claim_hits, contrasts, gains = text.hits(CLAIM), text.hits(CONTRAST), text.hits(GAIN)
    claims = [n for n, s in enumerate(sentences) if s.role != "title" and n in claim_hits]
    for number in claims:
        if number in contrasts:
            found.setdefault("claim:contrast", []).append(number)
        if number in gains:
            found.setdefault("claim:gain", []).append(number)
    for number, sentence in enumerate(sentences):
        if sentence.role == "own" and number in gains:
            found.setdefault("own:gain", []).append(number)
        if sentence.role != "title" and number in contrasts:
            found.setdefault(f"{sentence.role}:contrast", []).append(number)
    found[f"claims:{min(len(claims), 3)}"] = []
    ml_words = text.words(STRONG_ML_WORDS)
    every = {word.lower() for _, word in ml_words}
    found[f"topic:{min(len(every), MAX_ML_WORDS)} machine-learning words"] = []
    # The same count over the title and the paper's own sentences: what it does, not what it cites.
    own = {word.lower() for number, word in ml_words if sentences[number].role != "background"}
    found[f"topic:{min(len(own), MAX_ML_WORDS)} machine-learning words of its own"] = []
    return found


def title_features(sentences: list[Sentence], text: Joined | None = None) -> dict[str, list[int]]:
    """What the title does (asks a question, promises understanding) and whether the item is about ML."""
    found: dict[str, list[int]] = {}
    title = sentences[0].text if sentences and sentences[0].role == "title" else ""
    if title.rstrip().endswith("?") or TITLE_ASKS.search(title.strip()):
        found["title:asks a question"] = [0]
    if not (text or joined(sentences)).hits(ML_WORDS):
        found["topic:no machine-learning words"] = []
    return found


def ngrams(sentences: list[Sentence]) -> dict[str, list[int]]:
    """Words and word pairs of the title and of the paper's own sentences (background words say little)."""
    found: dict[str, list[int]] = {}
    for number, sentence in enumerate(sentences):
        if sentence.role == "background":
            continue
        words = [w for w in _WORD.findall(sentence.text.lower()) if w not in NGRAM_STOPWORDS and len(w) > 2]
        for gram in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
            found.setdefault(f"word:{gram}", []).append(number)
    return found


def wording_text(sentences: list[Sentence]) -> str:
    """The text the wording block embeds: the title and the paper's own sentences (what it says it does)."""
    return " ".join(s.text for s in sentences if s.role != "background")


def wording_vectors(texts: list[str]) -> Any:
    """WordLlama's packaged, L2-normalised vectors of `texts` (one row each; loaded once per process), or
    None when wordllama is not installed."""
    from .embed import packaged_wordllama

    embedder = packaged_wordllama()
    return None if embedder is None else embedder.embed([text or " " for text in texts])


def length_features(body: str) -> dict[str, list[int]]:
    words = len(body.split())
    bucket = "short" if words < 80 else "medium" if words < 200 else "long"
    return {f"length:{bucket}": []}


def features(title: str, body: str) -> tuple[list[Sentence], dict[str, list[int]]]:
    """The sentences of an item and every feature it has (name → the sentences that carry it)."""
    sentences = sentence_roles(title, body)
    text = joined(sentences)
    found = cue_features(sentences, text)
    found.update(claim_features(sentences, text))
    found.update(ngrams(sentences))
    found.update(length_features(body))
    return sentences, found


# -- the model --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Judgement:
    kind: ContributionKind
    score: float  # the insight score: 0.5 is where the judge starts calling it insight
    rationale: str  # one sentence naming what decided
    evidence: int | None  # the body sentence that weighed most for the decision, if any
    decisive: list[tuple[str, float]] = field(default_factory=list)
    wording: float = 0.0  # how far the wording pushed towards the decision on insight (a logit)
    wording_tipped: bool = False  # insight or not would have gone the other way without the wording


@dataclass
class Wording:
    """The insight head's wording block: it adds `insight · (vector - mean)`, so an abstract worded like the
    training rows' average adds nothing (the standardisation and the block's scale are folded in). The kind
    head (sota vs other) has none: the block's scale is chosen for insight-vs-not, and in the kind head it
    overruled plain benchmark papers whose words are not in the ML vocabulary."""

    mean: list[float]
    insight: list[float]

    def push(self, vector: Any) -> float:
        """The logit the wording adds to the insight head for one text's vector; 0 without a vector."""
        if vector is None:
            return 0.0
        import numpy as np

        return float((np.asarray(vector, dtype=np.float64) - np.asarray(self.mean)) @ np.asarray(self.insight))


@dataclass
class JudgeModel:
    """Two linear heads over the same features: insight vs not (the score), and sota vs other (the kind
    of what is not insight). Judging is two dot products."""

    insight: dict[str, float]
    insight_bias: float
    kind: dict[str, float]  # > 0 leans sota, < 0 leans other
    kind_bias: float
    threshold: float = 0.5  # P(insight) at which the item counts as insight; the score maps it to 0.5
    about: dict[str, Any] = field(default_factory=dict)
    wording: Wording | None = None  # None: a model without the wording block

    def insight_logit(self, present: Iterable[str], wording: float = 0.0) -> float:
        """The insight head's logit, shifted so that 0 is the threshold (`wording`: the wording's push)."""
        logit = self.insight_bias + sum(self.insight.get(name, 0.0) for name in present) + wording
        return logit - math.log(self.threshold / (1 - self.threshold))

    def insight_score(self, present: Iterable[str], wording: float = 0.0) -> float:
        return 1 / (1 + math.exp(-self.insight_logit(present, wording)))

    def wording_push(self, sentences: list[Sentence]) -> float:
        """What the wording adds to the insight head's logit (0 without the block)."""
        if self.wording is None:
            return 0.0
        vectors = wording_vectors([wording_text(sentences)])
        return self.wording.push(None if vectors is None else vectors[0])

    def judge(self, title: str, body: str) -> Judgement:
        """The kind, the insight score and a rationale for one item's title and text."""
        sentences, found = features(title, body)
        on_insight = self.wording_push(sentences)
        logit = self.insight_logit(found, on_insight)
        if logit >= 0:
            kind, decisive = ContributionKind.NEW_INSIGHT, _pushes(self.insight, found, 1)
            wording, tipped = on_insight, logit - on_insight < 0
        else:
            sota = self.kind_bias + sum(self.kind.get(name, 0.0) for name in found) > 0
            kind = _kind("sota" if sota else "other", found)
            decisive = _pushes(self.insight, found, -1)[:2] + _pushes(self.kind, found, 1 if sota else -1)
            decisive = sorted(decisive, key=lambda p: -p[1])
            wording, tipped = -on_insight, logit - on_insight >= 0
        evidence = _evidence(sentences, found, decisive)
        score = round(1 / (1 + math.exp(-logit)), 2)
        text = rationale(kind, score, decisive, wording_tipped=tipped)
        return Judgement(kind, score, text, evidence, decisive, round(wording, 4), tipped)

    def to_json(self) -> dict[str, Any]:
        def rounded(weights: dict[str, float]) -> dict[str, float]:
            return {name: round(w, 4) for name, w in sorted(weights.items()) if abs(w) >= 0.0005}

        data: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "about": self.about,
            "threshold": round(self.threshold, 4),
            "insight": {"bias": round(self.insight_bias, 4), "weights": rounded(self.insight)},
            "kind": {"bias": round(self.kind_bias, 4), "weights": rounded(self.kind)},
        }
        if self.wording is not None:
            data["wording"] = {
                "mean": [round(v, 6) for v in self.wording.mean],
                "insight": [round(w, 5) for w in self.wording.insight],
            }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JudgeModel:
        if data.get("format") not in (1, FORMAT_VERSION):  # format 1 is format 2 without the wording
            raise ValueError("judge weights of an unknown format — run scripts/train-judge to remake them")
        insight, kind, wording = data["insight"], data["kind"], data.get("wording")
        return cls(
            {k: float(v) for k, v in insight["weights"].items()},
            float(insight["bias"]),
            {k: float(v) for k, v in kind["weights"].items()},
            float(kind["bias"]),
            float(data.get("threshold", 0.5)),
            dict(data.get("about", {})),
            None if wording is None else Wording(*([float(v) for v in wording[k]] for k in ("mean", "insight"))),
        )


def _pushes(weights: Mapping[str, float], found: Iterable[str], sign: int) -> list[tuple[str, float]]:
    """The item's features by how far they pushed towards the decision (sign +1) or away from it."""
    pushes = [(name, sign * weights[name]) for name in found if name in weights]
    return sorted(pushes, key=lambda p: -abs(p[1]))


def _kind(label: str, found: Mapping[str, list[int]]) -> ContributionKind:
    if label == "sota":
        gains = any(name.startswith(("own:", "title:")) and name.split(":", 1)[1] in _GAIN_CUES for name in found)
        method = any(name.endswith(":we propose") for name in found)
        return ContributionKind.NEW_METHOD if method and not gains else ContributionKind.SOTA_INCREMENT
    for pattern, kind in KIND_OF_PATTERN.items():
        if f"kind:{pattern}" in found:
            return kind
    return ContributionKind.OTHER


_GAIN_CUES = {
    "state-of-the-art",
    "outperforms",
    "improves by X",
    "X% better",
    "competitive results",
    "than baselines",
    "named benchmark",
}


def _evidence(
    sentences: list[Sentence], found: Mapping[str, list[int]], decisive: list[tuple[str, float]]
) -> int | None:
    for name, push in decisive:
        if push <= 0:
            continue
        body = [sentences[n].index for n in found.get(name, []) if sentences[n].role != "title"]
        if body:
            return body[0]
    return None


_PHRASED = {"gain": "a benchmark gain", "contrast": "a finding against expectation"}


def describe(feature: str) -> str:
    """A feature as a rationale names it: `own:state-of-the-art` → '"state-of-the-art" in its own claims'."""
    kind, _, name = feature.partition(":")
    where = {
        "own": "in its own claims",
        "background": "in a background sentence",
        "title": "in the title",
        "lead": "in its contribution statement",
        "end": "in its conclusion",
    }
    if kind in where and name in _PHRASED:
        return f"{_PHRASED[name]} {where[kind]}"
    if kind in where:
        return f'"{name}" {where[kind]}'
    if kind == "kind":
        return f"reads as a {name}"
    if kind == "word":
        return f'the words "{name}"'
    if kind == "topic":
        return name
    if kind == "claim":
        return {"contrast": "a finding set against expectation", "gain": "a benchmark gain in its findings"}.get(
            name, f"{name} in its findings"
        )
    if kind == "claims":
        return f"{name} finding sentences" if name != "1" else "1 finding sentence"
    return f"{name} text"


def rationale(
    kind: ContributionKind, score: float, decisive: list[tuple[str, float]], *, wording_tipped: bool = False
) -> str:
    """One sentence: the verdict, then what weighed for it and what against, and whether the text's overall
    wording tipped it."""
    verdict = kind.value.replace("_", " ")
    towards = list(dict.fromkeys(describe(name) for name, push in decisive if push > 0))[:3]
    against = list(dict.fromkeys(describe(name) for name, push in decisive if push < 0))[:2]
    text = f"Learned judge: {verdict}, insight {score:.2f}"
    text += f"; decided by {', '.join(towards)}" if towards else "; no strong feature, so the prior decided"
    if against:
        text += f"; against it {', '.join(against)}"
    if wording_tipped:
        text += "; the text's overall wording tipped it"
    return _one_sentence(text)


def _one_sentence(text: str) -> str:
    # A feature name may hold '.' or '?' (an n-gram like 'e.g'); the rationale must stay one sentence.
    text = re.sub(r"[.!?]+(?=\s)", ",", text)
    return text[:590]


# -- the shipped weights ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def shipped_model() -> JudgeModel:
    """The weights shipped with sabbatical (`judge_weights.json`, made by `scripts/train-judge`)."""
    text = resources.files("sabbatical.reading").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
    return JudgeModel.from_json(json.loads(text))


def load_model(path: Path) -> JudgeModel:
    return JudgeModel.from_json(json.loads(path.read_text(encoding="utf-8")))


def judge(title: str, body: str, model: JudgeModel | None = None) -> Judgement:
    """Judge one item with `model` (default: the shipped weights)."""
    return (model or shipped_model()).judge(title, body)
