"""The structured summary every pile item gets, and checking its quotes against the item's text.

One schema serves both producers (the offline summariser and an LLM endpoint), so a summary reads the
same whichever made it. Evidence is quoted, and every quote is checked against the source: a quote that
does not occur in the text is flagged (kept, marked unverified), never silently dropped, so the reader
can see when a model put words in a paper's mouth.

An item with too little text to judge (a title, a one-line feed teaser: under `MIN_JUDGE_WORDS` words
besides its title) is summarised but not judged: its contribution is "unjudged" and it has no insight
score. An endpoint is never asked about such items, and its answers must judge (`JudgedSummary`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_TLDR_SENTENCES = 2
MIN_QUOTE_WORDS = 3
# Chosen from the corpus: 99.7% of arXiv abstracts (OAI-PMH harvest) have at least 20 words, while 58% of
# the AI-blog feed items carry fewer (a teaser line or nothing). Below it, there is no claim to judge.
MIN_JUDGE_WORDS = 20


@dataclass(frozen=True)
class SourceDocument:
    """An item as the summarisers read it: its metadata and the text quotes are checked against."""

    id: str
    kind: str
    title: str
    abstract: str
    content: str
    content_hash: str
    authors: tuple[str, ...] = ()
    published: str | None = None

    @property
    def body(self) -> str:
        """Abstract and main text (a web page has only content; an arXiv entry often only an abstract)."""
        return "\n\n".join(part for part in (self.abstract.strip(), self.content.strip()) if part)

    @property
    def full_text(self) -> str:
        return "\n\n".join(part for part in (self.title.strip(), self.body) if part)

    @property
    def judgeable(self) -> bool:
        """Enough text besides the title to judge what the item contributes."""
        return len(self.body.split()) >= MIN_JUDGE_WORDS


class ContributionKind(str, Enum):
    """What kind of contribution an item makes; the judge's headline."""

    NEW_INSIGHT = "new_insight"  # explains why or how models behave: understanding, mechanism
    NEW_METHOD = "new_method"
    SOTA_INCREMENT = "sota_increment"  # a small gain on a benchmark
    DATASET_BENCHMARK = "dataset_benchmark"
    TOOL_SYSTEM = "tool_system"
    SURVEY = "survey"
    POSITION = "position"
    OTHER = "other"
    UNJUDGED = "unjudged"  # too little text to judge: no insight score


ShortText = Annotated[str, Field(min_length=1, max_length=600)]
Quote = Annotated[str, Field(min_length=1, max_length=400, description="verbatim words from the document")]


class _Strict(BaseModel):
    # extra="forbid": an answer smuggling in fields of its own is invalid, not quietly trimmed.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Claim(_Strict):
    claim: ShortText = Field(description="one key claim of the document, in your words")
    quote: Quote = Field(description="a short verbatim quote from the document that supports the claim")


class Insight(_Strict):
    score: float = Field(ge=0.0, le=1.0, description="0 = only a small benchmark gain, 1 = new understanding")
    rationale: ShortText = Field(description="one sentence: why this score")
    quote: Quote = Field(description="a short verbatim quote from the document supporting the score")

    @field_validator("rationale")
    @classmethod
    def _one_sentence(cls, value: str) -> str:
        if count_sentences(value) > 1:
            raise ValueError("the rationale must be one sentence")
        return value


class Summary(_Strict):
    tldr: ShortText = Field(description="at most two sentences")
    key_claims: list[Claim] = Field(min_length=1, max_length=6)
    contribution: ContributionKind
    insight: Insight | None = Field(default=None, description="the judgement; none when the item is unjudged")
    topics: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(max_length=8)
    questions: list[ShortText] = Field(max_length=5, description="questions the document raises")

    @field_validator("tldr")
    @classmethod
    def _at_most_two_sentences(cls, value: str) -> str:
        if count_sentences(value) > MAX_TLDR_SENTENCES:
            raise ValueError(f"the tldr must be at most {MAX_TLDR_SENTENCES} sentences")
        return value

    @model_validator(mode="after")
    def _judged_or_not(self) -> Summary:
        unjudged = self.contribution is ContributionKind.UNJUDGED
        if unjudged and self.insight is not None:
            raise ValueError("an unjudged summary has no insight judgement")
        if not unjudged and self.insight is None:
            raise ValueError("insight is required (score, rationale, quote)")
        return self

    @property
    def judged(self) -> bool:
        return self.insight is not None


