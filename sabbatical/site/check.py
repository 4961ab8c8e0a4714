"""`site check`: every internal link of the built site leads somewhere, and nothing secret is in it.

Links are read from the built HTML (`href` and `src` of links, images, scripts, stylesheets), so raw
HTML that the engine never validated (galleries, notebooks) is checked too. External links are not
fetched: the check works offline. A `javascript:` URL anywhere is reported as unsafe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import NotFound
from . import secrets

_LINK_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src"}


@dataclass
class CheckReport:
    site_dir: Path
    pages: int = 0
    links: int = 0
    broken: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken and not self.secrets


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = _LINK_ATTRIBUTES.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.found.append(value)


def links_of(html_file: Path) -> list[str]:
    parser = _Links()
    parser.feed(html_file.read_text(encoding="utf-8", errors="replace"))
    return parser.found


def check_site(workspace_site_dir: Path) -> CheckReport:
    """Check the built site in `workspace_site_dir` (normally the workspace's site/)."""
    site_dir = workspace_site_dir
    if not (site_dir / "index.html").is_file():
        raise NotFound(f"No built site in {site_dir} — run `sabbatical site build` first")
    report = CheckReport(site_dir=site_dir)
    for page in sorted(site_dir.rglob("*.html")):
        report.pages += 1
        for url in links_of(page):
            report.links += 1
            problem = link_problem(site_dir, page, url)
            if problem:
                report.broken.append(f"{page.relative_to(site_dir)}: {problem}")
    report.secrets = secrets.describe(secrets.scan_tree(site_dir), site_dir)
    return report


def feedback_warnings(workspace: Any) -> list[str]:
    """What would keep readers' feedback from arriving: no feedback action, or one carrying a relative URL."""
    from .config import giscus_of
    from .generate import site_url

    site = workspace.config.site
    url = site_url(workspace.config, {})
    if not url:
        from .config import load_user_config

        url = site_url(workspace.config, load_user_config(workspace.mkdocs_path))
    warnings = []
    if not site.feedback_url.strip() and giscus_of(site) is None:
        warnings.append(
            "no page has a feedback action: set [site] feedback_url (or the giscus_* keys for comments) "
            "in sabbatical.toml"
        )
    if "{url}" in site.feedback_url and not url:
        warnings.append(
            "feedback links carry a relative page address ({url} has no site to be relative to): set "
            "[site] url in sabbatical.toml to where the site is published"
        )
    if url and not url.startswith(("https://", "http://")):
        warnings.append(f"[site] url {url!r} is not an http(s) address: feedback links would not lead to the page")
    return warnings


def link_problem(site_dir: Path, page: Path, url: str) -> str | None:
    """Why `url` on `page` is broken or unsafe, or None when it is fine (or external)."""
    stripped = "".join(url.split())
    parts = urlsplit(stripped)
    scheme = parts.scheme.lower()
    if scheme == "javascript":
        return "an unsafe javascript: link"
    if scheme or stripped.startswith("//") or not parts.path:
        return None  # external, mailto:, data:, or a fragment on the same page
    path = unquote(parts.path)
    resolved = ((site_dir / path.lstrip("/")) if path.startswith("/") else page.parent / path).resolve()
    if site_dir.resolve() not in (resolved, *resolved.parents):
        return f"{url} points outside the site"
    if resolved.is_dir():
        resolved = resolved / "index.html"
    if not resolved.exists():
        return f"{url} leads nowhere (no {resolved.relative_to(site_dir.resolve())})"
    return None
