"""Active artifacts never run in the site's origin: SVG is cleaned, HTML and script are published as text.

One workspace holds an SVG artifact with onload, <script>, <foreignObject>, animation and javascript:
links, an HTML artifact with a script, a JavaScript file, an XML file with an XHTML script, and a
notebook whose saved output is the same hostile SVG. The built site is parsed (every published SVG, every
page) and then opened in headless Chromium: the gallery's and the file table's links are followed and
every published artifact is opened by its URL, and no dialog fires. A control SVG written straight into
the site does fire one, so the browser check can fail.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from urllib.parse import urlsplit

import pytest

from tests.helpers.site_workspace import add_artifact, add_sprint
from tests.test_browser_site import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip

from .hostile_site import site_problems

pytestmark = pytest.mark.slow

EVIL_SVG = b"""<?xml version="1.0" encoding="utf-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="80"
     onload="alert('svg-onload')">
  <script>alert('svg-script')</script>
  <script type="text/ecmascript" xlink:href="data:text/javascript,alert('svg-data-script')"/>
  <foreignObject width="100" height="50"><body xmlns="http://www.w3.org/1999/xhtml">
    <img src="x" onerror="alert('svg-foreign')"/><iframe src="javascript:alert('svg-iframe')"/></body></foreignObject>
  <a xlink:href="javascript:alert('svg-link')"><rect id="box" width="40" height="40" fill="tomato"
     onclick="alert('svg-click')" onmouseover="alert('svg-hover')"/></a>
  <animate xlink:href="#box" attributeName="onclick" to="alert('svg-animate')" begin="0s"/>
  <set attributeName="href" to="javascript:alert('svg-set')"/>
  <image href="https://tracker.example/beacon.png" width="1" height="1"/>
  <use href="https://evil.example/sprite.svg#x"/>
  <circle cx="80" cy="40" r="20" style="fill: url(https://tracker.example/f)" fill="steelblue"/>
  <text x="5" y="75">kept words</text>
