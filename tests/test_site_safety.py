"""Untrusted text is inert on a page, and secrets are recognised without being repeated."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import markdown
import pytest

from sabbatical.site import sanitise, secrets

HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "[click me](javascript:window.__pwned=1)",
    "<a href='javascript:alert(1)'>x</a>",
    "**bold** and `code` and :smile: and {: onclick=x}",
]


def _render(markdown_text: str) -> str:
    """What a page would become: the Markdown engine with the extensions the site turns on."""
    return markdown.markdown(markdown_text, extensions=["admonition", "attr_list", "tables", "toc", "extra"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _tags(rendered: str) -> list[tuple[str, list]]:
    parser = _Tags()
    parser.feed(rendered)
    return parser.tags


@pytest.mark.parametrize("payload", HOSTILE)
def test_text_as_data_is_shown_literally_and_never_becomes_markup(payload):
    rendered = _render(f"Title: {sanitise.text(payload)}")
    assert _tags(rendered) == [("p", [])]  # one paragraph, no element or attribute from the payload
    visible = html.unescape(rendered.removeprefix("<p>").removesuffix("</p>"))
    assert visible == f"Title: {' '.join(payload.split())}"


def test_block_keeps_paragraphs_and_line_breaks_as_text():
    rendered = _render(sanitise.block("first line\nsecond *line*\n\n1. not a list\n# not a heading"))
    assert rendered.count("<p>") == 2 and "<br" in rendered
    assert "<ol>" not in rendered and "<h1" not in rendered and "<em>" not in rendered


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ("mailto:me@example.org", "mailto:me@example.org"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("java\tscript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("&#106;avascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:x", None),
        ("//evil.example/x", None),
        ("relative/page.html", None),
        (None, None),
    ],
)
def test_safe_url_allows_only_http_https_mailto(url, expected):
    assert sanitise.safe_url(url) == expected


def test_link_with_an_unsafe_target_is_plain_text():
    assert "<a" not in sanitise.link("x", "javascript:alert(1)")
    safe = sanitise.link("<b>t</b>", 'https://example.org/?q="a"')
    assert safe.startswith('<a href="https://example.org/?q=&quot;a&quot;"') and "<b>" not in safe


def test_markdown_html_keeps_formatting_but_drops_scripts_handlers_and_bad_links():
    source = (
        "Some **bold** text, [a paper](https://arxiv.org/abs/1) and [bad](javascript:alert(1)).\n\n"
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        '<a href="javascript:alert(2)" onclick="x()">click</a> <iframe src="https://x"></iframe>'
    )
    cleaned = sanitise.markdown_html(source)
    assert "<strong>bold</strong>" in cleaned and 'href="https://arxiv.org/abs/1"' in cleaned
    for bad in ("<script", "onerror", "onclick", "javascript:", "<iframe", "alert(1)</script>"):
        assert bad not in cleaned, bad


def test_clean_html_drops_style_and_form_elements():
    cleaned = sanitise.clean_html(
        '<div style="x"><form><input value=1></form><style>p{}</style><p class="a">ok</p></div>'
    )
    assert cleaned == '<div><p class="a">ok</p></div>'


# -- secrets --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, kind",
    [
        ("key sk-proj-" + "A1b2" * 10, "sk-proj"),
        ("sk-" + "abcDEF123" * 4, "sk-"),
        ("AKIA" + "ABCDEFGHIJ123456", "AKIA"),
        ("ghp_" + "a1B2" * 9, "ghp_"),
        ("xoxb-1234567890-abcdef", "xox"),
        ("hf_" + "aB3d" * 9, "hf_"),
        ('api_key = "q8w7e6r5t4y3u2i1o0"', "api_key"),
    ],
)
def test_key_patterns_are_found(text, kind):
    found = secrets.scan_bytes(f"<p>{text}</p>".encode(), {})
    assert found and any(kind in label for label in found)


@pytest.mark.parametrize(
    "text",
    [
        "task-runner",
        "sk-short",
        "risk-averse-learning-rate-schedules",
        'api_key = "YOUR_API_KEY_HERE_PLEASE"',
        "AKIAlower",
    ],
)
def test_ordinary_text_is_not_a_secret(text):
    assert secrets.scan_bytes(text.encode(), {}) == []


def test_values_of_secret_environment_variables_are_found_and_never_repeated(tmp_path):
    env = {
        "OPENAI_API_KEY": "not-shaped-like-a-key-1234",
        "MY_SERVICE_TOKEN": "tok-98765432",
        "SHORT_KEY": "abc",
        "HOME": "/home/someone",
        "PATH": "/usr/bin",
    }
    assert set(secrets.secret_env_values(env)) == {"OPENAI_API_KEY", "MY_SERVICE_TOKEN"}
    page = tmp_path / "page.html"
    page.write_text("<p>output: not-shaped-like-a-key-1234 and /usr/bin</p>")
    hits = secrets.scan_tree(tmp_path, env)
    lines = secrets.describe(hits, tmp_path)
    assert lines == ["page.html: the value of $OPENAI_API_KEY (line 1)"]
    assert "not-shaped-like-a-key-1234" not in " ".join(lines)
