"""Tidying extracted text (feed entries, web pages) before it meets the pile.

Two things extraction gets wrong on real sites: words cut in two, and bylines kept as text.

- A word is kept whole: soft hyphens and zero-width characters (German sites hyphenate
  "KI-Wert&shy;schöpfung") are removed, and inline markup inside a word ("Wert<em>schöpfung</em>")
  joins its pieces instead of leaving a space.
- A paragraph that is only a byline or author link ("View all posts by Jane Doe", "Posted by …",
  "Alle Beiträge von … anzeigen", "By Jane Doe") is dropped; a sentence that merely starts with "By" is
  kept when it is long enough to be text.
"""

from __future__ import annotations

import re

INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|em|i|kbd|mark|q|s|small|span|strong|sub|sup|u|wbr)\b[^>]*>", re.IGNORECASE
)
_BYLINE = re.compile(
    r"^(?:(?:view|see|read|more) (?:all |more )?(?:posts|articles|stories|entries)(?: written)? by\b"
    r"|(?:posted|written|published|authored) by\b"
    r"|alle (?:beiträge|artikel) (?:von|anzeigen)\b|weitere (?:beiträge|artikel) von\b"
    r"|voir tous les (?:articles|billets) de\b"
    r"|(?:author|autor(?:in)?|auteur)\s*:\s*\S"
    r"|(?:by|von)\s+(?-i:[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|and|und|&))*)\s*$)",
    re.IGNORECASE,
)
BYLINE_WORDS = 12


def join_inline(markup: str) -> str:
    """HTML with inline tags and invisible characters removed, so no word is split by them."""
    return INLINE_TAG.sub("", INVISIBLE.sub("", markup))


def is_byline(paragraph: str) -> bool:
    """A short paragraph that only names an author (or links to their other posts)."""
    text = paragraph.strip()
    return bool(text) and len(text.split()) <= BYLINE_WORDS and bool(_BYLINE.match(text))


def drop_bylines(text: str) -> str:
    """Text without its byline paragraphs or lines, and without invisible characters."""
    kept = []
    for paragraph in INVISIBLE.sub("", text).split("\n\n"):
        lines = [line for line in paragraph.split("\n") if not is_byline(line)]
        if any(line.strip() for line in lines):
            kept.append("\n".join(lines))
    return "\n\n".join(kept)
