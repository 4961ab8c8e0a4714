"""Publish what the researcher chose: identity, reading choices, their notes, sections without template text,
task lists and a feedback action that arrives.

One workspace (two sprints, a pile with kept, starred, inbox and dropped items) is built once with the
site engine for the rendered-page checks; the `[site] reading` choices are compared on the generated
pages (`generate_site`, no engine run), which is what decides what the engine gets.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.helpers.site_workspace import add_sprint

pytestmark = pytest.mark.slow

TITLE = "Ada's year of sparse models & small data"
FEEDBACK = "mailto:ada@example.org?subject=Feedback on {title}&body=About {url}"
QUESTION = (
    "Can a sparse autoencoder trained on a small model's activations find features that a linear probe "
    "misses, and do they survive a change of random seed?"
)
STATES = {"test:00000": "star", "test:00002": "keep", "test:00004": "keep", "test:00006": None, "test:00001": "drop"}


def _workspace(root: Path, reading: str = "kept", url: str = "https://ada.example.org/year"):
    from sabbatical import db
    from sabbatical.reading import topics, triage
    from sabbatical.workspace import Workspace, init_workspace
    from tests.helpers.fake_openai import insert_items, sample_documents

    ws, _ = init_workspace(root, title="placeholder")
    toml = ws.config_path.read_text()
    toml = toml.replace('title = "placeholder"', f'title = "{TITLE}"').replace('author = ""', 'author = "Ada L."')
    toml = toml.replace('feedback_url = ""', f'feedback_url = "{FEEDBACK}"').replace('url = ""', f'url = "{url}"')
    toml = toml.replace('reading = "kept"', f'reading = "{reading}"')
    ws.config_path.write_text(toml)
    ws.mkdocs_path.write_text("site_name: My sabbatical\n" + ws.mkdocs_path.read_text())  # toml still wins
    ws = Workspace(ws.root)
    conn = db.connect(ws.pile_path)
    try:
        insert_items(conn, sample_documents(8))
        for item_id, action in STATES.items():
            if action:
                triage.triage(conn, [item_id], action)
        triage.add_note(conn, "test:00002", "NOTE-MARKER: the probe baseline here is the one to beat")
        topics.organise(conn, ws.config)
    finally:
        conn.close()
    sprint = add_sprint(ws, QUESTION, start=date.today() - timedelta(days=3), slug="sae")
    text = sprint.sprint_md.read_text()
    text = text.replace(
        "## Notes\n",
        "## Notes\n\n- [x] RESEARCHER-TASK-DONE trained the SAE\n- [ ] RESEARCHER-TASK-OPEN compare seeds\n",
    )
    sprint.sprint_md.write_text(text)
    return ws


def _published(ws) -> str:
    return "\n".join(p.read_text(errors="replace") for p in ws.site_dir.rglob("*.html"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from sabbatical.site.build import build_site

    root = tmp_path_factory.mktemp("publish") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "Agg")
        ws = _workspace(root)
        _add_runs_and_an_early_close(ws)
        build_site(ws)
    return ws


def _add_runs_and_an_early_close(ws) -> None:
    from mlflow import MlflowClient

    from sabbatical.sprints.lifecycle import close_sprint
    from sabbatical.sprints.model import Sprint
    from tests.helpers.site_workspace import add_run

    sprint = Sprint(ws, "01")
    client = MlflowClient(tracking_uri=ws.tracking_uri)
    for name, notebook, loss, accuracy in (
        ("small", "02-experiment.ipynb", [2.0, 1.0, 0.7], [0.5, 0.6, 0.8]),
        ("large", "02-experiment.ipynb", [2.0, 0.9, 0.4], [0.5, 0.7, 0.75]),
        ("probe", "03-probe.ipynb", [5.0, 4.0], [0.1, 0.2]),
    ):
        run_id = add_run(ws, sprint, name, params={"width": len(name)}, metrics={"loss": loss, "accuracy": accuracy})
        client.set_tag(run_id, "mlflow.source.name", f"/work/sprints/{sprint.name}/notebooks/{notebook}")
        client.set_tag(run_id, "sabbatical.goal.loss", "min")
        client.set_tag(run_id, "sabbatical.goal.accuracy", "max")
    early = add_sprint(
        ws, "Does an early close show its real dates?", slug="early", start=date.today() - timedelta(days=30)
    )
    close_sprint(early, "no", "Stopped on day 2: the data was not there.", today=early.meta.start + timedelta(days=1))


def _generated(ws, reading: str) -> dict[str, str]:
    """The generated pages with `[site] reading = reading` (backslash escapes removed, for plain matching)."""
    from sabbatical.site.generate import generate_site
    from sabbatical.workspace import Workspace

    text = re.sub(r'reading = "[a-z]+"', f'reading = "{reading}"', ws.config_path.read_text())
    ws.config_path.write_text(text)
    generated = generate_site(Workspace(ws.root))
    return {page: (generated.docs_dir / page).read_text().replace("\\", "") for page in generated.pages}


@pytest.fixture(scope="module")
def choices(tmp_path_factory):
    """A second copy of the workspace, generated once per `[site] reading` choice."""
    root = tmp_path_factory.mktemp("choices") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "Agg")
        ws = _workspace(root)
        return {reading: _generated(ws, reading) for reading in ("kept", "starred", "all", "off")}


# -- identity -------------------------------------------------------------------------------------------
def test_the_site_is_named_by_sabbatical_toml_not_mkdocs_yml(built):
    home = (built.site_dir / "index.html").read_text()
    assert "Ada&#39;s year of sparse models &amp; small data" in home or "Ada's year of sparse models" in home
    assert "My sabbatical" not in _published(built)
    assert '<meta name="author" content="Ada L.">' in home
    assert '<link rel="canonical" href="https://ada.example.org/year/">' in home


# -- reading --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reading, shown, hidden",
    [
        ("kept", {"study 0", "study 2", "study 4"}, {"study 6", "study 1", "study 3"}),
        ("starred", {"study 0"}, {"study 2", "study 4", "study 6", "study 1"}),
        ("all", {"study 0", "study 2", "study 6", "study 3"}, {"study 1)"}),
    ],
)
def test_reading_publishes_what_was_chosen_and_the_digest_only_that(choices, reading, shown, hidden):
    pages = choices[reading]
    for page in ("reading/index.md", "reading/digest.md", "index.md"):
        text = pages[page]
        for marker in hidden:
            assert f"(study {marker.split()[1].rstrip(')')})" not in text, (reading, page, marker)
    for marker in shown:
        assert f"(study {marker.split()[1]})" in pages["reading/index.md"], (reading, marker)
        assert f"(study {marker.split()[1]})" in pages["reading/digest.md"], (reading, marker)
    word = {"kept": "kept", "starred": "starred", "all": "collected"}[reading]
    assert re.search(rf"\d+ items? {word}, in \d+ topics?", pages["reading/index.md"])
    assert " read," not in pages["reading/index.md"] and "items read" not in pages["reading/digest.md"]


def test_reading_off_publishes_no_reading_pages(choices):
    pages = choices["off"]
    assert "reading/index.md" not in pages and "reading/digest.md" not in pages
    assert "reading highlights" not in pages["index.md"] and "study 0" not in pages["index.md"]


def test_topics_appear_only_with_published_items_and_notes_are_published(built):
    reading = (built.site_dir / "reading" / "index.html").read_text()
    headings = re.findall(r"<h2 id=[^>]*>(.*?)<", reading)
    sections = reading.split("<h2 id=")[1:]
    assert headings and all("(study " in section for section in sections)
    assert "NOTE-MARKER: the probe baseline here is the one to beat" in reading


def test_an_unknown_reading_choice_is_one_clear_error(tmp_path, cli):
    from sabbatical.workspace import init_workspace

    ws, _ = init_workspace(tmp_path / "ws")
    ws.config_path.write_text(ws.config_path.read_text().replace('reading = "kept"', 'reading = "everything"'))
    result = cli("--workspace", ws.root, "site", "build")
    assert result.exit_code == 1 and "site.reading" in result.stderr and "starred, kept, all, off" in result.stderr


# -- sprint sections ------------------------------------------------------------------------------------
def test_template_text_and_cli_hints_never_reach_a_page_and_task_lists_render(built):
    page = next((built.site_dir / "sprints").glob("*sae/index.html")).read_text()
    content = page.split("<article", 1)[1]
    for template in (
        "Skim the reading list below",
        "sabbatical sprint",
        "redoes it",
        "Not closed yet",
        "notebooks/01-explore.ipynb",
        "[ ]",
        "[x]",
    ):
        assert template not in content, template
    done = re.search(
        r'<input type="checkbox" disabled(?:="")? checked(?:="")?>.{0,200}RESEARCHER-TASK-DONE', content, re.S
    )
    open_task = re.search(r'<input type="checkbox" disabled(?:="")?>.{0,200}RESEARCHER-TASK-OPEN', content, re.S)
    assert done and open_task and "task-list-item" in content


def test_the_h1_holds_the_whole_question(built):
    page = next((built.site_dir / "sprints").glob("*sae/index.html")).read_text()
    h1 = re.sub(r"<a [^>]*>.*?</a>", "", re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)).strip()
    assert h1.endswith("survive a change of random seed?") and "…" not in h1


# -- feedback -------------------------------------------------------------------------------------------
def _feedback_hrefs(ws) -> dict[str, str]:
    found = {}
    for page in ws.site_dir.rglob("index.html"):
        link = re.search(r'<a class="md-button sabbatical-feedback" href="([^"]+)"', page.read_text())
        if link and page.parent.name != "search":
            found[page.relative_to(ws.site_dir).as_posix()] = link.group(1).replace("&amp;", "&")
    return found


def test_every_page_type_has_a_feedback_link_with_the_full_question_and_an_absolute_url(built):
    hrefs = _feedback_hrefs(built)
    expected = {
        "index.html",
        "failures/index.html",
        "findings/index.html",
        "reading/index.html",
        "reading/digest/index.html",
    }
    sprint_pages = [p for p in hrefs if p.startswith("sprints/")]
    assert expected <= set(hrefs) and any(p.endswith("notebooks/01-explore/index.html") for p in sprint_pages)
    for page, href in hrefs.items():
        parts = urlsplit(href)
        assert parts.scheme == "mailto" and " " not in href, href
        query = parse_qs(parts.query)
        assert query["subject"][0].startswith("Feedback on "), href
        address = query["body"][0].removeprefix("About ")
        assert address.startswith("https://ada.example.org/year/"), href
        assert address == "https://ada.example.org/year/" + page.removesuffix("index.html"), (page, address)
    sprint = next(href for page, href in hrefs.items() if page.endswith("sae/index.html"))
    assert unquote(parse_qs(urlsplit(sprint).query)["subject"][0]).endswith("survive a change of random seed?")


def test_feedback_link_encodes_the_templates_own_words():
    from sabbatical.site.pages import feedback_link

    href = feedback_link(
        "https://github.com/me/s/issues/new?title=Feedback on {title}&body=Page: {url}&labels=a%20b",
        "Sprint 01 · Is x & y = z?",
        "https://me.example.org/s/sprints/01/",
    )
    assert href == (
        "https://github.com/me/s/issues/new?title=Feedback%20on%20Sprint%2001%20%C2%B7%20Is%20x%20%26%20y"
        "%20%3D%20z%3F&body=Page:%20https%3A%2F%2Fme.example.org%2Fs%2Fsprints%2F01%2F&labels=a%20b"
    )
    assert feedback_link("javascript:alert(1)//{title}", "t", "u") is None


def test_site_check_warns_when_feedback_links_would_be_relative(tmp_path, cli):
    from sabbatical.site.build import build_site
    from sabbatical.workspace import init_workspace

    ws, _ = init_workspace(tmp_path / "ws")
    ws.config_path.write_text(ws.config_path.read_text().replace('feedback_url = ""', f'feedback_url = "{FEEDBACK}"'))
    build_site(type(ws)(ws.root))
    result = cli("--workspace", ws.root, "site", "check")
    assert result.exit_code == 0, result.stderr
    assert "Warning: feedback links carry a relative page address" in result.stderr and "[site] url" in result.stderr
    ws.config_path.write_text(ws.config_path.read_text().replace('url = ""', 'url = "https://me.example.org/"'))
    assert "relative page address" not in cli("--workspace", ws.root, "site", "check").stderr


def test_the_helpful_widget_shows_only_with_a_provider_that_receives_it(built):
    assert 'class="md-feedback"' not in _published(built)


# -- runs and timeline --------------------------------------------------------------------------------------
def _runs_table(ws) -> tuple[list[str], list[list[str]]]:
    page = next((ws.site_dir / "sprints").glob("*sae/index.html")).read_text()
    table = page.split('id="runs"', 1)[1].split("</table>", 1)[0]
    headers = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    rows = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    ]
    return headers, rows


def test_runs_table_has_one_column_per_metric_with_the_best_marked_by_its_goal(built):
    headers, rows = _runs_table(built)
    assert headers == ["Run", "Notebook", "Status", "Started", "Duration", "width", "accuracy ↑", "loss ↓"]
    by_run = {row[0]: row for row in rows}
    assert by_run["small"][1] == "02-experiment.ipynb" and by_run["probe"][1] == "03-probe.ipynb"
    assert by_run["large"][7] == "★ 0.4" and by_run["small"][7] == "0.7"
    assert by_run["small"][6] == "★ 0.8" and by_run["large"][6] == "0.75"


def test_charts_are_drawn_per_notebook_not_every_run_on_one_axis(built):
    page = next((built.site_dir / "sprints").glob("*sae/index.html")).read_text()
    alts = re.findall(r'<img alt="(Line chart of loss[^"]*)"', page)
    assert len(alts) == 2
    assert any("2 runs of 02-experiment.ipynb: small, large" in alt for alt in alts)
    assert any("1 run of 03-probe.ipynb: probe" in alt for alt in alts)


def test_a_sprint_closed_early_shows_its_real_dates(built):
    from sabbatical.sprints.model import Sprint

    early = Sprint(built, "early")
    home = (built.site_dir / "index.html").read_text()
    closed = early.meta.start + timedelta(days=1)
    assert early.meta.closed == closed
    assert f"{early.meta.start:%d %b %Y} → {closed:%d %b %Y} (2 days), closed early (planned 14)" in home