</svg>"""
EVIL_HTML = b"<!doctype html><title>report</title><script>alert('html-script')</script><p>the report</p>"
EVIL_JS = b"alert('js-file')"
EVIL_XML = (
    b'<?xml version="1.0"?><root><html:script xmlns:html="http://www.w3.org/1999/xhtml">'
    b"alert('xml-script')</html:script></root>"
)
SVG_NS = "{http://www.w3.org/2000/svg}"
ACTIVE_ATTRIBUTE_PREFIX = "on"


def _notebook_with_svg(path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    output = new_output("display_data", data={"image/svg+xml": EVIL_SVG.decode(), "text/plain": "<Figure>"})
    notebook = new_notebook(
        cells=[new_markdown_cell("# SVG figures"), new_code_cell("plot()", outputs=[output], execution_count=1)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from sabbatical.errors import PartialFailure
    from sabbatical.site.build import build_site
    from sabbatical.workspace import init_workspace

    base = tmp_path_factory.mktemp("active")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(base / "home"))
        patch.setenv("MPLBACKEND", "Agg")
        patch.delenv("OPENAI_API_KEY", raising=False)
        workspace, _ = init_workspace(base / "ws", title="Active artifacts")
        sprint = add_sprint(workspace, "Do active artifacts run on the site?", slug="active")
        add_artifact(sprint, "evil.svg", EVIL_SVG, caption="A drawing that tries to run")
        add_artifact(sprint, "report.html", EVIL_HTML)
        add_artifact(sprint, "tool.js", EVIL_JS)
        add_artifact(sprint, "data.xml", EVIL_XML)
        _notebook_with_svg(sprint.notebooks_dir / "05-svg.ipynb")
        try:
            build_site(workspace)
        except PartialFailure as exc:
            pytest.fail(f"the build left things out: {exc.failures}")
    return workspace, sprint


def _published_svgs(site_dir):
    return sorted(path for path in site_dir.rglob("*.svg") if "assets" not in path.relative_to(site_dir).parts)


def test_every_published_svg_is_inert(built):
    workspace, sprint = built
    svgs = _published_svgs(workspace.site_dir)
    names = {path.relative_to(workspace.site_dir / "sprints" / sprint.name).as_posix() for path in svgs}
    assert "artifacts/evil.svg" in names and any(name.startswith("notebooks/05-svg/") for name in names), names
    for path in svgs:
        root = ElementTree.fromstring(path.read_bytes())
        tags = {element.tag.replace(SVG_NS, "") for element in root.iter()}
        assert not tags & {"script", "foreignObject", "animate", "set", "image", "a", "iframe", "body"}, (path, tags)
        for element in root.iter():
            for name, value in element.attrib.items():
                assert not name.rsplit("}", 1)[-1].lower().startswith(ACTIVE_ATTRIBUTE_PREFIX), (path, name)
                lowered = value.lower()
                assert "javascript:" not in lowered and "data:" not in lowered and "http" not in lowered, (path, value)
                if name.endswith("href"):
                    assert value.startswith("#"), (path, name, value)
        assert "kept words" in path.read_text()  # the drawing itself survives


def test_html_script_and_xml_artifacts_are_published_only_as_text_downloads(built):
    workspace, sprint = built
    folder = workspace.site_dir / "sprints" / sprint.name
    for name, data in (("report.html", EVIL_HTML), ("tool.js", EVIL_JS), ("data.xml", EVIL_XML)):
        assert not (folder / "artifacts" / name).exists(), name
        assert (folder / "artifacts" / f"{name}.txt").read_bytes() == data  # the researcher's file, as text
    active = [
        path
        for path in workspace.site_dir.rglob("*")
        if path.is_file()
        and path.suffix.lower() in (".htm", ".xhtml", ".js", ".mjs", ".xml", ".xsl", ".svgz")
        and "assets" not in path.relative_to(workspace.site_dir).parts
        and path.name != "sitemap.xml"
    ]
    assert not active, active
    pages = [path for path in workspace.site_dir.rglob("*.html") if path.name != "404.html"]
    assert all(path.name == "index.html" for path in pages), pages  # no .html but the engine's own pages
    page = (folder / "index.html").read_text()
    assert 'href="artifacts/report.html.txt" download="report.html"' in page
    assert 'href="artifacts/tool.js.txt" download="tool.js"' in page


def test_no_built_page_holds_a_live_script(built):
    workspace, _ = built
    assert site_problems(workspace.site_dir) == {}


def test_following_every_artifact_link_in_chromium_opens_no_dialog(built):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from sabbatical.site.serve import SiteServer

    workspace, sprint = built
    control = workspace.site_dir / "control-live.svg"  # not published by the build: proves a dialog is seen
    control.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'control\')"/>')
    server = SiteServer(workspace, port=0)
    url = server.start()
    dialogs: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(accept_downloads=True)
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            sprint_url = f"{url}sprints/{sprint.name}/"
            page.goto(sprint_url)
            page.click('figure a[href="artifacts/evil.svg"] >> nth=0')  # the gallery's link to the drawing
            page.wait_for_load_state("load")
            assert urlsplit(page.url).path.endswith("/artifacts/evil.svg")
            page.mouse.click(20, 20)
            page.goto(sprint_url)
            for name in ("report.html", "tool.js", "data.xml"):  # the file table's links download
                with page.expect_download() as download:
                    page.click(f'a[download="{name}"]')
                assert download.value.suggested_filename == name
            svgs = [
                path.relative_to(workspace.site_dir).as_posix()
                for path in _published_svgs(workspace.site_dir)
                if path != control
            ]
            texts = [f"sprints/{sprint.name}/artifacts/{name}.txt" for name in ("report.html", "tool.js", "data.xml")]
            for path in svgs + texts:  # opened by their URLs, as a link elsewhere would
                page.goto(url + path)
                page.wait_for_load_state("load")
                page.mouse.click(20, 20)
            assert dialogs == [], dialogs
            page.goto(url + "control-live.svg")
            page.wait_for_timeout(300)
            assert dialogs == ["control"]  # the harness does see a script that runs
            browser.close()
    finally:
        server.stop()
        control.unlink()


def test_an_svg_that_cannot_be_parsed_safely_is_not_published(workspace, cli):
    from sabbatical.errors import ExitCode

    sprint = add_sprint(workspace, "Is a bomb published?", slug="bomb")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>'
    )
    add_artifact(sprint, "bomb.svg", bomb)
    add_artifact(sprint, "broken.svg", b"<svg onload=alert(1)>")
    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert f"sprints/{sprint.name}/artifacts/bomb.svg" in result.stderr
    assert f"sprints/{sprint.name}/artifacts/broken.svg" in result.stderr
    assert not list(workspace.site_dir.rglob("bomb.svg")) and not list(workspace.site_dir.rglob("broken.svg"))
