"""The offline summariser and heuristic insight judge: the default when no LLM endpoint is configured.

Summaries are extractive: sentences of the title + abstract/content are scored (word frequency, overlap
with the title, position, claim cues such as "we show") and the best ones become the tldr and the key
claims, so every quote is a real sentence and verifies. The judge is deliberately transparent: it counts
cue phrases of benchmark gains ("state-of-the-art", "outperforms", "improves … by 3%", "+1.2 BLEU")
against cue phrases of explanation and analysis ("we show why", "we find that", "surprisingly",
"mechanism", "fails to", "understanding"), and its rationale names the cues it found. Every summary it
makes is labelled model `offline-extractive`, prompt version `offline-v1`, producer 'offline'.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from .summary_schema import Claim, ContributionKind, Insight, SourceDocument, Summary, split_sentences

OFFLINE_MODEL = "offline-extractive"
OFFLINE_VERSION = "offline-v1"
MAX_QUOTE_WORDS = 25
MAX_CLAIMS = 3
# The schema's limits (summary_schema): a summary is cut to fit them, never left to fail validation.
MAX_TOPIC_CHARS = 80
MAX_QUOTE_CHARS = 400

# (pattern, weight, label shown in the rationale)
BENCHMARK_CUES = [
    (r"state[- ]of[- ]the[- ]art", 1.0, "state-of-the-art"),
    (r"\bsota\b", 1.0, "SOTA"),
    (r"\boutperform(?:s|ed|ing)?\b", 1.0, "outperforms"),
    (r"\b(?:improv|reduc|increas|boost|rais|lower|cut)\w*\b(?:\W+\w+){0,8}?\W+(?:by|from)\W+(?:up to\W+)?"
     r"\d+(?:\.\d+)?\s*(?:%|percent|points?|pp\b|x\b)", 1.0, "improves … by X%"),
    (r"(?:\+\s?|\badds?\s+)\d+(?:\.\d+)?\s*(?:%|bleu|rouge|f1|map|points?|pp\b|accuracy)", 1.0, "+X on a metric"),
    (r"\d+(?:\.\d+)?\s*(?:%|points?|pp)\s+(?:higher|lower|better|fewer|faster|more)\b", 1.0, "X% better"),
    (r"\bfrom\s+\d+(?:\.\d+)?%?\s+to\s+\d+(?:\.\d+)?%", 0.8, "from X% to Y%"),
    (r"\b(?:surpass(?:es|ed|ing)?|beats?|new (?:record|best)|leaderboard)\b", 0.8, "surpasses"),
    (r"\b(?:achiev\w+|obtain\w*|reach\w*)\W+(?:\w+\W+){0,3}(?:best|highest|superior|competitive|strong)\b", 0.6,
     "achieves best/competitive results"),
    (r"\b(?:converges?|trains?)\s+faster\b|\bspeed-?ups?\b", 0.6, "faster"),
    (r"\b(?:than|over)\s+(?:the\s+|a\s+)?(?:\w+[- ])?baselines?\b|\bbaseline'?s\b", 0.6, "beats the baseline"),
    (r"\b(?:glue|superglue|mmlu|imagenet|squad|wmt\d*|coco|humaneval|gsm8k|cifar-?\d*)\b", 0.5, "a named benchmark"),
    (r"\b(?:benchmarks?|top-1|accuracy gains?)\b", 0.3, "benchmark"),
]
INSIGHT_CUES = [
    (r"\bwe (?:show|explain|demonstrate) (?:why|how)\b", 1.5, "we show why"),
    (r"\bwe (?:find|found|observe|discover|show) that\b", 0.8, "we find that"),
    (r"\bsurprising(?:ly)?\b|\bcounter-?intuitive\b|\bunexpected(?:ly)?\b", 1.0, "surprisingly"),
    # "attention mechanism" names a component, "scene understanding" a task: neither is an explanation.
    (r"(?<!attention )(?<!gating )(?<!fusion )(?<!memory )\bmechanisms?\b|\bmechanistic\b", 1.2, "mechanism"),
    (r"\bwe trace\b|\btraced? (?:\w+ ){0,4}to\b|\bis caused by\b|\bexplain(?:s|ed)?\b|\baccounts? for\b", 1.0,
     "explains / traces a cause"),
    (r"\bwe (?:analy[sz]e|investigate|study|characteri[sz]e|probe|examine|measure)\b|\banalys[ie]s\b", 0.8,
     "we analyse"),
    (r"\bfail(?:s|ed|ure|ures)?\b|\bcannot\b|\bnegative results?\b|\breverse[sd]?\b|\bbreaks? down\b", 0.8,
     "fails to"),
    (r"\bdoes not\b|\bdo not\b", 0.4, "does not"),
    (r"\bthe (?:usual|common|standard|prevailing) (?:view|explanation|assumption)\b|\bcontrary to\b|,\s*not\b", 0.8,
     "against a common view"),
    (r"\bdepends? on\b|\bdetermined by\b|\bpredicts?\b", 0.5, "depends on"),
    (r"(?<!scene )(?<!language )(?<!video )(?<!image )(?<!visual )(?<!text )(?<!document )(?<!speech )"
     r"\bunderstand(?:ing)?\b|\binsights?\b|\binterpretab\w*\b", 0.8, "understanding"),
    (r"\breveal(?:s|ed)?\b|\bphenomen(?:on|a)\b|\bemergen\w*\b|\btheor(?:y|etical(?:ly)?)\b|\bphase "
     r"(?:diagram|transition)s?\b", 0.6, "reveals / theory"),
]
KIND_CUES = [
    (ContributionKind.SURVEY, r"\b(?:survey|we review|this review|overview of|systematic review|literature review)\b"),
    (ContributionKind.POSITION, r"\b(?:position paper|we argue|this essay|we call (?:on|for)|we advocate)\b"),
    (ContributionKind.DATASET_BENCHMARK,
     r"\bwe (?:introduce|present|release|propose|construct|collect|build|curate)\s+(?:a|an|the)?\s*(?:new\s+|novel\s+|"
     r"large[- ]scale\s+|challenging\s+)*(?:\w+[- ])?(?:dataset|benchmark|corpus|test suite)s?\b"),
    (ContributionKind.TOOL_SYSTEM,
     r"\bopen[- ]source(?:d)?\s+(?:\w+\s+)?(?:library|toolkit|framework|system|tool|package|platform)\b|\bwe "
     r"(?:release|present|introduce|describe|build)\s+(?:a|an)\s+(?:\w+\s+)?(?:library|toolkit|tool|platform|package|system)\b"),
]
METHOD_CUE = re.compile(r"\bwe (?:propose|introduce|present|develop|design)\b|\bnovel\b|\bnew (?:method|approach|"
                        r"architecture|algorithm|framework|model)\b", re.I)
CLAIM_CUE = re.compile(r"\bwe (?:show|find|found|demonstrate|prove|observe|propose|introduce|present)\b|"
                       r"\bresults? (?:show|suggest|indicate)\b|\bour (?:results|analysis|experiments)\b", re.I)
QUESTION_TEMPLATES = {
    ContributionKind.SOTA_INCREMENT: "Why does the approach work, and does the gain hold beyond the reported benchmarks?",
    ContributionKind.NEW_METHOD: "What makes the method work, and where does it fail?",
    ContributionKind.NEW_INSIGHT: "Does the finding hold for other models, data and scales?",
    ContributionKind.DATASET_BENCHMARK: "What does this benchmark measure that existing ones miss?",
    ContributionKind.TOOL_SYSTEM: "What would it take to use this tool in a real workflow?",
}
KIND_PRIOR = {ContributionKind.NEW_INSIGHT: 0.6, ContributionKind.SOTA_INCREMENT: -0.6,
              ContributionKind.DATASET_BENCHMARK: -0.3, ContributionKind.TOOL_SYSTEM: -0.4}
STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "upon", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "via", "using", "used", "use", "based", "paper", "papers", "work", "show", "shows", "shown", "propose", "proposed", "approach", "approaches", "method", "methods", "results", "result", "new", "novel", "present", "presents", "existing", "different", "two", "one", "three", "first", "well", "many", "may", "however", "thus", "both", "while", "across", "within", "without", "e", "g", "i", "e", "et", "al", "can", "also", "often", "show", "often", "various", "several", "including", "including", "recent", "recently"])


@dataclass(frozen=True)
class CueHit:
    label: str
    weight: float
    sentence_index: int


def summarise_offline(document: SourceDocument) -> Summary:
    """An extractive summary and a heuristic judgement of one item (deterministic, no network)."""
    sentences = (split_sentences(document.body) or split_sentences(document.title)
                 or [document.title.strip() or document.id.strip() or "(untitled)"])
    scores = score_sentences(sentences, document.title)
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    # Titles state the claim most plainly ("… Explains …", "… Adds 0.3 Points"), so cues count there too.
    cue_sentences = sentences + ([document.title] if document.title and document.body else [])
    benchmark = find_cues(cue_sentences, BENCHMARK_CUES)
    insight = find_cues(cue_sentences, INSIGHT_CUES)
    kind = judge_kind(document, benchmark, insight)
    score = insight_score(kind, benchmark, insight)
    quote_index = _evidence_sentence(kind, benchmark, insight, ranked)
    claims = [Claim(claim=_limit(sentences[i], 600), quote=quote_from(sentences[i]))
              for i in sorted(ranked[:MAX_CLAIMS])]
    return Summary(
        tldr=make_tldr(sentences, ranked),
        key_claims=claims,
        contribution=kind,
        insight=Insight(score=score, rationale=rationale(kind, score, benchmark, insight),
                        quote=quote_from(cue_sentences[quote_index])),
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


# -- the judge ------------------------------------------------------------------------------------
def find_cues(sentences: list[str], cues: list[tuple[str, float, str]]) -> list[CueHit]:
    hits = []
    for index, sentence in enumerate(sentences):
        lowered = sentence.lower()
        hits += [CueHit(label, weight, index) for pattern, weight, label in cues if re.search(pattern, lowered)]
    return hits


def _weight(hits: list[CueHit]) -> float:
    return sum(h.weight for h in hits)


def judge_kind(document: SourceDocument, benchmark: list[CueHit], insight: list[CueHit]) -> ContributionKind:
    """Explicit kinds (survey, position, dataset, tool) first; then insight against benchmark cues."""
    opening = " ".join(split_sentences(document.body)[:4]) + " " + document.title
    for kind, pattern in KIND_CUES:
        if re.search(pattern, opening, re.I):
            return kind
    gains, explanation = _weight(benchmark), _weight(insight)
    proposes_method = bool(METHOD_CUE.search(document.body) or METHOD_CUE.search(document.title))
    # A paper that proposes a method needs more explanation before it counts as insight.
    if explanation >= (2.5 if proposes_method else 1.5) and explanation > gains:
        return ContributionKind.NEW_INSIGHT
    if gains >= 1.8 and gains >= explanation:
        return ContributionKind.SOTA_INCREMENT
    if proposes_method:
        return ContributionKind.NEW_METHOD
    if gains >= 1.0:
        return ContributionKind.SOTA_INCREMENT
    if explanation >= 0.8:
        return ContributionKind.NEW_INSIGHT
    return ContributionKind.OTHER


def insight_score(kind: ContributionKind, benchmark: list[CueHit], insight: list[CueHit]) -> float:
    """A logistic blend of explanation cues, benchmark cues and the kind's prior, rounded to 0.01."""
    logit = 0.7 * _weight(insight) - 0.7 * _weight(benchmark) + KIND_PRIOR.get(kind, 0.0)
    return round(1 / (1 + math.exp(-logit)), 2)


