"""Generating the site's sources: Markdown pages, images and the engine config, from the workspace.

`generate_site` gathers what is public (`gather`: sprints, journal, runs, artifacts, notebooks, reading),
writes it as plain Markdown and image files into `docs/` under `workspace.site_source_dir`
(.sabbatical/site-src/), and writes the effective `mkdocs.yml` beside that folder. Nothing here runs the
site engine (`build.py` does), so any engine that reads Markdown and an mkdocs-style config can publish
the same folder.

A sprint or notebook that cannot be read becomes one line in `GeneratedSite.problems` and is left out;
everything else is still generated. Files are copied only through `paths.read_published` (a regular file
inside its sprint folder, read without following a final symlink), folders are emptied only through
`paths.remove_tree`, and active artifacts are made inert on the way (`active.py`: SVG cleaned, HTML and
other scriptable types published as `.txt` copies).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import active, pages, paths
from .assets import TABLESORT_TEXT
from .cache import BuildCache
from .model import SiteData, SiteSprint

Progress = Callable[..., None]
STYLESHEET_TEXT = """\
/* Styles for the pages sabbatical generates: artifact gallery, rendered notebooks, feedback button. */
.sabbatical-gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 1rem; }
.sabbatical-gallery figure { margin: 0; }
.sabbatical-gallery img { max-width: 100%; height: auto; border: 1px solid var(--md-default-fg-color--lightest); }
.sabbatical-gallery figcaption { font-size: .7rem; }
.sabbatical-notebook .input_prompt, .sabbatical-notebook .output_prompt, .sabbatical-notebook .prompt {
  color: var(--md-default-fg-color--light); font-size: .6rem; font-family: var(--md-code-font-family); }
.sabbatical-notebook .input_area { margin: .5rem 0; }
.sabbatical-notebook pre { overflow-x: auto; padding: .4rem; font-size: .7rem; }
.sabbatical-notebook .output_subarea pre { background: var(--md-code-bg-color); }
.sabbatical-notebook img { max-width: 100%; height: auto; }
.sabbatical-feedback { margin: .2rem 0 .8rem; }
/* The home timeline: the chart image on wide screens; on narrow ones (where its labels would shrink below
   reading size) rows of text, each label on its own line, over bars placed by percentage classes. */
