"""What the site's pages say: math drawn as MathML, each failure told once in full, findings linked to their evidence.

The math rules are checked on `sabbatical.site.math` directly (hostile LaTeX, prose dollars, bounds) and on one
real built site (mkdocs engine, final sanitising pass): a starred item whose abstract holds LaTeX, a finding, a
sprint section and a notebook markdown cell, each with math, plus failures and a finding citing a run, a figure
and a pile item.
"""

from __future__ import annotations

import re
import time

import pytest

from sabbatical.site import math as latex
from tests.helpers.site_workspace import add_artifact, add_run, add_sprint, png_bytes, write_notebook

LONG_FAILURE = "The probe never beat the baseline " + "because the activations were sampled too sparsely " * 6
FAILURE_WHY = "WHY-MARKER the seed changed the features"


# -- the rules, on the converter ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prose",
    ["It costs $5 per month.", "Plans cost $3 and $4 a month.", "Between $3, or $40 at most.", "A lone $ sign"],
)
def test_dollar_signs_in_prose_stay_prose(prose):
    assert "<math" not in latex.text(prose)
    assert latex.find_spans(prose) == []


@pytest.mark.parametrize(
    "source, display",
    [("the rate $\\alpha$ here", False), ("$$x^2$$", True), ("\\(a_1 * b_2\\)", False), ("\\[\\sum_i x_i\\]", True)],
)
def test_each_delimiter_becomes_one_math_element(source, display):
    rendered = latex.text(source)
    assert rendered.count("<math") == 1 and f'display="{"block" if display else "inline"}"' in rendered
    assert "$" not in rendered and "\\(" not in rendered


@pytest.mark.parametrize(
    "hostile",
    [
        "$\\href{javascript:alert(1)}{x}$",
        "$<script>alert(1)</script>$",
        "$\\unicode{x3C}script\\unicode{x3E}$",
        "$\\style{background:url(javascript:alert(1))}{x}$",
        "$\\text{<img src=x onerror=alert(1)>}$",
        "$\\color{red}{x}$",
        "$\\class{md-button}{x}$",
        "$\\mathrm{a*b*c} [x](javascript:alert(2))$",
    ],
)
def test_hostile_latex_draws_at_most_inert_math(hostile):
    rendered = latex.text(hostile)
    lowered = rendered.lower()
    for bad in ("href", "javascript:", "style=", "<script", "<img", "onerror", "mathcolor", "annotation", "class="):
        assert bad not in lowered, (hostile, rendered)
    tags = set(re.findall(r"</?([a-z-]+)", rendered))
    assert tags <= set(latex.sanitise.MATH_TAGS), tags
    # Markdown can act on nothing inside: every character of the math's text is a word character or a reference.
    for inner in re.findall(r">([^<]+)<", rendered):
        assert re.fullmatch(r"(\w|&#\d+;)+", inner), inner


def test_latex_that_does_not_convert_stays_text_with_its_delimiters():
    rendered = latex.text("before $\\frac{$ after")
    assert "<math" not in rendered and "&#36;\\\\frac\\{&#36;" in rendered


def test_huge_input_is_bounded():
    started = time.perf_counter()
    huge = "$" + "x^" * 20_000 + "x$"
    assert "<math" not in latex.text(huge)  # longer than one span may be: shown as text
    many = " ".join(f"$x_{{{n}}}$" for n in range(latex.MAX_SPANS + 50))
    assert latex.text(many).count("<math") == latex.MAX_SPANS
    nested = "$" + "{" * 900 + "x" + "}" * 900 + "$"
    latex.text(nested)  # deep nesting fails or converts, never raises
    assert time.perf_counter() - started < 20


def test_markdown_never_sees_the_latex_and_code_keeps_its_dollars():
    rendered = latex.markdown_html("Loss $a_1 * b_2 * c$ and *bold*; `$kept$`; [l](https://e.example/$y$)")
    assert rendered.count("<math") == 1 and "<em>bold</em>" in rendered
    assert "<code>$kept$</code>" in rendered and 'href="https://e.example/$y$"' in rendered
    assert "<em>" not in rendered.split("<math", 1)[1].split("</math>", 1)[0]


def test_notebook_html_math_outside_code_is_drawn():
    rendered = latex.html_with_math("<p>see $x &lt; y$</p><pre>$z$</pre><code>\\(w\\)</code>")
    assert rendered.count("<math") == 1 and "<pre>$z$</pre>" in rendered and "<code>\\(w\\)</code>" in rendered


# -- the built site ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from sabbatical.site.build import build_site

    root = tmp_path_factory.mktemp("content") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "Agg")
        patch.setenv("HOME", str(root.parent / "home"))
        patch.delenv("OPENAI_API_KEY", raising=False)
        ws = _workspace(root)
        build_site(ws)
    return ws


