"""Words that say nothing about what a text is about: for turning queries into search terms
(`STOP_WORDS`, English), and for topic labels (`LABEL_STOP_WORDS`: English, the function words of the
other languages feeds arrive in, the filler of web writing, and the furniture of feeds and links), and
for the offline summariser's keywords and the judge's n-grams (`SUMMARY_STOP_WORDS`: English plus the
words every abstract uses). The one list of each: other modules import them, never keep their own.

Kept here, not borrowed from scikit-learn, so a search or a sprint's reading list does not pay for
importing it (about 0.7 s on a 2-core machine). The words are package data, one file a list in
`stopword_lists/` (one word a line; `#` starts a comment line), each read once, when first asked for.
"""

from __future__ import annotations

import functools
from importlib import resources

# The lists kept as files: NAME is stopword_lists/name.txt.
LISTS = (
    "STOP_WORDS",
    "GERMAN",
    "FRENCH",
    "SPANISH",
    "DUTCH",
    "ITALIAN_PORTUGUESE",
    "SLOVAK_CZECH",
    "GENERIC",
    "WEB",
    "PAPER_WORDS",
)
# The lists made of others: name → the lists it joins.
UNIONS = {
    "FOREIGN_FUNCTION_WORDS": ("GERMAN", "FRENCH", "SPANISH", "DUTCH", "ITALIAN_PORTUGUESE", "SLOVAK_CZECH"),
    "LABEL_STOP_WORDS": ("STOP_WORDS", "FOREIGN_FUNCTION_WORDS", "GENERIC", "WEB"),
    "SUMMARY_STOP_WORDS": ("STOP_WORDS", "PAPER_WORDS"),
}
__all__ = [*LISTS, *UNIONS]


@functools.cache
def words(name: str) -> frozenset[str]:
    """The list of that name (one of LISTS or UNIONS), read from the package's files once."""
    if name in UNIONS:
        return frozenset().union(*(words(part) for part in UNIONS[name]))
    if name not in LISTS:
        raise KeyError(name)
    text = resources.files("sabbatical.reading").joinpath("stopword_lists", f"{name.lower()}.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def __getattr__(name: str) -> frozenset[str]:
    """`from .stopwords import STOP_WORDS` and `stopwords.WEB` read their list on first use."""
    if name in LISTS or name in UNIONS:
        return words(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
