"""The hostile site in a real browser: headless Chromium (Debian's) driven by Playwright, on 127.0.0.1.

Every built page of a workspace whose every published field holds hostile text is opened, focused through
and hovered: no dialog opens, no console or page error is logged, and no request leaves the site's host
(a third-party image would be a beacon reporting each reader).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.test_browser_site import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip

from .hostile_site import Hostile, hostile_workspace
from .test_site_markup import EXAMPLES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _chromium_or_skip()
    from sabbatical.errors import PartialFailure
    from sabbatical.site.build import build_site
    from sabbatical.site.serve import SiteServer

    base = tmp_path_factory.mktemp("hostile-browser")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(base / "home"))
        patch.setenv("MPLBACKEND", "Agg")
        patch.delenv("OPENAI_API_KEY", raising=False)
        workspace = hostile_workspace(base / "ws", [*EXAMPLES, Hostile.every_field("<img src=x onerror=alert(99)>")])
        try:
            build_site(workspace)
        except PartialFailure:
            pass  # published all the same; what the pages hold is what is tested
        server = SiteServer(workspace, port=0)
        url = server.start()
        yield workspace, url
        server.stop()


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _pages(workspace) -> list[str]:
    found = []
    for path in sorted(workspace.site_dir.rglob("index.html")):
        relative = path.parent.relative_to(workspace.site_dir).as_posix()
        found.append("" if relative == "." else relative + "/")
    return found


def test_no_hostile_page_opens_a_dialog_logs_an_error_or_calls_another_host(served, browser):
    workspace, url = served
    host = urlsplit(url).netloc
    pages = _pages(workspace)
    assert len(pages) >= 8, pages  # home, indexes, reading, three sprints and their notebooks
    dialogs: list[str] = []
    errors: list[str] = []
    elsewhere: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: message.type == "error" and errors.append(f"{page.url}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("request", lambda request: urlsplit(request.url).netloc != host and elsewhere.append(request.url))
    for path in pages:
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        for _ in range(12):  # focus handlers fire on focus: walk through the page's links
            page.keyboard.press("Tab")
        for link in page.locator("article a").all()[:40]:
            link.hover(timeout=2_000, force=True) if link.is_visible() else None
        page.wait_for_timeout(100)
        assert page.evaluate("typeof window.alert") == "function"
    page.close()
    assert dialogs == []
    assert errors == []
    assert elsewhere == []
