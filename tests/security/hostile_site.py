"""A workspace whose every published field holds hostile text, and what a built page may never contain.

`hostile_workspace` puts one hostile string per field through the product's own paths: a feed read by the
real ingester (item title, URL, authors, abstract), triage (tags, notes), topic renames, sprints made by the
scaffold (question, sections, journal), runs logged with a real MlflowClient (run names, params, metric
names), notebooks saved with outputs, and artifacts on disk (file names, captions).

`page_problems` reads a built page as a browser would (an HTML parser) and lists what must never be there:
an `on*` attribute, a javascript:/data:/vbscript: URL, a script or iframe that is not the theme's own asset,
an attribute value holding raw markup, or an image from another host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape as xml_escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.helpers.site_workspace import add_artifact, add_run, add_sprint, png_bytes

# Each of these broke, or could break, a page: Markdown links and images inside attributes, code spans,
# raw HTML, dangerous schemes, attribute-list syntax, mathtext, entities, protocol-relative links, beacons.
FRAGMENTS = [
    "[x](x/autofocus/onfocus=alert(1)//)",
    "![i](z/onerror=alert(2)//)",
    '`x`y" onmouseover=alert(3) `',
    "<script>alert(4)</script>",
    "<img src=x onerror=alert(5)>",
    '"><svg onload=alert(6)>',
    "javascript:alert(7)",
    "JaVa\tScRiPt:alert(8)",
    "data:text/html,<script>alert(9)</script>",
    "vbscript:msgbox(10)",
    "<iframe src=//evil.example/f></iframe>",
    "//evil.example/x",
    "{: onclick=alert(11) }",
    "$\\foo$",
    "$x^2$",
    ":smile:",
    "**b** _i_ ~~s~~ ==m==",
    "&lt;script&gt;alert(12)&lt;/script&gt;",
    "&#x3C;img src=x onerror=alert(13)&#x3E;",
    "<a href=javascript:alert(14)>a</a>",
    "[r]: javascript:alert(15)",
    "[ref][r]",
    "| a | b |",
    "'",
    '"',
    "\\",
    "<!--",
    "-->",
    "<style>*{display:none}</style>",
    " autofocus onfocus=alert(16) ",
    "%3Cscript%3E",
    "<",
    "<img src=https://tracker.example/p.png>",
    "![t](https://tracker.example/beacon.png)",
    "[p](//evil.example/y)",
    "<https://evil.example/auto>",
    "<form action=https://evil.example><button>go</button></form>",
    '!!! note "x"',
    "```html\n<script>alert(17)</script>\n```",
    "<object data=x></object>",
    "\u202e",
    "&",
]
SITE_ATTRIBUTES_ALLOWED = {
    "href",
    "src",
    "alt",
    "title",
    "class",
    "id",
    "rel",
    "name",
    "download",
    "loading",
    "width",
    "height",
    "colspan",
    "rowspan",
    "align",
    "scope",
    "start",
    "type",
    "checked",
    "disabled",
    "for",
}
_BAD_SCHEME = re.compile(r"^\s*(javascript|data|vbscript)\s*:", re.IGNORECASE)
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]")
# A quoted attribute value holding a live tag: Markdown reinterpreted text inside an attribute it did not write.
# Searched in the text of each start tag (never across the page, where `p="` in a table cell is only text).
_RAW_MARKUP_IN_ATTRIBUTE = re.compile(r"""=\s*("[^"]*|'[^']*)<(a|img|svg|script|iframe)[\s/>]""", re.IGNORECASE)
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class Hostile:
    """One hostile string for each field that reaches a page."""

    title: str
    url: str
    authors: str
    abstract: str
    tag: str
    note: str
    topic: str
    question: str
    section: str
    journal: str
    run_name: str
    param: str
    metric: str
    notebook_markdown: str
    notebook_output: str
    artifact_name: str
    # Written inside math delimiters ($…$, \(…\), $$…$$) in the abstract, journal, sections and notebook.
    math: str = "\\href{javascript:alert(20)}{x} <script>alert(21)</script> \\unicode{x3C}"
    # Cited by a finding as it is, never checked: a pile item id, a run id and a figure name.
    cite: str = "https://e.example/[c](javascript:alert(22))"
    figure: str = "![f](x/onerror=alert(23)//).png"

    @classmethod
    def every_field(cls, value: str) -> Hostile:
        return cls(**{name: value for name in cls.__dataclass_fields__})


# MathML Core's presentation elements and the attributes latex2mathml writes that a page may keep (written out
# here, not imported, so the check does not just repeat the code's own list).
MATH_ELEMENTS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt",
    "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "merror", "mmultiscripts", "mprescripts", "none",
}  # fmt: skip
MATH_ATTRIBUTES_ALLOWED = {
    "display", "displaystyle", "scriptlevel", "mathvariant", "stretchy", "fence", "form", "separator", "lspace",
    "rspace", "accent", "accentunder", "movablelimits", "largeop", "symmetric", "minsize", "maxsize",
    "linethickness", "columnalign", "rowalign", "columnlines", "rowlines", "columnspacing", "rowspacing", "width",
    "height", "depth", "notation",
}  # fmt: skip


def metric_name(text: str) -> str:
    """MLflow accepts only letters, digits, `_ - . / :` and spaces in a metric name; keep what it accepts."""
    kept = "".join(char for char in text if char.isascii() and (char.isalnum() or char in "_-. "))
    return (kept.strip(" ./") or "m")[:60] + "_loss"


def file_name(text: str) -> str:
    """A file name a filesystem accepts (no slash, no NUL, not hidden, not too long)."""
    cleaned = text.replace("/", "-").replace("\x00", "").replace("\n", " ").strip().lstrip(".")
    return (cleaned[:80] or "file") + ".txt"


def _in_math(text: str) -> str:
    """`text` inside each kind of math delimiter, so the converter and its allowlist meet it."""
    return f"${text}$ \\({text}\\) $${text}$$ \\[{text}\\]"


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "x"


def hostile_feed(values: list[Hostile]) -> str:
    items = []
    for number, value in enumerate(values):
        field = lambda text: xml_escape(_XML_INVALID.sub("", text), quote=False)  # noqa: E731
        items.append(f"""<item><title>Item {number} {field(_one_line(value.title))}</title>
