"""`site build` end to end on a real workspace: sprints, journals, MLflow runs, notebooks, artifacts.

One workspace is built once for the read-only checks (module scope); tests that change things build
their own.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest

from sabbatical.errors import ExitCode
from tests.helpers.site_workspace import add_artifact, add_run, add_sprint, png_bytes, write_notebook

pytestmark = pytest.mark.slow

PRIVATE_MARKERS = [
    "PRIVATE-FAILURE-MARKER",
    "PRIVATE-NOTE-MARKER",
    "PRIVATE-SPRINT-QUESTION",
    "PRIVATE-NOTEBOOK-MARKER",
    "PRIVATE-FEEDBACK-MARKER",
]
FEEDBACK_URL = "https://issues.example.org/new?title={title}&body={url}"


def _make_workspace(root: Path):
    from sabbatical.sprints.lifecycle import close_sprint
    from sabbatical.workspace import init_workspace

    ws, _ = init_workspace(root, title="Site test sabbatical")
    toml = ws.config_path.read_text().replace('feedback_url = ""', f'feedback_url = "{FEEDBACK_URL}"')
    ws.config_path.write_text(toml)
    ws = type(ws)(ws.root)
    first = add_sprint(
        ws,
        "Does warm-up help small transformers converge?",
        hypothesis="Yes, a little.",
        start=date.today() - timedelta(days=30),
        slug="warm-up",
    )
    first.log("failure", "ten warm-up steps diverged", why="the learning rate was too high")
    first.log("failure", "PRIVATE-FAILURE-MARKER", private=True)
    first.log("finding", "warm-up of 100 steps converges twice as fast", evidence="runs baseline and warm-100")
    first.log("feedback", "Could you try a cosine schedule?", source="Ada")
    first.log("feedback", "PRIVATE-FEEDBACK-MARKER", source="Bob", private=True)
    first.log("note", "PRIVATE-NOTE-MARKER", private=True)
    add_artifact(first, "loss-plot.png", png_bytes(), caption="Loss with and without warm-up")
    add_artifact(first, "second_chart.png", png_bytes("tab:red"))
    add_artifact(first, "results table.csv", b"run,loss\nbaseline,0.1\n")
    add_run(ws, first, "baseline", params={"warmup": 100}, metrics={"loss": [3.0, 2.0, 1.0, 0.5]})
    add_run(ws, first, "no-warmup", status="FAILED", params={"warmup": 0}, metrics={"loss": [3.0, 9.0, 80.0]})
    write_notebook(
        first.notebooks_dir / "03-figures.ipynb",
        title="Figures",
        image=png_bytes(label="nb"),
        html_output='<b>bold</b><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>',
    )
    write_notebook(first.notebooks_dir / "04-private.ipynb", title="PRIVATE-NOTEBOOK-MARKER", private=True)
    close_sprint(first, "yes", "Warm-up helps: 100 steps converge twice as fast.")
    add_sprint(
        ws,
        "PRIVATE-SPRINT-QUESTION about embeddings?",
        private=True,
        slug="hidden",
        start=date.today() - timedelta(days=16),
    )
    add_sprint(
        ws, "Can retrieval replace fine-tuning for citations?", start=date.today() - timedelta(days=2), slug="retrieval"
    )
    return ws


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A workspace with three sprints (one private), built once."""
    from sabbatical.site.build import build_site

    root = tmp_path_factory.mktemp("site") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(root.parent / "home"))
        patch.setenv("MPLBACKEND", "Agg")
        patch.delenv("OPENAI_API_KEY", raising=False)
        ws = _make_workspace(root)
        report = build_site(ws)
    return ws, report


def _site_text(ws) -> str:
    return "\n".join(
        p.read_text(errors="replace")
        for p in ws.site_dir.rglob("*")
        if p.is_file() and p.suffix in (".html", ".json", ".xml", ".md", ".ipynb", ".csv", ".txt")
    )


def _sprint_html(ws, slug: str) -> str:
    folder = next(p for p in (ws.site_dir / "sprints").iterdir() if p.name.endswith(slug))
    return (folder / "index.html").read_text()


def test_the_home_page_shows_the_public_sprints_and_their_counts(built):
    ws, report = built
    assert report.sprints == 2 and (ws.site_dir / "index.html").is_file()
    home = (ws.site_dir / "index.html").read_text()
    assert "Does warm-up help small transformers converge?" in home
    assert "Can retrieval replace fine-tuning for citations?" in home
    assert "Yes" in home and "open, day 3 of 14" in home
    assert 'alt="Timeline of the sprints' in home
    assert (ws.site_dir / "assets" / "timeline.png").is_file()