def _workspace(root):
    from sabbatical import db
    from sabbatical.reading import summarise, topics, triage
    from sabbatical.workspace import Workspace, init_workspace
    from tests.helpers.fake_openai import insert_items, sample_documents

    ws, _ = init_workspace(root, title="Math and failures")
    ws = Workspace(ws.root)
    documents = sample_documents(4)
    documents[0]["abstract"] = (
        "We show that the learning rate $\\eta$ scales as $\\eta \\propto 1/\\sqrt{d}$ in wide attention heads. "
        + documents[0]["abstract"]
    )
    conn = db.connect(ws.pile_path)
    try:
        insert_items(conn, documents)
        triage.triage(conn, ["test:00000"], "star")
    finally:
        conn.close()
    summarise.summarise_workspace(ws, environ={})
    conn = db.connect(ws.pile_path)
    try:
        topics.organise(conn, ws.config)
    finally:
        conn.close()
    sprint = add_sprint(ws, "Does the learning rate scale as $\\eta \\propto d^{-1/2}$?", slug="rates")
    text = sprint.sprint_md.read_text().replace(
        "## Notes\n",
        "## Notes\n\nThe loss fell as $\\mathcal{L} \\approx e^{-t}$; a GPU hour costs $3 and $4 at peak.\n",
    )
    sprint.sprint_md.write_text(text)
    run_id = add_run(ws, sprint, "wide-heads", metrics={"loss": [2.0, 1.0, 0.5]})
    add_artifact(sprint, "loss-curve.png", png_bytes(), caption="The loss curve")
    notebook = write_notebook(sprint.notebooks_dir / "02-math.ipynb", title="Math notes")
    _add_markdown_cell(notebook, "The optimiser uses $\\beta_2 = 0.999$ and code `$kept$` as written.")
    sprint.log("failure", LONG_FAILURE, why=FAILURE_WHY)
    sprint.log("failure", "FAILURE-TWO the second seed diverged")
    sprint.log(
        "finding",
        "The rate $\\eta$ halves when width quadruples",
        evidence_runs=[run_id],
        evidence_figures=["loss-curve.png"],
        cites=["test:00000"],
    )
    return ws


def _add_markdown_cell(path, text: str) -> None:
    import nbformat
    from nbformat.v4 import new_markdown_cell

    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells.insert(1, new_markdown_cell(text))
    nbformat.write(notebook, str(path))


def _page(ws, path: str) -> str:
    return (ws.site_dir / path).read_text(encoding="utf-8")


def _sprint_page(ws) -> str:
    return _page(ws, "sprints/01-rates/index.html")


def _article(page: str) -> str:
    return page.split('<article class="md-content__inner md-typeset">', 1)[1].split("</article>", 1)[0]


def test_math_in_a_tldr_a_finding_a_section_and_a_notebook_is_mathml_on_the_page(site):
    reading = _article(_page(site, "reading/index.html"))
    assert "<math" in reading and "$\\eta" not in reading and "&#36;\\eta" not in reading
    sprint = _article(_sprint_page(site))
    findings = sprint.split('id="findings"', 1)[1].split("<h2", 1)[0]
    assert "<math" in findings and "halves when width quadruples" in findings
    notes = sprint.split('id="notes"', 1)[1].split("<h2", 1)[0]
    assert "<math" in notes and "costs $3 and $4 at peak" in notes  # the prose dollars stayed prose
    notebook = _article(_page(site, "sprints/01-rates/notebooks/02-math/index.html"))
    assert "<math" in notebook and "$\\beta_2" not in notebook and "<code>$kept$</code>" in notebook


def test_the_final_pass_keeps_only_allowed_math(site):
    for path in ("reading/index.html", "sprints/01-rates/index.html"):
        for element in re.findall(r"<math\b.*?</math>", _page(site, path), re.S):
            assert "href" not in element and "style=" not in element and "<annotation" not in element


def test_each_failure_is_told_in_full_once_on_its_sprint_page_and_linked_from_elsewhere(site):
    sprint = _article(_sprint_page(site))
    failures = _article(_page(site, "failures/index.html"))
    everything = "".join(p.read_text() for p in site.site_dir.rglob("*.html") if "search" not in p.parts)
    assert everything.count(FAILURE_WHY) == 1 and FAILURE_WHY in sprint
    assert 'id="sabbatical-failure-1"' in sprint and 'id="sabbatical-failure-2"' in sprint
    links = re.findall(r'<a href="([^"]+)">([^<]*)</a>', failures)
    targets = {href: label for href, label in links if "#sabbatical-failure-" in href}
    assert set(targets) == {"../sprints/01-rates/#sabbatical-failure-1", "../sprints/01-rates/#sabbatical-failure-2"}
    first = targets["../sprints/01-rates/#sabbatical-failure-1"]
    assert first.startswith("The probe never beat the baseline") and first.endswith("…") and len(first) <= 145
    assert "FAILURE-TWO" in targets["../sprints/01-rates/#sabbatical-failure-2"]
    home = _article(_page(site, "index.html"))
    assert LONG_FAILURE.split()[3] not in home and 'href="failures/"' in home


def test_a_finding_links_to_the_run_figure_and_item_it_cites_from_every_page_that_shows_it(site):
    sprint = _sprint_page(site)
    row = re.search(r'<span id="(run-[0-9a-f]+)"></span>wide-heads', sprint)
    assert row, "the run's row carries its anchor"
    for path, prefix in (("sprints/01-rates/index.html", ""), ("findings/index.html", "../sprints/01-rates/")):
        page = _article(_page(site, path))
        entry = page.split("halves when width quadruples", 1)[1].split("</li>", 1)[0]
        assert f'<a href="{prefix}#{row.group(1)}">wide-heads</a>' in entry, (path, entry)
        figure = re.search(r'<a href="([^"]+)">loss-curve.png</a>', entry)
        assert figure, (path, entry)
        target = (site.site_dir / path).parent / figure.group(1)
        assert target.resolve().is_file(), target
        assert "test:00000" in entry  # a pile id with no web address is named as text
