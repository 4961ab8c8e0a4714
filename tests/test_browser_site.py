"""The tour's site in a real browser: headless Chromium (Debian's) driven by Playwright, on 127.0.0.1.

Home and a sprint page render (screenshots go to the test's tmp folder); every page type (home, sprint,
notebook, findings, failures, reading, digest) at 1400 px and at 390 px logs no console error, does not
scroll sideways (a wide table scrolls inside its own container), asks nothing of another host and holds a
feedback link that is absolute and well-formed; the site search finds the sprint by a word of its
question; and a pile item ingested from a hostile feed is published on the reading page (`[site] reading
= "all"`) yet runs nothing: no dialog opens and no payload sets its window global.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SITE_URL = "https://ada.example.org/sabbatical/"
FEEDBACK_URL = "https://github.com/ada/sabbatical/issues/new?title=Feedback on {title}&body=Page: {url}"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MATH_FINDING = "The warm-up length that works grows as $\\alpha \\sqrt{d}$ with width"
HOSTILE_FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Hostile feed</title><link>https://hostile.example/</link>
<description>entries written to attack the page that shows them</description>
<item><title>Hostile entry &lt;script&gt;window.__pwned=1;alert(1)&lt;/script&gt; [click](javascript:window.__pwned=2)</title>
<link>javascript:window.__pwned=3</link><guid isPermaLink="false">hostile-1</guid>
<description>&lt;img src=x onerror="window.__pwned=4;alert(4)"&gt; &lt;a href="javascript:window.__pwned=5"&gt;more&lt;/a&gt;
[a markdown link](javascript:window.__pwned=6) &lt;script&gt;window.__pwned=7&lt;/script&gt;</description></item>
<item><title>Hostile twin [x](javascript:alert(8)) &lt;img src=y onerror=alert(9)&gt;</title>
<link>https://hostile.example/twin</link><guid isPermaLink="false">hostile-2</guid>
<description>&lt;svg onload=alert(10)&gt;&lt;/svg&gt; plain words</description></item>
<item><title>Learning rates that scale with width</title><link>https://math.example/rates</link>
<guid isPermaLink="false">math-1</guid><description>The best learning rate $\\eta$ scales as $\\eta \\propto 1/\\sqrt{d}$
for width $d$ in small transformers. A run costs $3 and $4 on spot instances.</description></item>
</channel></rss>
"""


def _chromium_or_skip() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (Debian: apt-get install chromium; `make test` installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing (pip install -e '.[dev]')"
    if problem and os.environ.get("SABBATICAL_REQUIRE_CORPUS") == "1":
        pytest.fail(f"browser test required but {problem}")
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def tour_site(tmp_path_factory):
    """The tour's workspace, plus a hostile feed read into its pile, built and served on 127.0.0.1."""
    _chromium_or_skip()
    from sabbatical.site.build import build_site
    from sabbatical.site.serve import SiteServer
    from sabbatical.tour import run_tour
    from sabbatical.workspace import Workspace

    base = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(base / "home"))
        patch.setenv("MPLBACKEND", "Agg")
        patch.delenv("OPENAI_API_KEY", raising=False)
        report = run_tour(base / "tour")
        workspace = Workspace(report.workspace)
        assert (workspace.site_dir / "index.html").is_file(), [step.detail for step in report.steps]
        _read_hostile_feed(workspace, base / "hostile.rss")
        _log_a_finding_with_math(workspace)
        build_site(workspace)
        server = SiteServer(workspace, port=0)
        url = server.start()
        yield workspace, url
        server.stop()


def _log_a_finding_with_math(workspace) -> None:
    from sabbatical.sprints.model import Sprint

    Sprint(workspace, "01").log("finding", MATH_FINDING)