class JudgedSummary(Summary):
    """What an endpoint must answer: always a judgement, never "unjudged" (short items are not sent)."""

    insight: Insight

    @field_validator("contribution")
    @classmethod
    def _a_judgement(cls, value: ContributionKind) -> ContributionKind:
        if value is ContributionKind.UNJUDGED:
            raise ValueError("choose one of the contribution kinds; 'unjudged' is not an answer")
        return value

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema = super().model_json_schema(*args, **kwargs)
        kinds = schema.get("$defs", {}).get("ContributionKind", {})
        if "enum" in kinds:
            kinds["enum"] = [k for k in kinds["enum"] if k != ContributionKind.UNJUDGED.value]
        return schema


# A sentence ends at . ! or ? followed by a space and a capital, digit or quote; abbreviations are spared.
_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "et al.",
    "etc.",
    "vs.",
    "fig.",
    "figs.",
    "eq.",
    "eqs.",
    "sec.",
    "cf.",
    "approx.",
    "resp.",
    "dr.",
    "no.",
    "ref.",
    "refs.",
    "al.",
    "tab.",
    "ca.",
    "mr.",
    "ms.",
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences, keeping abbreviations like 'e.g.' and 'et al.' inside."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last_word = candidate.rsplit(" ", 1)[-1].lower()
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last_word):
            continue
        sentences.append(candidate)
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


# -- quote verification ---------------------------------------------------------------------------
_LATEX_WRAPPER = re.compile(r"\\[a-zA-Z]+\*?(?:\[[^\]]*\])?\{([^{}]*)\}")
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+\*?")
_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:\.\s*){3}\]|\.{3}|…)\s*")


def normalise_for_matching(text: str, join_hyphenated_breaks: bool = False) -> str:
    """Reduce text to lower-case words separated by single spaces.

    Whitespace, case, typographic quotes and dashes, LaTeX markup (\\emph{x}, $x$, ~, \\%) all vary
    between the source and a quote of it without changing what is said. With `join_hyphenated_breaks`,
    a word hyphenated across a line break (PDF text) is joined again.
    """
    text = unicodedata.normalize("NFKC", text)
    if join_hyphenated_breaks:
        text = re.sub(r"(\w)-[ \t]*\n\s*(\w)", r"\1\2", text)
    for _ in range(3):  # unwrap nested \cmd{…}
        text = _LATEX_WRAPPER.sub(r"\1", text)
    text = _LATEX_COMMAND.sub(" ", text).replace("\\%", "%")
    words = re.findall(r"\w+(?:[.%]\w+)*%?", text.lower())
    return " ".join(words)


@dataclass(frozen=True)
class QuoteCheck:
    """One quote of a summary, where it appears in the summary, and whether the source contains it."""

    field: str  # 'key_claims[0]' or 'insight'
    quote: str
    status: str  # 'verified', 'not_found', 'too_short'

    @property
    def verified(self) -> bool:
        return self.status == "verified"


def quote_occurs(quote: str, normalised_source: str) -> str:
    """'verified' when every part of `quote` (split at ellipses) occurs in order in the source."""
    parts = [normalise_for_matching(p) for p in _ELLIPSIS.split(quote)]
    parts = [p for p in parts if p]
    if sum(len(p.split()) for p in parts) < MIN_QUOTE_WORDS:
        whole = normalise_for_matching(quote)
        return "verified" if whole and whole == normalised_source else "too_short"
    haystack = f" {normalised_source} "
    position = 0
    for part in parts:
        found = haystack.find(f" {part} ", position)
        if found < 0:
            return "not_found"
        position = found + len(part) + 1
    return "verified"


def verify_quotes(summary: Summary, source_text: str) -> list[QuoteCheck]:
    """Check every quote of `summary` against `source_text` (title + abstract + content of the item)."""
    sources = {normalise_for_matching(source_text), normalise_for_matching(source_text, True)}
    quoted = [(f"key_claims[{i}]", claim.quote) for i, claim in enumerate(summary.key_claims)]
    if summary.insight is not None:
        quoted.append(("insight", summary.insight.quote))
    return [QuoteCheck(where, quote, _best_status(quote, sources)) for where, quote in quoted]


def _best_status(quote: str, normalised_sources: set[str]) -> str:
    statuses = {quote_occurs(quote, source) for source in normalised_sources}
    return next(s for s in ("verified", "too_short", "not_found") if s in statuses)


def stored_form(summary: Summary, checks: list[QuoteCheck]) -> dict:
    """What goes into summaries.data: the summary and the result of checking each of its quotes."""
    return {"summary": summary.model_dump(mode="json"), "quote_checks": [asdict(c) for c in checks]}
