"""The offline summariser: the default when no LLM endpoint is configured.

Summaries are extractive: sentences of the title + abstract/content are scored (word frequency, overlap
with the title, position, claim cues such as "we show") and the best ones become the tldr and the key
claims, so every quote is a real sentence and verifies. The judgement comes from the learned, transparent
judge in `judge.py`, whose rationale names the features that decided; an item with too little text to
judge (`SourceDocument.judgeable`) is "unjudged" and has no insight score. Every summary it makes is
labelled model `offline-extractive`, prompt version `offline-v2`, producer 'offline'.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from . import judge
from .stopwords import SUMMARY_STOP_WORDS
from .summary_rows import OFFLINE_MODEL as OFFLINE_MODEL
from .summary_rows import OFFLINE_VERSION as OFFLINE_VERSION
from .summary_schema import Claim, ContributionKind, Insight, SourceDocument, Summary, split_sentences

MAX_QUOTE_WORDS = 25
MAX_CLAIMS = 3
# The schema's limits (summary_schema): a summary is cut to fit them, never left to fail validation.
MAX_TOPIC_CHARS = 80
MAX_QUOTE_CHARS = 400

CLAIM_CUE = re.compile(
    r"\bwe (?:show|find|found|demonstrate|prove|observe|propose|introduce|present)\b|"
    r"\bresults? (?:show|suggest|indicate)\b|\bour (?:results|analysis|experiments)\b",
    re.I,
)
QUESTION_TEMPLATES = {
    ContributionKind.SOTA_INCREMENT: "Why does the approach work, and does the gain hold beyond the reported benchmarks?",
    ContributionKind.NEW_METHOD: "What makes the method work, and where does it fail?",
    ContributionKind.NEW_INSIGHT: "Does the finding hold for other models, data and scales?",
    ContributionKind.DATASET_BENCHMARK: "What does this benchmark measure that existing ones miss?",
    ContributionKind.TOOL_SYSTEM: "What would it take to use this tool in a real workflow?",
}
STOPWORDS = SUMMARY_STOP_WORDS


def summarise_offline(document: SourceDocument, model: judge.JudgeModel | None = None) -> Summary:
    """An extractive summary and the learned judge's verdict on one item (deterministic, no network);
    `model`: the judge's weights (default: the shipped ones)."""
    sentences = (
        split_sentences(document.body)
        or split_sentences(document.title)
        or [document.title.strip() or document.id.strip() or "(untitled)"]
    )
    scores = score_sentences(sentences, document.title)
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    claims = [
        Claim(claim=_limit(sentences[i], 600), quote=quote_from(sentences[i])) for i in sorted(ranked[:MAX_CLAIMS])
    ]
    kind, insight = ContributionKind.UNJUDGED, None
    if document.judgeable:
        verdict = judge.judge(document.title, document.body, model)
        evidence = sentences[verdict.evidence] if verdict.evidence is not None else sentences[ranked[0]]
        kind = verdict.kind
        insight = Insight(score=verdict.score, rationale=verdict.rationale, quote=quote_from(evidence))
    return Summary(
        tldr=make_tldr(sentences, ranked),
        key_claims=claims,
        contribution=kind,
        insight=insight,
        topics=keywords(document),
        questions=questions(sentences, kind),
    )


# -- sentence scoring -----------------------------------------------------------------------------
def content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z0-9\-]+", text.lower()) if len(w) > 2 and w not in STOPWORDS]


def score_sentences(sentences: list[str], title: str) -> list[float]:
    """Frequency of a sentence's content words in the document, its overlap with the title, its
    position, and whether it states a claim ("we show", "results indicate")."""
    words_per_sentence = [content_words(s) for s in sentences]
    frequency = Counter(w for words in words_per_sentence for w in set(words))
    title_words = set(content_words(title))
    scores = []
    for index, (sentence, words) in enumerate(zip(sentences, words_per_sentence)):
        unique = set(words)
        if not unique:
            scores.append(-1.0)
            continue
        density = sum(frequency[w] for w in unique) / math.sqrt(len(words))
        score = density + 1.5 * len(unique & title_words) + (0.8 if CLAIM_CUE.search(sentence) else 0.0)
        score += (0.6, 0.3)[index] if index < 2 else 0.0
        length = len(sentence.split())
        if length < 6 or length > 70:
            score *= 0.5
        scores.append(score)
    return scores


def make_tldr(sentences: list[str], ranked: list[int]) -> str:
    """The best sentence, and the next best after it if the two stay short; at most two sentences."""
    chosen = [ranked[0]]
    if len(ranked) > 1 and len((sentences[ranked[0]] + sentences[ranked[1]]).split()) <= 60:
        chosen.append(ranked[1])
    text = " ".join(sentences[i] for i in sorted(chosen))
    if len(text) > 600 or len(chosen) == 1:
        text = _limit(sentences[ranked[0]], 600)
    return text


def quote_from(sentence: str) -> str:
    """A verbatim quote: the sentence itself, or its first words when it is long (a single word longer
    than a quote may be is cut, and then does not verify)."""
    words = sentence.split()
    quote = " ".join(words[:MAX_QUOTE_WORDS])
    while len(quote) > 380 and len(words) > 1:
        words = words[: max(1, len(words) // 2)]
        quote = " ".join(words)
    return quote[:MAX_QUOTE_CHARS]


def _limit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# -- topics and questions -------------------------------------------------------------------------
def keywords(document: SourceDocument, limit: int = 5) -> list[str]:
    """The most frequent content words and repeated two-word phrases, title words counting double."""
    body_words = content_words(document.body)
    title_words = content_words(document.title)
    counts = Counter(body_words) + Counter(title_words * 2)
    pairs = Counter(zip(body_words, body_words[1:])) + Counter(zip(title_words, title_words[1:]))
    phrases = [(f"{a} {b}", n * 1.5) for (a, b), n in pairs.items() if n >= 2 and a != b]
    singles = [(w, float(n)) for w, n in counts.items() if n >= 2 or w in title_words]
    chosen: list[str] = []
    for term, _ in sorted(phrases + singles, key=lambda t: (-t[1], t[0])):
        if len(term) > MAX_TOPIC_CHARS or any(term in c or c in term for c in chosen):
            continue  # a 'word' longer than a topic may be is a hash, a URL or a run-on token, not a topic
        chosen.append(term)
        if len(chosen) == limit:
            break
    return chosen


def questions(sentences: list[str], kind: ContributionKind) -> list[str]:
    """Questions the text asks itself, then one the judgement suggests."""
    asked = [_limit(s, 600) for s in sentences if s.endswith("?")][:2]
    template = QUESTION_TEMPLATES.get(kind)
    return asked + ([template] if template else [])