.sabbatical-timeline { display: none; }
.md-typeset .sabbatical-timeline-rows { list-style: none; margin: 0; padding: 0; }
.md-typeset .sabbatical-timeline-rows li { margin: 0 0 .6rem; }
.sabbatical-timeline-label { display: block; font-size: .75rem; line-height: 1.3; }
.sabbatical-timeline-track { display: block; height: .6rem; background: var(--md-default-fg-color--lightest); }
.sabbatical-timeline-bar, .sabbatical-timeline-done { display: block; height: 100%; }
.sabbatical-answer-yes { background: #2e7d32; } .sabbatical-answer-partly { background: #f9a825; }
.sabbatical-answer-no { background: #c62828; } .sabbatical-answer-open { background: rgba(92, 107, 192, .3); }
.sabbatical-timeline-done { background: #5c6bc0; }
@media screen and (max-width: 44.9375em) {
  .sabbatical-timeline { display: block; }
  .sabbatical-timeline-chart { display: none; }
}
"""
STYLESHEET_TEXT += "".join(
    f".sabbatical-at-{n} {{ margin-left: {n}%; }} .sabbatical-span-{n} {{ width: {n}%; }} "
    f".sabbatical-done-{n} {{ width: {n}%; }}\n"
    for n in range(101)
)


@dataclass
class GeneratedSite:
    """What `generate_site` wrote, and what it could not."""

    source_dir: Path
    docs_dir: Path
    config_path: Path
    data: SiteData
    pages: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)  # docs path → the workspace file it shows
    problems: list[str] = field(default_factory=list)


def gather(workspace: Any, on_progress: Progress | None = None, cache: BuildCache | None = None) -> SiteData:
    """Everything public, from the sprints library, MLflow and the pile."""
    from ..sprints.model import sprint_folders
    from . import alt_text, config, reading_source, runs_source, sections, sprint_source

    problems: list[str] = []
    user = config.load_user_config(workspace.mkdocs_path)
    cfg = workspace.config
    data = SiteData(
        title=cfg.title or str(user.get("site_name") or ""),
        author=cfg.author,
        feedback_url=cfg.site.feedback_url,
        site_url=site_url(cfg, user),
        problems=problems,
        comments=config.giscus_of(cfg.site) is not None,
    )
    _report(on_progress, description="reading sprints", total=len(sprint_folders(workspace)) + 2)
    data.sprints = sprint_source.public_sprints(workspace, problems)
    runs = runs_source.runs_by_experiment(
        workspace, [s.experiment_id or "" for s in data.sprints], problems, cache=cache
    )
    for sprint in data.sprints:
        sprint.runs = [run for run in runs.get(sprint.experiment_id or "", []) if run.id not in sprint.superseded_runs]
    conn = _open_pile(workspace, problems)
    try:
        alt_text.describe_images(workspace, [a for s in data.sprints for a in s.artifacts], problems, conn)
        _report(on_progress, description="reading the pile")
        data.reading = reading_source.public_reading(workspace, conn, cfg.site.reading_items, problems)
        private_ids = reading_source.private_item_ids(conn)
    finally:
        if conn is not None:
            conn.close()
    for sprint in data.sprints:
        sprint.sections = {
            heading: sections.researcher_text(heading, body) for heading, body in sprint.sections.items()
        }
        if "Reading list" in sprint.sections:
            sprint.sections["Reading list"] = reading_source.without_private_items(
                sprint.sections["Reading list"], private_ids
            )
    return data


def _open_pile(workspace: Any, problems: list[str]) -> Any:
    """The pile's connection for this build, or None when there is no pile (or it cannot be opened)."""
    from .. import db
    from ..errors import StoreError

    if not workspace.pile_path.exists():
        return None
    try:
        return db.connect(workspace.pile_path)
    except StoreError as exc:
        problems.append(f"the reading pile could not be opened ({exc}) — the reading pages are empty")
        return None


def generate_site(workspace: Any, on_progress: Progress | None = None) -> GeneratedSite:
    """Write the pages, images and mkdocs.yml for the current state of the workspace."""
    from . import config

    paths.check_build_folders(workspace)
    cache = BuildCache(workspace.site_cache_dir)
    data = gather(workspace, on_progress, cache)
    source_dir = workspace.site_source_dir
    docs_dir = source_dir / "docs"
    generated = GeneratedSite(
        source_dir=source_dir,
        docs_dir=docs_dir,
        config_path=source_dir / "mkdocs.yml",
        data=data,
        problems=data.problems,
    )
    user = config.load_user_config(workspace.mkdocs_path)
    paths.fresh_folder(docs_dir, workspace.root)
    _copy_user_docs(config.user_docs_dir(user, workspace.root), docs_dir, workspace, generated.problems)
    _write(docs_dir / config.STYLESHEET, STYLESHEET_TEXT)
    _write(docs_dir / config.TABLESORT_SCRIPT, TABLESORT_TEXT)
    _report(on_progress, description="writing sprint pages", total=len(data.sprints) + 2)
    nav_sprints = _write_sprints(generated, cache, on_progress, workspace.sprints_dir)
    _write_indexes(generated, cache)
    nav = _nav(nav_sprints, data.reading.published)
    effective = config.effective_config(
        user,
        title=data.title,
        docs_dir=docs_dir,
        site_dir=workspace.site_dir,
        nav=nav,
        source_root=workspace.root,
        author=data.author,
        url=data.site_url,
    )
    config.write_overrides(source_dir, user, workspace.root, config.giscus_of(workspace.config.site))
    _write(
        generated.config_path,
        "# Generated by `sabbatical site build` from ../../mkdocs.yml: edit that file.\n" + config.dump(effective),
    )
    cache.prune()
    return generated


def site_url(cfg: Any, user: dict[str, Any]) -> str:
    """Where the site is published: `[site] url`, else mkdocs.yml's `site_url`, always ending in `/`."""
    url = (cfg.site.url or str(user.get("site_url") or "")).strip()
    return url if not url or url.endswith("/") else url + "/"


def _report(on_progress: Progress | None, advance: int = 0, **changes: Any) -> None:
    if on_progress is not None:
        on_progress(advance=advance, **changes)


def _copy_user_docs(user_docs: Path, docs_dir: Path, workspace: Any, problems: list[str]) -> None:
    """The researcher's own pages (an about page, say) join the generated ones; generated names win.

    Only real folders and regular files inside the workspace are copied; a symlink, a FIFO or a device
    is skipped and named in `problems`.
    """
    inside_workspace = workspace.root in user_docs.parents
    ours = (
        user_docs in (workspace.cache_dir, workspace.sprints_dir, workspace.reading_dir, workspace.site_dir)
        or workspace.cache_dir in user_docs.parents
    )
    if user_docs.is_dir() and not user_docs.is_symlink() and inside_workspace and not ours:
        shutil.copytree(
            user_docs,
            docs_dir,
            dirs_exist_ok=True,
            ignore=_unpublishable(workspace.root, problems),
            copy_function=_copy_regular(workspace.root),
        )


def _unpublishable(root: Path, problems: list[str]) -> Callable[[str, list[str]], list[str]]:
    def ignore(folder: str, names: list[str]) -> list[str]:
        skipped = []
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                problems.append(
                    f"{path.relative_to(root).as_posix()}: is a symlink or not a regular file — "
                    "it was left out of the site"
                )
                skipped.append(name)
        return skipped

    return ignore


def _copy_regular(root: Path) -> Callable[[str, str], None]:
    def copy(source: str, target: str) -> None:
        Path(target).write_bytes(paths.read_published(Path(source), root))

    return copy


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


# -- sprints --------------------------------------------------------------------------------------------
def _write_sprints(
    generated: GeneratedSite, cache: BuildCache, on_progress: Progress | None, sprints_dir: Path
) -> list[tuple[SiteSprint, list]]:
    from .notebooks import CachedRenderer

    renderer = CachedRenderer(cache)
    nav = []
    for sprint in generated.data.sprints:
        folder = generated.docs_dir / "sprints" / sprint.folder
        _copy_artifacts(generated, sprint, folder, sprints_dir / sprint.folder)
        charts = _write_charts(sprint, folder, cache, generated.problems)
        notebook_pages = _write_notebooks(generated, sprint, renderer, sprints_dir / sprint.folder)
        page = pages.sprint_page(generated.data, sprint, charts, notebook_pages)
        _write(generated.docs_dir / sprint.page, page)
        generated.pages.append(sprint.page)
        nav.append((sprint, notebook_pages))
        _report(on_progress, advance=1)
    return nav


def _copy_artifacts(generated: GeneratedSite, sprint: SiteSprint, folder: Path, sprint_root: Path) -> None:
    from .sprint_source import MAX_ARTIFACT_BYTES

    kept = []
    for artifact in sprint.artifacts:
        if artifact.size > MAX_ARTIFACT_BYTES:
            generated.problems.append(
                f"sprints/{sprint.folder}/artifacts/{artifact.name}: {pages.human_size(artifact.size)} is too large "
                "to publish (the limit is 20 MB) — it was left out; publish a smaller version"
            )
            continue
        target = folder / pages.artifact_file(artifact)
        problem = _copy_artifact(artifact.source, target, sprint_root)
        if problem:
            generated.problems.append(
                f"sprints/{sprint.folder}/artifacts/{artifact.name}: {problem} — it was left out of the site"
            )
            continue
        generated.sources[target.relative_to(generated.docs_dir).as_posix()] = artifact.source
        kept.append(artifact)
    sprint.artifacts = kept


def _copy_artifact(source: Path, target: Path, sprint_root: Path) -> str | None:
    """Publish one artifact at `target` (an SVG cleaned, an active type as its text copy); None when done."""
    from .sprint_source import MAX_ARTIFACT_BYTES

    try:
        data = paths.read_published(source, sprint_root, MAX_ARTIFACT_BYTES)
    except OSError as exc:
        return str(exc.strerror or exc)
    if active.is_svg(source.name):
        try:
            data = active.clean_svg(data)
        except active.UnsafeSvg as exc:
            return str(exc)
    _write(target, data)
    return None


def _write_charts(sprint: SiteSprint, folder: Path, cache: BuildCache, problems: list[str]) -> list[tuple[str, str]]:
    """One chart per metric and notebook (runs of different notebooks measure different things)."""
    from . import charts

    written: list[tuple[str, str]] = []
    used: set[str] = set()
    groups = charts.run_groups(sprint.runs)
    for group, runs in groups.items():
        for metric in charts.metric_names(runs):
            try:
                chart = charts.metric_chart_cached(cache, metric, runs, group if len(groups) > 1 else "")
            except Exception as exc:  # matplotlib raises many types for text it cannot lay out
                problems.append(
                    f"sprints/{sprint.folder}: the chart of {metric!r} could not be drawn "
                    f"({type(exc).__name__}) — the page shows the runs table without it"
                )
                continue
            name = chart.name
            while name in used:
                name = name[:-4] + "-1.png"
            used.add(name)
            _write(folder / "charts" / name, chart.png)
            written.append((f"charts/{name}", chart.alt))
    return written


def _write_notebooks(
    generated: GeneratedSite, sprint: SiteSprint, renderer: Any, sprint_root: Path
) -> list[tuple[str, str]]:
    from .notebooks import NotebookProblem

    written = []
    for notebook in sprint.notebooks:
        slug = pages.safe_part(notebook.name)
        page = f"sprints/{sprint.folder}/notebooks/{slug}/index.md"
        try:
            rendered = renderer.render(notebook.source, "figures")
        except NotebookProblem as exc:
            generated.problems.append(
                f"sprints/{sprint.folder}/notebooks/{notebook.source.name} {exc} — it was left out of the site"
            )
            continue
        if rendered.private:
            continue
        folder = generated.docs_dir / posix_parent(page)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in rendered.images.items():
            _write(folder / name, data)
        download = f"{slug}.ipynb"
        try:
            _write(folder / download, paths.read_published(notebook.source, sprint_root))
        except OSError as exc:
            generated.problems.append(
                f"sprints/{sprint.folder}/notebooks/{notebook.source.name}: "
                f"{exc.strerror or exc} — it was left out of the site"
            )
            continue
        title = rendered.title or f"Notebook {notebook.name}"
        _write(
            generated.docs_dir / page, pages.notebook_page(sprint, page, title, rendered.html, download, generated.data)
        )
        for path in (page, f"{posix_parent(page)}/{download}"):
            generated.sources[path] = notebook.source
        generated.pages.append(page)
        written.append((title, page))
    return written


def posix_parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


# -- indexes and navigation ---------------------------------------------------------------------------
def _write_indexes(generated: GeneratedSite, cache: BuildCache) -> None:
    from . import charts

    data, docs = generated.data, generated.docs_dir
    timeline_alt = ""
    if data.sprints:
        timeline = charts.timeline_chart_cached(cache, sorted(data.sprints, key=lambda s: s.start))
        _write(docs / pages.TIMELINE_IMAGE, timeline.png)
        timeline_alt = timeline.alt
    written = {
        "index.md": pages.home_page(data, timeline_alt),
        pages.FAILURES_PAGE: pages.entries_index(data, "failure", pages.FAILURES_PAGE),
        pages.FINDINGS_PAGE: pages.entries_index(data, "finding", pages.FINDINGS_PAGE),
    }
    if data.reading.published:
        written[pages.READING_PAGE] = pages.reading_page(data)
        written[pages.DIGEST_PAGE] = pages.digest_page(data)
    for path, text in written.items():
        _write(docs / path, text)
        generated.pages.append(path)


def _nav(sprints: list[tuple[SiteSprint, list[tuple[str, str]]]], reading: bool = True) -> list[Any]:
    sprint_entries: list[Any] = []
    for sprint, notebook_pages in sprints:
        label = pages.nav_title(f"{sprint.id} · {sprint.title}")
        if notebook_pages:
            children = [{"Overview": sprint.page}]
            children += [{pages.nav_title(title): page} for title, page in notebook_pages]
            sprint_entries.append({label: children})
        else:
            sprint_entries.append({label: sprint.page})
    nav: list[Any] = [{"Home": "index.md"}]
    if sprint_entries:
        nav.append({"Sprints": sprint_entries})
    nav += [{"Failures": pages.FAILURES_PAGE}, {"Findings": pages.FINDINGS_PAGE}]
    if reading:
        nav.append({"Reading": [{"Topics": pages.READING_PAGE}, {"Latest digest": pages.DIGEST_PAGE}]})
    return nav
