"""Turning untrusted text into page content that can only be read, never run.

Everything the site shows that came from outside the researcher's own site settings goes through here:
pile items (titles, summaries, URLs from feeds and web pages), journal entries, sprint sections, the
digest and notebook HTML. Two kinds of input, two treatments:

- **Text as data** (`text`, `block`, `link`; `html_text` inside raw HTML): a title or a journal entry is
  shown exactly as written. HTML's specials are escaped and every character Markdown (or a Markdown
  extension) could act on is escaped too, so `**`, `[x](javascript:…)`, `<script>` or `:emoji:` are
  displayed, not obeyed.
- **Markup** (`markdown_html`, `clean_html`): a sprint section or a notebook is meant to be formatted. It is
  rendered to HTML first and then cleaned by nh3 with an allowlist: no scripts, no event-handler
  attributes, no styles, and links only to http, https and mailto (or relative ones inside the site).

URLs pass through `safe_url`, which accepts only those schemes, so a `javascript:` link becomes plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

# Markdown syntax characters are backslash-escaped (CommonMark and Python-Markdown both accept these, and
# the page shows the bare character); HTML's specials and characters that only some Markdown extensions
# act on (emoji, mark, tilde, caret, math, magiclink, tables) become numeric character references.
_BACKSLASHED = "\\`*_{}[]()#+-.!"
_REFERENCED = "&<>\"'|~^=:$@"
_MARKDOWN_TEXT = {ord(char): "\\" + char for char in _BACKSLASHED} | {
    ord(char): f"&#{ord(char)};" for char in _REFERENCED
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]")
_ATTRIBUTE_PLAIN = frozenset(" /?#=%.,;:+-")
_URL_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/?#=%.,;:+-")
_HTML_NAMED = {"&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;"}

# Markup allowed in formatted content. No form controls, no embeds, no style, no scripts.
_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "var",
}
_ATTRIBUTES = {
    "*": {"class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
}
# MathML Core's presentation elements and attributes (math.py writes them): no href, style, colour,
# annotation-xml or maction, so math can be drawn but never link, load or run anything.
_MATH_TAGS = {
    "math",
    "menclose",
    "merror",
    "mfrac",
    "mi",
    "mmultiscripts",
    "mn",
    "mo",
    "mover",
    "mpadded",
    "mphantom",
    "mprescripts",
    "mroot",
    "mrow",
    "ms",
    "mspace",
    "msqrt",
    "mstyle",
    "msub",
    "msubsup",
    "msup",
    "mtable",
    "mtd",
    "mtext",
    "mtr",
    "munder",
    "munderover",
    "none",
}
_MATH_ATTRIBUTE_NAMES = {
    "accent",
    "accentunder",
    "columnalign",
    "columnlines",
    "columnspacing",
    "depth",
    "display",
    "displaystyle",
    "fence",
    "form",
    "height",
    "largeop",
    "linethickness",
    "lspace",
    "mathvariant",
    "maxsize",
    "minsize",
    "movablelimits",
    "notation",
    "rowalign",
    "rowlines",
    "rowspacing",
    "rspace",
    "scriptlevel",
    "separator",
    "stretchy",
    "symmetric",
    "width",
}
MATH_TAGS = frozenset(_MATH_TAGS)
MATH_ATTRIBUTES = {tag: set(_MATH_ATTRIBUTE_NAMES) for tag in _MATH_TAGS}
# A task list's boxes (pymdownx.tasklist), in sections only.
_TASK_TAGS = {"input", "label"}
_TASK_ATTRIBUTES = {"input": {"type", "checked", "disabled"}}
_NOT_A_CHECKBOX = re.compile(r'<input(?![^>]*\btype="checkbox")[^>]*>', re.IGNORECASE)
# Dropped with everything inside them, not just unwrapped.
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "textarea", "select"}


def text(value: object) -> str:
    """`value` as inline page text: shown literally, one line, inert in Markdown and HTML."""
    return literal(one_line(value))


def one_line(value: object) -> str:
    """`value` on one line: control characters removed, every run of whitespace one space."""
    return " ".join(_CONTROL.sub("", str(value)).split())


def literal(fragment: str) -> str:
    """A piece of text inert in Markdown and HTML, its whitespace kept (the caller made it one line)."""
    return fragment.translate(_MARKDOWN_TEXT)


def html_text(value: object) -> str:
    """`value` as one line of text inside raw HTML (where Markdown is not processed, so no backslashes)."""
    return html.escape(" ".join(_CONTROL.sub("", str(value)).split()), quote=True)


def block(value: object) -> str:
    """Multi-line text shown literally: paragraphs kept, line breaks kept, nothing interpreted."""
    cleaned = _CONTROL.sub("", str(value)).replace("\r\n", "\n").strip()
    paragraphs = [part for part in re.split(r"\n\s*\n", cleaned) if part.strip()]
    rendered = []
    for paragraph in paragraphs:
        lines = [text(line) for line in paragraph.splitlines() if line.strip()]
        rendered.append("<br>\n".join(lines))
    return "\n\n".join(rendered)


def safe_url(url: object, *, allow_relative: bool = False) -> str | None:
    """The URL if it is http(s) or mailto (or relative, when allowed); None for anything else.

    Whitespace and control characters are removed first, as browsers do, so `java\\tscript:` is caught.
    """
    if url is None:
        return None
    candidate = _URL_JUNK.sub("", html.unescape(str(url)))
    if not candidate:
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme:
        return candidate if parts.scheme.lower() in SAFE_SCHEMES else None
    if candidate.startswith("//"):  # scheme-relative: leaves the site; refuse rather than guess
        return None
    return candidate if allow_relative else None


def attribute(value: object) -> str:
    """A value for an HTML attribute we write ourselves (alt text, titles, our own hrefs).

    Like `href`, every Markdown-active character is a character reference, because the attribute sits in
    a Markdown page: an alt text of `![i](z/onerror=…)` stays text.
    """
    flat = " ".join(_CONTROL.sub("", str(value)).split())
    return "".join(char if char.isalnum() or char in _ATTRIBUTE_PLAIN else _reference(char) for char in flat)


def href(url: str) -> str:
    """A URL as an attribute value that neither HTML nor Markdown can reinterpret.

    Markdown runs its link, image, code and autolink patterns over raw HTML too, so a URL holding
    `[x](x/onfocus=…)` inside `href="…"` would become a nested `<a>` with a live handler. Every character
    but letters, digits and plain URL punctuation is written as a numeric character reference: the browser
    decodes it back to the same URL, and no Markdown pattern matches it.
    """
    return "".join(char if char in _URL_PLAIN else _reference(char) for char in url)


def _reference(char: str) -> str:
    return _HTML_NAMED.get(char) or f"&#{ord(char)};"


def link(label: object, url: object) -> str:
    """An external link whose label is text-as-data; just the label when the URL is not safe."""
    target = safe_url(url)
    if target is None:
        return text(label)
    return f'<a href="{href(target)}" rel="nofollow noopener noreferrer">{text(label)}</a>'


def site_url_policy(tag: str, attribute: str, value: str) -> str | None:
    """Where a cleaned link or image may point: the rule every cleaned fragment and page follows.

    Links: http(s), mailto or relative; a protocol-relative `//host/x` is taken as the external
    `https://host/x` it would be on an https site. Images: only the site's own (relative) files; a
    third-party image is a tracking beacon that reports every reader to its host, so its `src` is dropped
    (the alt text stays). Anything else (javascript:, data:, vbscript:, …) is dropped.
    """
    if attribute not in ("href", "src"):
        return value
    if value.startswith("#"):
        return value
    candidate = value
    if _URL_JUNK.sub("", value).startswith("//"):
        if attribute == "src":
            return None
        candidate = "https:" + _URL_JUNK.sub("", value)
    if safe_url(candidate, allow_relative=True) is None:
        return None
    if attribute == "src" and (urlsplit(_URL_JUNK.sub("", candidate)).scheme or candidate.startswith("//")):
        return None
    return candidate


def clean_html(
    markup: str,
    *,
    id_prefix: str | None = None,
    attribute_filter: Callable[[str, str, str], str | None] | None = None,
    tasks: bool = False,
) -> str:
    """Allowlist-clean an HTML fragment (notebooks, rendered sections).

    `attribute_filter(tag, attribute, value)` may rewrite or drop (None) attribute values that pass; the
    site's own URL rule (`site_url_policy`) applies after it. `tasks` keeps a task list's checkboxes
    (`<label><input type="checkbox" disabled checked>`, nothing else of a form).
    """
    import nh3

    def policy(tag: str, attribute: str, value: str) -> str | None:
        if tag == "input" and attribute == "type":
            return value if value.lower() == "checkbox" else None
        if attribute_filter is not None:
            rewritten = attribute_filter(tag, attribute, value)
            if rewritten is None:
                return None
            value = rewritten
        return site_url_policy(tag, attribute, value)

    cleaned = nh3.clean(
        markup,
        tags=_TAGS | _TASK_TAGS if tasks else _TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={**_ATTRIBUTES, **_TASK_ATTRIBUTES} if tasks else _ATTRIBUTES,
        url_schemes=set(SAFE_SCHEMES),
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
        id_prefix=id_prefix,
        attribute_filter=policy,
    )
    # nh3 keeps an <input> whose type it dropped; only a task list's checkbox may stay.
    return _NOT_A_CHECKBOX.sub("", cleaned) if tasks else cleaned


# -- the final pass over built pages -------------------------------------------------------------------
# What the site engine makes of our Markdown (headings with permalinks, admonitions, highlighted code,
# footnotes, tabbed blocks, task lists) on top of the fragment allowlist. No scripts, handlers or styles.
_PAGE_TAGS = _TAGS | {"input", "label", "sup", "span", "nav"} | MATH_TAGS
_PAGE_ATTRIBUTES = {
    **MATH_ATTRIBUTES,
    **{tag: set(names) for tag, names in _ATTRIBUTES.items()},
    "*": {"class", "title", "id"},
    "a": {"href", "rel", "name", "download"},
    "img": {"src", "alt", "width", "height", "loading"},
    "input": {"type", "name", "checked", "disabled"},
    "label": {"for"},
}
_INPUT_TYPES = {"checkbox", "radio"}
# The theme's article opens the page content; its feedback form (when configured) and `</article>` close
# it. Content comes between them, so the first opening and the last closing marks bound it whatever the
# content holds.
_ARTICLE_OPEN = re.compile(r'<article class="md-content__inner md-typeset">')
_THEME_AFTER_CONTENT = ('<form class="md-feedback"', "</article>")
_COMMENTS_MARK = '<h2 id="__comments">'


def _page_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "input" and attribute == "type":
        return value if value.lower() in _INPUT_TYPES else None
    return site_url_policy(tag, attribute, value)


def clean_page_content(markup: str) -> str:
    """Allowlist-clean the content of a built page (what the engine rendered from Markdown)."""
    import nh3

    return nh3.clean(
        markup,
        tags=_PAGE_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_PAGE_ATTRIBUTES,
        url_schemes=set(SAFE_SCHEMES),
        link_rel=None,
        strip_comments=True,
        attribute_filter=_page_attribute,
    )


def clean_page(page: str, *, comments: bool = False) -> str:
    """A built page with its content region cleaned; the theme's template around it is left as written.

    A page without the theme's article (another theme, a redirect page) is cleaned whole, which keeps its
    text and drops its scripts. With `comments` (giscus configured), the comments block the theme writes
    last in the article is template too; without it, no such mark is looked for, so content cannot fake one.
    """
    opening = _ARTICLE_OPEN.search(page)
    if opening is None:
        return clean_page_content(page)
    end = page.rfind("</article>")
    if end < opening.end():
        return page[: opening.end()] + clean_page_content(page[opening.end() :])
    form = page.rfind(_THEME_AFTER_CONTENT[0], opening.end(), end)
    stop = form if form != -1 else end
    if comments:
        block = page.rfind(_COMMENTS_MARK, opening.end(), end)
        stop = min(stop, block) if block != -1 else stop
    return page[: opening.end()] + clean_page_content(page[opening.end() : stop]) + page[stop:]


def clean_built_pages(site_dir: Path, *, comments: bool = False) -> int:
    """Clean every built HTML page under `site_dir` in place; returns how many were cleaned."""
    count = 0
    for path in sorted(site_dir.rglob("*.html")):
        if path.is_file() and not path.is_symlink():
            page = clean_page(path.read_text(encoding="utf-8", errors="replace"), comments=comments)
            path.write_text(drop_missing_images(page, path, site_dir), encoding="utf-8")
            count += 1
    return count


_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b(src|alt)="([^"]*)"')


def drop_missing_images(page: str, path: Path, site_dir: Path) -> str:
    """An image whose site-relative source is not a published file becomes its alt text.

    Text from a notebook or feed may hold `<img src="x">`; kept, it asks the site for a file that is not
    there on every visit. Absolute (http/https) sources were already dropped or kept by the allowlist.
    """
    root = site_dir.resolve()

    def replace(match: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(match.group(0)))
        src = html.unescape(attrs.get("src", ""))
        if not src or ":" in src.split("/", 1)[0] or src.startswith("//"):
            return match.group(0)
        relative = unquote(src.split("#", 1)[0].split("?", 1)[0])
        target = (root / relative.lstrip("/")) if relative.startswith("/") else (path.parent / relative)
        try:
            found = target.resolve().is_relative_to(root) and target.is_file()
        except (OSError, ValueError):
            found = False
        return match.group(0) if found else attrs.get("alt", "")

    return _IMG.sub(replace, page)


def markdown_html(markdown_text: str) -> str:
    """Render Markdown written by a person or a program to HTML, then clean it.

    Used for sprint sections and the digest, whose formatting should survive but whose content may quote
    ingested text (reading list titles and links come from feeds).
    """
    import markdown

    rendered = markdown.markdown(
        _CONTROL.sub("", markdown_text),
        extensions=["extra", "admonition", "sane_lists", "pymdownx.tasklist"],
        extension_configs={"pymdownx.tasklist": {"custom_checkbox": True}},
        output_format="html",
    )
    return clean_html(rendered, tasks=True)


def html_block(markup: str, css_class: str) -> str:
    """Cleaned HTML as a block that Markdown engines pass through untouched (blank lines around it)."""
    return f'\n<div class="{css_class}" markdown="0">\n{markup}\n</div>\n'
