"""LaTeX in published text, rendered at build time to MathML that the browser draws natively.

Abstracts, tldrs, journal entries, sprint sections and notebooks often hold math: `$\\alpha$`, `$$x^2$$`,
`\\(…\\)`, `\\[…\\]`. The site converts each math span to MathML with `latex2mathml` while it builds, so a
page needs no script, no CDN and works offline and under `file://`; and a page that publishes hostile text
runs no third-party JavaScript to typeset it.

The rules, in the order they apply:

- the text around a span is escaped exactly as any text-as-data is (`sanitise`); only the span is converted;
- a dollar sign opens math only when a non-space follows it, and closes it only when a non-space precedes
  it and no digit follows it (pandoc's rule), so "$5 per month" and "costs $3 and $4" stay prose; `\\$` is
  a literal dollar;
- the MathML that comes out passes an allowlist of MathML Core elements and presentational attributes (nh3):
  no `href`, no `style`, no colour, no `annotation-xml`, no `maction`; its text is written as character
  references, so Markdown cannot act on it;
- a span that does not convert (bad LaTeX, too long, too many spans) stays as escaped text with its
  delimiters; it never breaks the build.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache

from . import sanitise

MAX_LATEX = 2000  # characters in one span; longer spans are shown as text
MAX_SPANS = 200  # spans converted in one text; the rest are shown as text

# Attribute values latex2mathml writes are words, numbers and lengths; anything else is dropped.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9 .%+-]{0,40}")
_TEXT_BETWEEN_TAGS = re.compile(r">([^<]+)<")
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)


@dataclass(frozen=True)
class Span:
    """One math span of a text: where it is, its LaTeX, and whether it is display math."""

    start: int
    end: int
    latex: str
    display: bool


def find_spans(value: str, skip: list[tuple[int, int]] | None = None) -> list[Span]:
    """The math spans of `value`, left to right, none overlapping a `skip` range (code, say)."""
    found: list[Span] = []
    index = 0
    while index < len(value) and len(found) < MAX_SPANS:
        span = _span_at(value, index)
        if span is None:
            index += 2 if value[index] == "\\" else 1
            continue
        if not any(start < span.end and span.start < end for start, end in skip or []):
            found.append(span)
        index = span.end
    return found


def _span_at(value: str, index: int) -> Span | None:
    if value.startswith(("\\(", "\\["), index):
        closer = "\\)" if value[index + 1] == "(" else "\\]"
        return _delimited(value, index, 2, closer, display=closer == "\\]")
    if value.startswith("$$", index):
        return _delimited(value, index, 2, "$$", display=True)
    if value[index] == "$":
        return _inline_dollar(value, index)
    return None


def _delimited(value: str, index: int, width: int, closer: str, *, display: bool) -> Span | None:
    end = value.find(closer, index + width, index + width + MAX_LATEX + len(closer))
    latex = value[index + width : end]
    if end == -1 or not latex.strip() or "\n\n" in latex:
        return None
    return Span(index, end + len(closer), latex, display)


def _inline_dollar(value: str, index: int) -> Span | None:
    """`$…$` by pandoc's rule: no space after the opener, none before the closer, no digit after it."""
    first = index + 1
    if first >= len(value) or value[first].isspace() or value[first] == "$":
        return None
    position = first
    limit = min(len(value), first + MAX_LATEX)
    while position < limit:
        char = value[position]
        if char == "\\":
            position += 2
            continue
        if value.startswith("\n\n", position):
            return None
        if char == "$" and not value[position - 1].isspace():
            if position + 1 < len(value) and value[position + 1].isdigit():
                return None
            return Span(index, position + 1, value[first:position], False)
        position += 1
    return None


def _mathml_attribute(tag: str, attribute: str, value: str) -> str | None:
    return value if _PLAIN_VALUE.fullmatch(value) else None