def _read_hostile_feed(workspace, feed: Path) -> None:
    """Through the real ingester, summariser and organiser, as `read feed` and the tour do."""
    from sabbatical import db
    from sabbatical.reading import summarise, topics
    from sabbatical.reading.ingest import Ingester, read_feeds
    from sabbatical.reading.pile import Pile

    feed.write_text(HOSTILE_FEED)
    text = workspace.config_path.read_text().replace("reading_items = 10", "reading_items = 200")
    text = text.replace('feedback_url = ""', f'feedback_url = "{FEEDBACK_URL}"')  # before url = "", its tail
    text = text.replace('reading = "kept"', 'reading = "all"').replace('\nurl = ""', f'\nurl = "{SITE_URL}"')
    workspace.config_path.write_text(text)
    workspace = type(workspace)(workspace.root)
    with Pile.open(workspace) as pile:
        report = read_feeds(Ingester(pile, workspace.config.reading), [str(feed)])
    assert report.new == 3, report
    summarise.summarise_workspace(workspace)
    conn = db.connect(workspace.pile_path)
    try:
        topics.organise(conn, workspace.config)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def browser(tour_site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page with every console error, page error and dialog it produces recorded."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("networkidle")


def test_home_and_a_sprint_page_render_with_no_console_errors(tour_site, browser, tmp_path):
    workspace, url = tour_site
    watched = Watched(browser)
    watched.open(url)
    assert watched.page.title().startswith("A sabbatical on how models learn")
    assert watched.page.locator("h2", has_text="Sprint timeline").is_visible()
    timeline = watched.page.locator('img[alt^="Timeline of the sprints"]')
    assert timeline.evaluate("image => image.complete && image.naturalWidth > 0")
    watched.page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

    sprint = next((workspace.site_dir / "sprints").iterdir()).name
    watched.open(f"{url}sprints/{sprint}/")
    # The tour's failure is an example entry nobody kept, which the site leaves out: no failure box here.
    assert watched.page.locator(".admonition.failure").count() == 0
    assert watched.page.locator("h2", has_text="Runs").is_visible()
    images = watched.page.locator("article img")
    assert images.count() >= 3
    for index in range(images.count()):
        image = images.nth(index)
        assert image.get_attribute("alt"), "every image has alt text"
        image.scroll_into_view_if_needed()
        assert image.evaluate("image => image.complete && image.naturalWidth > 0"), image.get_attribute("src")
    watched.page.screenshot(path=str(tmp_path / "sprint.png"), full_page=True)
    assert not watched.errors, watched.errors


def _page_types(workspace) -> dict[str, str]:
    sprint = next((workspace.site_dir / "sprints").iterdir())
    notebook = next((sprint / "notebooks").iterdir())
    return {
        "home": "",
        "sprint": f"sprints/{sprint.name}/",
        "notebook": f"sprints/{sprint.name}/notebooks/{notebook.name}/",
        "findings": "findings/",
        "failures": "failures/",
        "reading": "reading/",
        "digest": "reading/digest/",
    }


@pytest.mark.parametrize("width", [1400, 390])
def test_every_page_type_fits_the_screen_and_has_an_absolute_feedback_link(tour_site, browser, tmp_path, width):
    workspace, url = tour_site
    watched = Watched(browser)
    watched.page.set_viewport_size({"width": width, "height": 900})
    requests: list[str] = []
    watched.page.on("request", lambda request: requests.append(request.url))
    for name, path in _page_types(workspace).items():
        watched.open(url + path)
        overflow = watched.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, width, overflow)
        link = watched.page.locator("a.sabbatical-feedback").first
        assert link.is_visible(), (name, width)
        href = link.get_attribute("href")
        parts = urlsplit(href)
        assert parts.scheme == "https" and parts.netloc == "github.com" and " " not in href, href
        query = parse_qs(parts.query)
        assert query["title"][0].startswith("Feedback on "), href
        assert query["body"][0] == f"Page: {SITE_URL}{path}", (name, query["body"])
        watched.page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
    assert not watched.page.locator("form.md-feedback").count()  # no widget without a provider to receive it
    assert all(request.startswith(url) for request in requests), [r for r in requests if not r.startswith(url)]
    assert not watched.errors, watched.errors


def test_site_search_finds_the_sprint_by_a_word_of_its_question(tour_site, browser):
    from sabbatical.tour import QUESTION

    _, url = tour_site
    word = "reliably"
    assert word in QUESTION
    watched = Watched(browser)
    watched.open(url)
    watched.page.locator("label.md-search__icon, .md-search__input").first.click()
    watched.page.locator("input.md-search__input").press_sequentially(word, delay=30)  # the search reacts to keys
    result = watched.page.locator(".md-search-result__item a").first
    result.wait_for(timeout=15_000)
    assert re.search(r"sprints/01-learning-rates/", result.get_attribute("href"))
    assert not watched.errors, watched.errors