def _evidence_sentence(kind: ContributionKind, benchmark: list[CueHit], insight: list[CueHit],
                       ranked: list[int]) -> int:
    favoured = insight if kind is ContributionKind.NEW_INSIGHT or _weight(insight) > _weight(benchmark) else benchmark
    if not favoured:
        return ranked[0]
    per_sentence: defaultdict[int, float] = defaultdict(float)
    for hit in favoured:
        per_sentence[hit.sentence_index] += hit.weight
    return max(per_sentence, key=lambda i: (per_sentence[i], -i))


def _labels(hits: list[CueHit]) -> str:
    seen = list(dict.fromkeys(h.label for h in hits))
    return ", ".join(f'"{label}"' for label in seen[:4]) if seen else "none"


def rationale(kind: ContributionKind, score: float, benchmark: list[CueHit], insight: list[CueHit]) -> str:
    """One sentence naming the cues behind the judgement."""
    gains, explanation = _weight(benchmark), _weight(insight)
    if explanation > gains:
        balance = f"explanation cues ({_labels(insight)}) outweigh benchmark cues ({_labels(benchmark)})"
    elif gains > explanation:
        balance = f"benchmark cues ({_labels(benchmark)}) outweigh explanation cues ({_labels(insight)})"
    else:
        balance = f"explanation cues ({_labels(insight)}) and benchmark cues ({_labels(benchmark)}) balance"
    return f"Heuristic judge: {balance}, and the text reads as {kind.value.replace('_', ' ')}, so it scores {score:.2f}"


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
            continue   # a 'word' longer than a topic may be is a hash, a URL or a run-on token, not a topic
        chosen.append(term)
        if len(chosen) == limit:
            break
    return chosen


def questions(sentences: list[str], kind: ContributionKind) -> list[str]:
    """Questions the text asks itself, then one the judgement suggests."""
    asked = [_limit(s, 600) for s in sentences if s.endswith("?")][:2]
    template = QUESTION_TEMPLATES.get(kind)
    return asked + ([template] if template else [])