<link>{field("https://e.example/" + _one_line(value.url).replace(" ", ""))}</link>
<guid isPermaLink="false">hostile-{number}</guid><dc:creator>{field(_one_line(value.authors))}</dc:creator>
<description>{field(value.abstract)} Plain words about learning rates and warm-up in small models.
{field(_in_math(value.math))}</description></item>""")
    items.append("""<item><title>Beacon link item</title><link>https://e.example/[x](x/autofocus/onfocus=alert(1)//)</link>
<guid isPermaLink="false">hostile-url</guid><description>The URL of this item is the attack.</description></item>""")
    return (
        '<?xml version="1.0"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>Hostile feed</title><link>https://e.example/</link><description>attacks</description>"
        + "\n".join(items)
        + "</channel></rss>\n"
    )


def hostile_workspace(root: Path, values: list[Hostile]) -> Any:
    """A workspace holding `values` in every published field; the pile read, summarised and organised."""
    from sabbatical.workspace import init_workspace

    workspace, _ = init_workspace(root, title="Hostile sabbatical")
    toml = (
        workspace.config_path.read_text()
        .replace("reading_items = 10", "reading_items = 200")
        .replace('reading = "kept"', 'reading = "all"')
    )  # every hostile item is published
    workspace.config_path.write_text(toml)
    workspace = type(workspace)(workspace.root)
    _read_pile(workspace, values, root.parent / f"{root.name}-feed.rss")
    for number, value in enumerate(values):
        _add_hostile_sprint(workspace, number, value)
    return workspace


def _read_pile(workspace: Any, values: list[Hostile], feed: Path) -> None:
    from sabbatical import db
    from sabbatical.reading import summarise, topics, triage
    from sabbatical.reading.ingest import Ingester, read_feeds
    from sabbatical.reading.pile import Pile

    feed.write_text(hostile_feed(values), encoding="utf-8")
    with Pile.open(workspace) as pile:
        report = read_feeds(Ingester(pile, workspace.config.reading), [str(feed)])
    assert report.new >= 1, report
    summarise.summarise_workspace(workspace, environ={})  # the offline summariser: no endpoint configured
    conn = db.connect(workspace.pile_path)
    try:
        topics.organise(conn, workspace.config)
        ids = [row[0] for row in conn.execute("SELECT id FROM items ORDER BY id")]
        for item_id, value in zip(ids, values):
            triage.tag(conn, item_id, [_one_line(value.tag)])
            triage.add_note(conn, item_id, value.note.strip() or "x")
        for info, value in zip(topics.list_topics(conn), values):
            if info.id:
                topics.rename_topic(conn, str(info.id), _one_line(value.topic))
        # One summary claims quotes its item does not contain: the site must say so next to it.
        conn.execute("UPDATE summaries SET quotes_total = 3, quotes_verified = 1 WHERE item_id = ?", (ids[0],))
        conn.commit()
    finally:
        conn.close()


def _add_hostile_sprint(workspace: Any, number: int, value: Hostile) -> None:
    from sabbatical.sprints.lifecycle import close_sprint

    sprint = add_sprint(
        workspace,
        f"Q{number} {_one_line(value.question)}?",
        hypothesis=_one_line(value.question),
        start=date.today() - timedelta(days=20 + number),
        slug=f"hostile-{number}",
    )
    document = sprint.document()
    for heading in ("Plan", "Notes"):
        document.replace_section(
            heading,
            value.section
            + '\n\n[p](//evil.example/z) <img src="https://tracker.example/beacon.png" alt="beacon">\n\n'
            + _in_math(value.math)
            + "\n",
        )
    sprint.save(document)
    for kind in ("failure", "finding", "feedback", "note"):
        sprint.log(
            kind,
            value.journal.strip() or "x",
            source=_one_line(value.journal),
            why=value.journal,
            evidence=value.journal,
            run_name=value.run_name,
        )
    metric = metric_name(value.metric)
    run_id = add_run(
        workspace,
        sprint,
        _one_line(value.run_name),
        params={"p": value.param[:400] or "x"},
        metrics={metric: [3.0, 2.0, 1.0]},
    )
    add_run(workspace, sprint, "$\\foo$ " + _one_line(value.run_name), status="FAILED", metrics={metric: [3.0, 9.0]})
    add_artifact(sprint, file_name(value.artifact_name), b"data\n", caption=value.artifact_name)
    add_artifact(sprint, file_name(value.artifact_name)[:-4] + ".png", png_bytes(), caption=value.artifact_name)
    sprint.log(
        "finding",
        _in_math(value.math) + " " + (value.journal.strip() or "x"),
        cites=[value.cite or "x", "arxiv:" + value.cite, "doi:" + value.cite],
        evidence_runs=[run_id, value.cite or "x"],
        evidence_figures=[file_name(value.artifact_name)[:-4] + ".png", value.figure or "x"],
        why=_in_math(value.math),
    )
    _hostile_notebook(sprint.notebooks_dir / "hostile.ipynb", value)
    close_sprint(sprint, "partly", value.section if value.section.strip() else "x")  # a blank summary is refused


def _hostile_notebook(path: Path, value: Hostile) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    beacons = (
        '<img src="https://tracker.example/nb.png" alt="nb beacon"> <img src="//tracker.example/nb2.png"> '
        '<a href="//evil.example/nb">protocol-relative</a>'
    )
    outputs = [
        new_output("stream", name="stdout", text=value.notebook_output + "\n"),
        new_output(
            "execute_result",
            execution_count=1,
            data={
                "text/html": value.notebook_output + beacons,
                "text/markdown": value.notebook_output,
                "text/plain": value.notebook_output,
            },
        ),
    ]
    notebook = new_notebook(
        cells=[
            new_markdown_cell(
                f"# Notebook {_one_line(value.notebook_markdown)}\n\n{value.notebook_markdown}\n\n{beacons}\n\n"
                + _in_math(value.math)
            ),
            new_code_cell("print('x')", outputs=outputs, execution_count=1),
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


# -- what a built page may never hold ------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.depth_in_article = 0
        self.in_theme_feedback = False  # the theme's own "Was this page helpful?" form closes the article

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)
        self._check_raw_tag()
        if tag == "article":
            self.depth_in_article += 1
        if tag == "form" and "md-feedback" in (dict(attrs).get("class") or ""):
            self.in_theme_feedback = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)
        self._check_raw_tag()

    def _check_raw_tag(self) -> None:
        match = _RAW_MARKUP_IN_ATTRIBUTE.search(self.get_starttag_text() or "")
        if match:
            self.problems.append(f"raw markup inside an attribute: {match.group(0)[:80]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "article" and self.depth_in_article:
            self.depth_in_article -= 1
        if tag == "form":
            self.in_theme_feedback = False

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if (
                name in ("href", "src", "action", "formaction", "data", "srcset", "poster", "xlink:href")
                and value
                and _BAD_SCHEME.match(_URL_JUNK.sub("", value))
            ):
                self.problems.append(f"<{tag} {name}={value[:60]!r}> dangerous URL")
        if tag in ("iframe", "object", "embed", "frame", "frameset", "base", "meta") and self.depth_in_article:
            self.problems.append(f"<{tag}> inside the content")
        if tag == "iframe":
            self.problems.append("<iframe>")
        if tag == "script":
            self._check_script(values)
        if (
            self.depth_in_article
            and not self.in_theme_feedback
            and not (tag == "form" and "md-feedback" in (values.get("class") or ""))
        ):
            self._check_content(tag, attrs, values)

    def _check_script(self, values: dict[str, str | None]) -> None:
        src = values.get("src")
        if self.depth_in_article:
            self.problems.append("<script> inside the content")
        elif src is not None and not re.fullmatch(r"/?(\.\./)*assets/(javascripts/[\w./-]+|tablesort)\.js", src):
            self.problems.append(f"<script src={src!r}> is not the theme's own asset nor the site's table sorter")

    def _check_content(self, tag: str, attrs: list[tuple[str, str | None]], values: dict[str, str | None]) -> None:
        for name, _ in attrs:
            math = tag in MATH_ELEMENTS and name in MATH_ATTRIBUTES_ALLOWED
            if name not in SITE_ATTRIBUTES_ALLOWED and not name.startswith("data-md-") and not math:
                self.problems.append(f"<{tag} {name}> attribute outside the allowlist")
        if tag in MATH_ELEMENTS and any(name in ("href", "src", "style", "xlink:href") for name, _ in attrs):
            self.problems.append(f"<{tag}> math that links, loads or styles")
        if tag in ("annotation-xml", "annotation", "maction", "semantics", "mglyph"):
            self.problems.append(f"<{tag}> inside the content")
        src = values.get("src") or ""
        if tag == "img" and (src.startswith("//") or re.match(r"^[a-z][a-z0-9+.-]*:", src, re.IGNORECASE)):
            self.problems.append(f"<img src={src[:60]!r}> loads from another host")
        if tag in ("form", "button", "style", "svg", "textarea", "select") or (
            tag == "input" and values.get("type") not in ("checkbox", "radio")
        ):
            self.problems.append(f"<{tag}> inside the content")


def page_problems(page: str) -> list[str]:
    """Everything on a built page that could run, load from elsewhere, or shows markup was reinterpreted."""
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser.problems


def site_problems(site_dir: Path) -> dict[str, list[str]]:
    """page → its problems, for every built HTML page that has any."""
    found = {}
    for path in sorted(site_dir.rglob("*.html")):
        problems = page_problems(path.read_text(encoding="utf-8", errors="replace"))
        if problems:
            found[path.relative_to(site_dir).as_posix()] = problems
    return found