def test_a_hostile_feed_item_is_published_as_text_and_runs_nothing(tour_site, browser, tmp_path):
    _, url = tour_site
    watched = Watched(browser)
    for page in ("reading/", "reading/digest/", ""):
        watched.open(url + page)
        watched.page.wait_for_timeout(300)
        assert watched.page.evaluate("typeof window.__pwned") == "undefined", page
        assert watched.page.locator('a[href^="javascript:" i]').count() == 0, page
        assert watched.page.locator("article [onerror], article [onload], article script").count() == 0, page
    watched.open(url + "reading/")
    article = watched.page.locator("article").inner_text()
    assert "Hostile entry" in article and "Hostile twin" in article
    assert "[click](javascript:window.__pwned=2)" in article  # shown as the text it is
    watched.page.screenshot(path=str(tmp_path / "reading.png"), full_page=True)
    assert not watched.dialogs, watched.dialogs
    assert not watched.errors, watched.errors


def _math_shown(watched, raw: str) -> None:
    maths = watched.page.locator("article math")
    assert maths.count() >= 1
    box = maths.first.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0, box
    assert raw not in watched.page.locator("article").inner_text()


def test_math_is_drawn_on_the_reading_and_sprint_pages(tour_site, browser, tmp_path):
    _, url = tour_site
    watched = Watched(browser)
    watched.open(url + "reading/")
    item = watched.page.locator("article li", has_text="Learning rates that scale with width")
    assert item.locator("math").count() >= 1 and "costs $3 and $4" in item.inner_text()
    _math_shown(watched, "$\\eta$")
    watched.open(url + "sprints/01-learning-rates/")
    finding = watched.page.locator("article li", has_text="The warm-up length that works grows as")
    assert finding.locator("math").count() == 1
    _math_shown(watched, "$\\alpha")
    watched.page.screenshot(path=str(tmp_path / "math.png"), full_page=True)
    assert not watched.errors, watched.errors


_LABEL_BOXES = """() => [...document.querySelectorAll('.sabbatical-timeline-label')].map(label => {
    const box = label.getBoundingClientRect();
    return {text: label.innerText, size: parseFloat(getComputedStyle(label).fontSize),
            top: box.top, bottom: box.bottom, left: box.left, right: box.right};
})"""


@pytest.mark.parametrize("width", [390, 1400])
def test_the_timeline_labels_are_readable_and_never_overlap(tour_site, browser, tmp_path, width):
    _, url = tour_site
    watched = Watched(browser)
    watched.page.set_viewport_size({"width": width, "height": 900})
    watched.open(url)
    chart = watched.page.locator('img[alt^="Timeline of the sprints"]')
    if width >= 1000:  # wide: the chart, drawn at its own size
        assert chart.is_visible() and not watched.page.locator(".sabbatical-timeline").is_visible()
        return
    assert not chart.is_visible()
    labels = watched.page.evaluate(_LABEL_BOXES)
    assert labels and all(label["text"].startswith("Sprint ") for label in labels), labels
    for label in labels:
        assert label["size"] >= 11, label
        assert label["left"] >= 0 and label["right"] <= width, label
    for upper, lower in zip(labels, labels[1:]):
        assert upper["bottom"] <= lower["top"], (upper, lower)
    bars = watched.page.locator(".sabbatical-timeline-bar")
    assert bars.count() == len(labels)
    for index in range(bars.count()):
        box = bars.nth(index).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
    watched.page.locator(".sabbatical-timeline").screenshot(path=str(tmp_path / f"timeline-{width}.png"))
    assert not watched.errors, watched.errors


def test_the_question_is_never_cut_in_the_h1_on_a_phone(tour_site, browser):
    from sabbatical.tour import QUESTION

    _, url = tour_site
    watched = Watched(browser)
    watched.page.set_viewport_size({"width": 390, "height": 900})
    watched.open(url + "sprints/01-learning-rates/")
    h1 = watched.page.locator("article h1").first
    assert " ".join(QUESTION.split()) in " ".join(h1.inner_text().split())
    fits = h1.evaluate("h => h.scrollWidth <= h.clientWidth && getComputedStyle(h).textOverflow !== 'ellipsis'")
    assert fits
