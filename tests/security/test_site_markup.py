"""Hostile text in every field that reaches a page, asserted on the real built site.

Each break found in the site is a test here (a feed URL that Markdown turned into a nested link with a live
`onfocus`, its image and code-span variants, a run name that matplotlib read as mathtext, unverified quotes
published unmarked, protocol-relative links and third-party images in sections and notebooks), and a
Hypothesis property puts generated hostile strings into every field of one build per example and checks
every built page: no `on*` attribute, no javascript:/data:/vbscript: URL, no script or iframe but the
theme's own assets, no raw markup inside an attribute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sabbatical.site import sanitise

from .hostile_site import FRAGMENTS, Hostile, hostile_workspace, page_problems, site_problems

pytestmark = pytest.mark.slow

FEED_URL_ATTACK = "https://e.example/[x](x/autofocus/onfocus=alert(1)//)"
EXAMPLES = [
    Hostile(
        title="[x](x/autofocus/onfocus=alert(1)//) <script>alert(1)</script>",
        url="[x](x/autofocus/onfocus=alert(1)//)",
        authors="![i](z/onerror=alert(2)//)",
        abstract='`x`y" onmouseover=alert(3) ` <img src=x onerror=alert(5)>',
        tag="<svg onload=alert(6)>",
        note="[n](javascript:alert(7))",
        topic="<img src=x onerror=alert(8)> $x$",
        question="<b>bold</b> [q](javascript:alert(9))",
        section="[a](javascript:alert(10)) <iframe src=//evil.example/f></iframe> <img src=x onerror=alert(11)>",
        journal="{: onclick=alert(12) } ![i](z/onerror=alert(13)//)",
        run_name="$\\foo$ <i>run</i>",
        param="[p](javascript:alert(14))",
        metric="loss.$x$",
        notebook_markdown="<script>alert(15)</script> [m](data:text/html,x)",
        notebook_output="<img src=x onerror=alert(16)><script>alert(17)</script>",
        artifact_name="![i](z onerror=alert(18)) `a`",
    ),
    Hostile.every_field("`[x](y onfocus=alert(19))` ![i](https://tracker.example/t.png) [p](//evil.example/p)"),
]


def _build(root: Path, values: list[Hostile]):
    from sabbatical.errors import PartialFailure
    from sabbatical.site.build import build_site

    workspace = hostile_workspace(root, values)
    try:
        report = build_site(workspace)
        problems: list[str] = []
    except PartialFailure as exc:
        report, problems = None, list(exc.failures)
    return workspace, report, problems


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(base / "home"))
        patch.setenv("MPLBACKEND", "Agg")
        patch.delenv("OPENAI_API_KEY", raising=False)
        workspace, _, problems = _build(base / "ws", EXAMPLES)
    return workspace, problems


def _page(workspace, path: str) -> str:
    return (workspace.site_dir / path).read_text(encoding="utf-8")


def _sprint_pages(workspace) -> list[Path]:
    return sorted((workspace.site_dir / "sprints").glob("*/index.html"))


def test_no_built_page_holds_anything_that_runs_or_loads_from_elsewhere(hostile_site):
    workspace, _ = hostile_site
    assert (workspace.site_dir / "index.html").is_file()
    assert site_problems(workspace.site_dir) == {}


@pytest.mark.parametrize("page", ["index.html", "reading/index.html"])
def test_a_feed_url_holding_a_markdown_link_stays_one_link_with_no_handler(hostile_site, page):
    workspace, _ = hostile_site
    text = _page(workspace, page)
    assert page_problems(text) == []
    hrefs = re.findall(r'<a href="([^"]*)"', text)
    assert FEED_URL_ATTACK in hrefs  # the same URL, one anchor: the browser goes where the feed said


def test_an_image_or_code_span_inside_a_url_makes_no_element(hostile_site):
    workspace, _ = hostile_site
    for page in ("index.html", "reading/index.html", "reading/digest/index.html"):
        text = _page(workspace, page)
        assert not re.search(r'<img[^>]*src="z', text), page
        assert not re.search(r'href="[^"]*<code', text), page


def test_hostile_text_is_shown_as_written(hostile_site):
    workspace, _ = hostile_site
    reading = _page(workspace, "reading/index.html")
    # (the feed reader already strips tags from titles; what is left is shown as written, not as a link)
    assert "Item 0 [x](x/autofocus/onfocus=alert(1)//) alert(1)</a>" in reading
    sprint = _sprint_pages(workspace)[0].read_text()
    assert "{: onclick=alert(12) } ![i](z/onerror=alert(13)//)" in sprint


def test_a_run_named_like_mathtext_is_charted_and_the_page_builds(hostile_site):
    workspace, problems = hostile_site
    assert not [line for line in problems if "chart" in line], problems
    for page in _sprint_pages(workspace):
        charts = list((page.parent / "charts").glob("*.png"))
        assert charts, f"{page} has no chart"
        assert "$\\foo$ " in page.read_text()  # the run name, in the runs table, as written


def test_hostile_math_and_citations_reach_the_page_as_inert_math_and_text(hostile_site):
    workspace, _ = hostile_site
    sprint = _sprint_pages(workspace)[0].read_text()
    findings = sprint.split('id="findings"', 1)[1].split("<h2", 1)[0]
    assert "<math" in findings  # \\href{javascript:…}{x} is drawn as its x, the link dropped
    assert "alert(20)" not in findings.split("<math", 1)[1].split("</math>", 1)[0]
    # Ids that name nothing published are text: no link to a javascript: URL, no image from a figure name.
    assert "[c](javascript:alert(22))" in sprint and "![f](x/onerror=alert(23)//).png" in sprint
    assert page_problems(sprint) == []


def test_a_chart_that_cannot_be_drawn_is_a_problem_and_the_page_still_builds(tmp_path, monkeypatch):
    from sabbatical.errors import PartialFailure
    from sabbatical.site import charts
    from sabbatical.site.build import build_site

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # A label matplotlib cannot lay out, whatever the escaping: the chart fails, the page does not.
    monkeypatch.setattr(charts, "plain", lambda label: "$\\frac{$")
    workspace = hostile_workspace(tmp_path / "ws", EXAMPLES[:1])
    with pytest.raises(PartialFailure) as caught:
        build_site(workspace)
    assert any("could not be drawn" in line for line in caught.value.failures)
    assert "Runs" in _sprint_pages(workspace)[0].read_text()


def test_claims_whose_quotes_did_not_verify_are_marked_on_the_page(hostile_site):
    workspace, _ = hostile_site
    reading = _page(workspace, "reading/index.html")
    assert reading.count("2 of 3 quoted claims were not found in the item") == 1


def test_third_party_images_are_dropped_and_protocol_relative_links_go_to_https(hostile_site):
    workspace, _ = hostile_site
    pages = [path.read_text() for path in _sprint_pages(workspace)]
    pages += [path.read_text() for path in (workspace.site_dir / "sprints").glob("*/notebooks/*/index.html")]
    assert len(pages) >= 4
    for text in pages:
        assert not re.search(r'<img[^>]*src="(https?:)?//', text)
        assert not re.search(r'href="//', text)
    sections = "".join(pages)
    assert 'href="https://evil.example/z"' in sections  # a sprint section's //evil.example/z
    assert 'href="https://evil.example/nb"' in sections  # a notebook's //evil.example/nb


def test_the_final_pass_keeps_the_theme_and_cleans_the_content():
    page = (
        '<html><head><script src="assets/javascripts/bundle.js"></script></head><body>'
        '<article class="md-content__inner md-typeset"><h1 id="t">T</h1><p onclick="x()">a</p>'
        '<script>alert(1)</script><img src="https://tracker.example/p.png" alt="p">'
        '<a href="//evil.example/x">e</a><form class="md-feedback"><button>ok</button></form>'
        "</article><script>var theme=1</script></body></html>"
    )
    cleaned = sanitise.clean_page(page)
    assert '<script src="assets/javascripts/bundle.js"></script>' in cleaned
    assert "<script>var theme=1</script>" in cleaned and '<form class="md-feedback"><button>ok</button>' in cleaned
    content = cleaned.split('md-typeset">', 1)[1].split("<form", 1)[0]
    assert content == '<h1 id="t">T</h1><p>a</p><img alt="p"><a href="https://evil.example/x">e</a>'


def test_markdown_cannot_reinterpret_a_link_we_write():
    import markdown

    for url in (FEED_URL_ATTACK, "https://e.example/![i](z/onerror=alert(2)//)", 'https://e.example/`a`b"c`'):
        rendered = markdown.markdown("- **" + sanitise.link("T", url) + "**", extensions=["extra", "attr_list"])
        assert rendered.count("<a ") == 1 and "<img" not in rendered and "<code" not in rendered, rendered


def test_the_page_check_finds_markup_in_attributes_and_not_in_text():
    nested = '<p><a href="https://e.example/<a href="x">x</a>">t</a></p>'
    assert any("raw markup inside an attribute" in line for line in page_problems(nested))
    # A parameter `"…` shown in a table cell is text; the next real tag must not be read as inside it.
    assert page_problems('<td>p=" {: onclick=alert(11) } \'</td><td><img alt="chart"></td>') == []


hostile_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), min_size=1, max_size=5).map(
    " ".join
)
hostile_values = st.builds(Hostile, **{name: hostile_text for name in Hostile.__dataclass_fields__})


# No shrinking: one build per example is seconds, and a failure's example is printed as found (shrinking it took
# minutes of CI for a page with an obvious cause).
@settings(
    max_examples=5,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(values=st.lists(hostile_values, min_size=2, max_size=3))
def test_generated_hostile_text_in_every_field_never_reaches_a_page_as_markup(values, tmp_path_factory):
    base = tmp_path_factory.mktemp("generated")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(base / "home"))
        patch.setenv("MPLBACKEND", "Agg")
        patch.delenv("OPENAI_API_KEY", raising=False)
        workspace, _, _ = _build(base / "ws", values)
    assert (workspace.site_dir / "index.html").is_file()
    assert site_problems(workspace.site_dir) == {}