def test_nothing_private_is_published(built):
    ws, _ = built
    text = _site_text(ws)
    for marker in PRIVATE_MARKERS:
        assert marker not in text, marker
    assert not any("hidden" in p.name for p in (ws.site_dir / "sprints").iterdir())
    assert not list(ws.site_dir.rglob("04-private*"))


def test_failures_come_first_on_the_sprint_page(built):
    ws, _ = built
    page = _sprint_html(ws, "warm-up").split("<article", 1)[1]  # the content, not the table of contents
    failure = page.index("ten warm-up steps diverged")
    assert page.index("admonition failure") < failure < page.index("The answer and retro")
    assert "the learning rate was too high" in page
    assert "warm-up of 100 steps converges twice as fast" in page
    assert "Could you try a cosine schedule?" in page and "from Ada" in page


def test_artifacts_are_copied_with_alt_text_and_download_links(built):
    ws, _ = built
    page = _sprint_html(ws, "warm-up")
    assert re.search(r'<img src="artifacts/loss-plot.png" alt="Loss with and without warm-up"', page)
    assert 'alt="second chart (image)"' in page
    assert 'href="artifacts/loss-plot.png" download' in page
    folder = next(p for p in (ws.site_dir / "sprints").iterdir() if p.name.endswith("warm-up"))
    assert (folder / "artifacts" / "loss-plot.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "artifacts" / "results-table.csv").read_text().startswith("run,loss")
    for src in re.findall(r'<img [^>]*?src="([^"]+)"', page):
        assert (folder / unquote(src)).is_file(), src
    assert all(alt.strip() for alt in re.findall(r'<img [^>]*?alt="([^"]*)"', page))


def test_runs_table_shows_every_status_and_charts_are_static_images(built):
    ws, _ = built
    page = _sprint_html(ws, "warm-up")
    assert "baseline" in page and "no-warmup" in page and "<strong>FAILED</strong>" in page
    table = page.split('id="runs"', 1)[1].split("</table>", 1)[0]
    headers = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    assert headers[:6] == ["Run", "Notebook", "Status", "Started", "Duration", "warmup"]
    assert headers[6:] == ["loss (last)"]  # no goal said: each run's last value, and no best marked
    rows = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    ]
    assert [row[5] for row in rows] == ["100", "0"] and [row[6] for row in rows] == ["0.5", "80"]
    folder = next(p for p in (ws.site_dir / "sprints").iterdir() if p.name.endswith("warm-up"))
    assert (folder / "charts" / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert re.search(r'<img alt="Line chart of loss over steps for 2 runs[^"]*" src="charts/loss.png"', page)


def test_notebooks_are_rendered_with_their_figures_and_without_active_content(built):
    ws, _ = built
    folder = next(p for p in (ws.site_dir / "sprints").iterdir() if p.name.endswith("warm-up"))
    notebook = (folder / "notebooks" / "03-figures" / "index.html").read_text()
    assert "Some <strong>prose</strong>" in notebook and "<b>bold</b>" in notebook
    assert "onerror" not in notebook and "__pwned" not in notebook
    figures = re.findall(r'<img alt="(Figure [^"]+)" src="(figures/[^"]+)"', notebook)
    assert figures and (folder / "notebooks" / "03-figures" / figures[0][1]).read_bytes()[:4] == b"\x89PNG"
    assert (folder / "notebooks" / "03-figures" / "03-figures.ipynb").is_file()
    assert "03-figures" in _sprint_html(ws, "warm-up") or "Figures" in _sprint_html(ws, "warm-up")


def test_every_sprint_page_has_a_give_feedback_link_with_the_title_filled_in(built):
    ws, _ = built
    for slug, title in (("warm-up", "Sprint 01"), ("retrieval", "Sprint 03")):
        page = _sprint_html(ws, slug)
        link = re.search(r'<a class="md-button sabbatical-feedback" href="([^"]+)">Give feedback</a>', page)
        assert link, slug
        href = link.group(1).replace("&amp;", "&")
        assert href.startswith("https://issues.example.org/new?title=" + title.replace(" ", "%20"))
        assert "&body=sprints%2F" in href


def test_no_helpful_widget_without_a_provider_to_receive_it_and_no_third_party_requests(built):
    ws, _ = built
    page = _sprint_html(ws, "warm-up")
    assert 'class="md-feedback"' not in page and "Was this page helpful" not in page
    assert "googletagmanager" not in page and "fonts.googleapis" not in page


def test_failures_and_findings_indexes_collect_every_public_entry(built):
    ws, _ = built
    failures = (ws.site_dir / "failures" / "index.html").read_text()
    findings = (ws.site_dir / "findings" / "index.html").read_text()
    assert "ten warm-up steps diverged" in failures and "PRIVATE" not in failures
    assert "warm-up of 100 steps converges twice as fast" in findings


def test_the_generated_sources_build_with_plain_mkdocs_too(built):
    """The engine is swappable: the generated folder and config are all an engine needs."""
    ws, _ = built
    config = ws.site_source_dir / "mkdocs.yml"
    assert config.is_file() and (ws.site_source_dir / "docs" / "index.md").is_file()
    assert "nav:" in config.read_text() and "plugins" not in config.read_text()


def test_site_check_passes_on_the_built_site_and_catches_a_broken_link(built, cli, tmp_path):
    import shutil

    ws, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(ws.root, copy, ignore=shutil.ignore_patterns("mlflow.db*", "mlartifacts"))
    ok = cli("--workspace", copy, "site", "check")
    assert ok.exit_code == 0, ok.stderr
    assert "no broken links, no secrets" in ok.stdout
    page = copy / "site" / "findings" / "index.html"
    page.write_text(page.read_text().replace("</article>", '<a href="../nowhere/">x</a></article>'))
    broken = cli("--workspace", copy, "site", "check")
    assert broken.exit_code == ExitCode.ERROR
    assert "findings/index.html: ../nowhere/ leads nowhere" in broken.stderr


# -- builds that change things --------------------------------------------------------------------------
def test_an_empty_workspace_builds(workspace, cli):
    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == 0, result.stderr
    assert str(workspace.site_dir) in result.stdout and "sabbatical site serve" in result.stdout
    home = (workspace.site_dir / "index.html").read_text()
    assert "No sprints are published yet." in home


def test_feedback_logged_with_the_cli_appears_on_the_sprint_page(workspace, cli):
    sprint = add_sprint(workspace, "Is a tiny model enough for tagging papers?", slug="tiny")
    logged = cli(
        "--workspace", workspace.root, "sprint", "log", "feedback", "The tags look off for surveys", "--from", "Grace"
    )
    assert logged.exit_code == 0, logged.stderr
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0
    page = (workspace.site_dir / "sprints" / sprint.name / "index.html").read_text()
    section = page.split('id="feedback-received"', 1)[1]
    assert "The tags look off for surveys" in section and "from Grace" in section


def test_a_key_in_a_notebook_output_stops_the_build_and_never_reaches_site(workspace, cli, monkeypatch):
    key = "sk-proj-" + "Zq4" * 12
    monkeypatch.setenv("OPENAI_API_KEY", key)
    sprint = add_sprint(workspace, "Does the summariser need a larger model?", slug="summariser")
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0  # a clean site first
    write_notebook(sprint.notebooks_dir / "leaky.ipynb", text_output=f"using key {key}")
    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == ExitCode.ERROR
    assert "leaky" in result.stderr and "OPENAI_API_KEY" in result.stderr
    assert key not in result.stderr + result.stdout
    published = "".join(p.read_text(errors="replace") for p in workspace.site_dir.rglob("*") if p.is_file())
    assert key not in published and "leaky" not in published
    assert (workspace.site_dir / "index.html").is_file()  # the last clean site is still there


def test_a_broken_notebook_and_a_broken_sprint_file_are_reported_and_the_rest_is_published(workspace, cli):
    good = add_sprint(workspace, "Do summaries drift between prompt versions?", slug="drift")
    broken = add_sprint(workspace, "Is the OPML import lossless?", slug="opml")
    (good.notebooks_dir / "99-broken.ipynb").write_text("{ not json")
    broken.sprint_md.write_text("---\nid: [unclosed\n---\n# oops\n")
    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert "99-broken.ipynb" in result.stderr and f"sprints/{broken.name}" in result.stderr
    page = (workspace.site_dir / "sprints" / good.name / "index.html").read_text()
    assert "Do summaries drift between prompt versions?" in page
    assert (workspace.site_dir / "sprints" / good.name / "notebooks" / "02-experiment" / "index.html").is_file()
    assert not (workspace.site_dir / "sprints" / broken.name).exists()


def test_strict_builds_fail_on_an_engine_warning_and_no_strict_publishes(workspace, cli):
    docs = workspace.root / "docs"
    docs.mkdir()
    (docs / "about.md").write_text("# About\n\n[a missing page](missing.md)\n")
    mkdocs = workspace.mkdocs_path.read_text() + "nav:\n  - About: about.md\n"
    workspace.mkdocs_path.write_text(mkdocs)
    strict = cli("--workspace", workspace.root, "site", "build")
    assert strict.exit_code == ExitCode.ERROR and "missing.md" in strict.stderr
    assert not workspace.site_dir.exists()
    relaxed = cli("--workspace", workspace.root, "site", "build", "--no-strict")
    assert relaxed.exit_code == 0, relaxed.stderr
    assert (workspace.site_dir / "about" / "index.html").is_file()  # the researcher's own page joins the nav


def test_a_rebuild_shows_a_changed_notebook_and_a_new_run(workspace, cli):
    """The build cache never serves a stale notebook or runs table."""
    sprint = add_sprint(workspace, "Does the cache keep up?", slug="cache")
    write_notebook(sprint.notebooks_dir / "05-cached.ipynb", text_output="first output")
    add_run(workspace, sprint, "first-run", metrics={"loss": [2.0, 1.0]})
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0
    write_notebook(sprint.notebooks_dir / "05-cached.ipynb", text_output="second output")
    add_run(workspace, sprint, "second-run", status="KILLED", metrics={"loss": [3.0, 2.5]})
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0
    folder = workspace.site_dir / "sprints" / sprint.name
    assert "second output" in (folder / "notebooks" / "05-cached" / "index.html").read_text()
    page = (folder / "index.html").read_text()
    assert "first-run" in page and "second-run" in page and "<strong>KILLED</strong>" in page
    cached = list((workspace.cache_dir / "site-cache" / "notebooks").iterdir())
    assert len(cached) == 3  # this build's notebooks only: the old render was pruned


def test_private_and_dropped_pile_items_are_never_published(workspace, cli):
    from sabbatical import db
    from sabbatical.reading import topics, triage
    from tests.helpers.fake_openai import insert_items, sample_documents

    documents = sample_documents(12)
    documents[0]["title"] = "PRIVATE-ITEM-MARKER on attention heads"
    documents[0]["private"] = 1
    documents[1]["title"] = "DROPPED-ITEM-MARKER about baselines"
    toml = workspace.config_path.read_text().replace('reading = "kept"', 'reading = "all"')
    workspace.config_path.write_text(toml)
    workspace = type(workspace)(workspace.root)
    conn = db.connect(workspace.pile_path)
    try:
        insert_items(conn, documents)
        triage.triage(conn, [documents[1]["id"]], "drop")
        topics.organise(conn, workspace.config)
    finally:
        conn.close()
    sprint = add_sprint(workspace, "How do attention heads copy tokens?", slug="heads")
    text = sprint.sprint_md.read_text()
    sprint.sprint_md.write_text(text.replace("## Notes", "1. PRIVATE-ITEM-MARKER again `test:00000`\n\n## Notes"))
    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == 0, result.stderr
    published = "".join(
        p.read_text(errors="replace")
        for p in workspace.site_dir.rglob("*")
        if p.is_file() and p.suffix in (".html", ".json", ".xml")
    )
    assert "How attention heads copy tokens (study 2)" in published  # the public items are there
    assert "PRIVATE-ITEM-MARKER" not in published and "DROPPED-ITEM-MARKER" not in published


def test_markup_in_a_sprint_question_title_and_journal_is_shown_as_text_everywhere(workspace, cli):
    """Headings, the table of contents, the navigation and the search index all get the text, never tags."""
    sprint = add_sprint(workspace, "Is <img src=x onerror=alert(1)> & <script>alert(2)</script> inert?", slug="xss")
    document = sprint.document()
    document.meta.title = "<img src=x onerror=alert(3)> title"
    sprint.save(document)
    sprint.log("failure", '<svg onload=alert(4)> [x](javascript:alert(5)) "quoted" | piped')
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0
    for page in workspace.site_dir.rglob("*.html"):
        text = page.read_text()
        for raw in ("<img src=x", "<script>alert", "<svg onload", 'href="javascript:'):
            assert raw not in text, (page, raw)
    index = (workspace.site_dir / "search" / "search_index.json").read_text()
    assert "<img src=x" not in index and "<svg onload" not in index
