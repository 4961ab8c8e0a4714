"""Feed boilerplate: each source's template, learnt from its own items, and item text with it taken out.

A feed wraps every entry in the same frame whatever the entry is about: Hacker News adds "Score: 176",
"Comments: 112" and a discussion link, Reddit "submitted by /u/… [link] [comments]", a trends feed
"⭐ 1,708 stars", an essay feed the same invitation under every essay. Left in, that frame is the
strongest thing a feed's items share, so they cluster by feed instead of by subject, and the frame
becomes the topic's label ("ycombinator com, score comments").

The template is derived from the data, per source, rather than from a hand list:

- a **line** that recurs (digits aside) in a good share of one source's items is its frame;
- a **word** found in most of one source's items, whatever they are about, is its vocabulary, not a
  subject (only once the source has enough items to tell);
- a feed's own **name** ("Claude Blog", "Paul Graham Essays") describes the source, not the entry.

Link addresses (URLs and bare domains) are never content, whatever the source. Topics cluster and name
on what is left (`topics.py`); the stored item text is never changed.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

MIN_ITEMS_FOR_LINES = 4  # a source needs this many items before a repeated line counts as its frame
LINE_SHARE = 0.3  # a line (digits aside) in this share of a source's items is template …
LINE_MIN_ITEMS = 3  # … and in at least this many of them
MIN_ITEMS_FOR_WORDS = 8  # fewer items than this cannot show which words a source uses whatever the subject
WORD_SHARE = 0.5  # a word in this share of a source's items is the source's vocabulary
NAME_MIN_CHARS = 3  # words of a feed's name shorter than this are left alone ("AI", "of")

_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|ai|dev|co|html?|php)\b\S*", re.IGNORECASE
)
_WORD = re.compile(r"(?u)\b[^\W\d_][\w'’-]*")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t.,;:!?-–—|·•*#>()[]\"'"


def line_key(line: str) -> str:
    """A line as a template compares it: lower case, numbers as '#', spacing and edge punctuation gone."""
    return _SPACES.sub(" ", _DIGITS.sub("#", line.lower())).strip(_EDGE_PUNCTUATION)


def words_of(text: str) -> set[str]:
    return {w.lower().strip("'’-") for w in _WORD.findall(text)} - {""}


def without_links(text: str) -> str:
    return _URL.sub(" ", text)


@dataclass
class Templates:
    """What each source (by id) wraps its items in: template lines (as `line_key`s) and words."""

    lines: dict[int, frozenset[str]] = field(default_factory=dict)
    words: dict[int, frozenset[str]] = field(default_factory=dict)
    _patterns: dict[int, re.Pattern[str] | None] = field(default_factory=dict, repr=False)

    def clean(self, source: int | None, text: str) -> str:
        """`text` without links, without `source`'s template lines, and without its template words."""
        text = without_links(text)
        if source is None:
            return text
        lines = self.lines.get(source)
        if lines:
            text = "\n".join(line for line in text.splitlines() if line_key(line) not in lines)
        pattern = self._pattern(source)
        return pattern.sub(" ", text) if pattern else text

    def _pattern(self, source: int) -> re.Pattern[str] | None:
        if source not in self._patterns:
            words = sorted(self.words.get(source, ()), key=len, reverse=True)
            self._patterns[source] = (
                re.compile(r"(?<![\w'’-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w'’-])", re.IGNORECASE)
                if words
                else None
            )
        return self._patterns[source]


def source_of_items(conn: sqlite3.Connection) -> dict[str, int]:
    """Each item's first source (the one it arrived through first); items read some other way have none."""
    return {
        r["item_id"]: r["source_id"]
        for r in conn.execute("SELECT item_id, MIN(source_id) AS source_id FROM item_sources GROUP BY item_id")
    }


def learn(texts: Iterable[tuple[str, int | None, str]], names: dict[int, str] | None = None) -> Templates:
    """Each source's template from (item id, source id, text) triples; `names` are feeds' titles."""
    by_source: dict[int, list[str]] = defaultdict(list)
    for _, source, text in texts:
        if source is not None:
            by_source[source].append(without_links(text))
    templates = Templates()
    for source, items in by_source.items():
        lines = _template_lines(items)
        if lines:
            templates.lines[source] = lines
        words = _template_words(items) | _name_words((names or {}).get(source, ""))
        if words:
            templates.words[source] = frozenset(words)
    return templates


def learn_from_pile(conn: sqlite3.Connection, texts: dict[str, str]) -> tuple[Templates, dict[str, int]]:
    """The pile's templates, from `texts` (item id → the text topics use), and each item's source."""
    source_of = source_of_items(conn)
    names = {r["id"]: r["title"] or "" for r in conn.execute("SELECT id, title FROM sources WHERE kind = 'feed'")}
    templates = learn(((item_id, source_of.get(item_id), text) for item_id, text in texts.items()), names)
    return templates, source_of


def _template_lines(items: list[str]) -> frozenset[str]:
    if len(items) < MIN_ITEMS_FOR_LINES:
        return frozenset()
    counted: Counter[str] = Counter()
    for text in items:
        counted.update({key for key in map(line_key, text.splitlines()) if len(key) >= 3})
    floor = max(LINE_MIN_ITEMS, LINE_SHARE * len(items))
    return frozenset(key for key, n in counted.items() if n >= floor)


def _template_words(items: list[str]) -> set[str]:
    # Counted over the whole text, template lines included: a frame line that varies ("submitted by
    # /u/someone") is not one repeated line, but its fixed words are in every item.
    if len(items) < MIN_ITEMS_FOR_WORDS:
        return set()
    counted: Counter[str] = Counter()
    for text in items:
        counted.update(words_of(text))
    floor = WORD_SHARE * len(items)
    return {word for word, n in counted.items() if n >= floor}


def _name_words(name: str) -> set[str]:
    return {w for w in words_of(without_links(name)) if len(w) >= NAME_MIN_CHARS}