@lru_cache(maxsize=4096)
def mathml(latex: str, display: bool = False) -> str | None:
    """`latex` as cleaned, Markdown-inert MathML; None when it does not convert."""
    if not latex.strip() or len(latex) > MAX_LATEX:
        return None
    import nh3
    from latex2mathml.converter import convert

    try:
        raw = convert(latex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds of error (and RecursionError) for LaTeX it cannot read
        return None
    cleaned = nh3.clean(
        raw,
        tags=set(sanitise.MATH_TAGS),
        clean_content_tags={"script", "style", "annotation-xml", "annotation"},
        attributes=sanitise.MATH_ATTRIBUTES,
        url_schemes=set(),
        strip_comments=True,
        attribute_filter=_mathml_attribute,
    )
    if not cleaned.startswith("<math") or not cleaned.endswith("</math>"):
        return None
    return _TEXT_BETWEEN_TAGS.sub(lambda match: ">" + _references(html.unescape(match.group(1))) + "<", cleaned)


def _references(value: str) -> str:
    """Text written so that neither HTML nor Markdown can act on it: every non-alphanumeric a reference."""
    return "".join(char if char.isalnum() else f"&#{ord(char)};" for char in value)


def _converted(value: str, spans: list[Span], prose, fallback) -> str:
    """`value` with each span as MathML (or `fallback` of its source) and the rest through `prose`."""
    pieces, last = [], 0
    for span in spans:
        pieces.append(prose(value[last : span.start]))
        pieces.append(mathml(span.latex, span.display) or fallback(value[span.start : span.end]))
        last = span.end
    pieces.append(prose(value[last:]))
    return "".join(pieces)


def text(value: object) -> str:
    """Like `sanitise.text` (one line, inert in Markdown and HTML), with its math spans as MathML."""
    flat = sanitise.one_line(value)
    return _converted(flat, find_spans(flat), sanitise.literal, sanitise.literal)


def html_text(value: str) -> str:
    """Plain text for raw HTML (html-escaped), with its math spans as MathML."""
    return _converted(value, find_spans(value), html.escape, html.escape)


def _code_ranges(source: str) -> list[tuple[int, int]]:
    return [match.span() for pattern in (_FENCE, _CODE_SPAN) for match in pattern.finditer(source)]


def markdown_html(source: str) -> str:
    """`sanitise.markdown_html` of `source`, its math spans (outside code) rendered as MathML.

    Each span is swapped for a random word before Markdown runs, so Markdown never sees the LaTeX
    (`a_1 * b_2` would turn into emphasis), and swapped back after the HTML is cleaned: as MathML in text,
    as its escaped source inside an attribute (a link's URL that held a `$`).
    """
    spans = find_spans(source, _code_ranges(source))
    if not spans:
        return sanitise.markdown_html(source)
    token = "m" + uuid.uuid4().hex
    pieces, last, words = [], 0, {}
    for number, span in enumerate(spans):
        word = f"{token}x{number}x"
        pieces += [source[last : span.start], word]
        words[word] = (span, source[span.start : span.end])
        last = span.end
    return _restore(sanitise.markdown_html("".join(pieces + [source[last:]])), words)


_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")


def _restore(cleaned: str, words: dict[str, tuple[Span, str]]) -> str:
    """The cleaned HTML with each word back: MathML in text, the escaped source inside a tag's attribute."""
    pattern = re.compile("|".join(re.escape(word) for word in words))
    parts = _TAG_OR_TEXT.split(cleaned)
    for index, part in enumerate(parts):
        in_tag = part.startswith("<")

        def swap(match: re.Match[str], in_tag: bool = in_tag) -> str:
            span, source = words[match.group(0)]
            if in_tag:
                return html.escape(source, quote=True)
            return mathml(span.latex, span.display) or html.escape(source)

        parts[index] = pattern.sub(swap, part)
    return "".join(parts)


_MAY_HOLD_MATH = re.compile(r"[$\\]")
_SKIPPED_ELEMENTS = re.compile(r"<(pre|code|script|style|textarea)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def html_with_math(markup: str) -> str:
    """Cleaned HTML (a rendered notebook) with the math spans of its text rendered; code is left as is."""
    skipped = [match.span() for match in _SKIPPED_ELEMENTS.finditer(markup)]
    pieces, last = [], 0
    for match in _TEXT_BETWEEN_TAGS.finditer(markup):
        start, end = match.span(1)
        if any(low <= start < high for low, high in skipped) or not _MAY_HOLD_MATH.search(match.group(1)):
            continue
        pieces += [markup[last:start], html_text(html.unescape(match.group(1)))]
        last = end
    return "".join(pieces + [markup[last:]])
