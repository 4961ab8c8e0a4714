"""`site build`: generate the pages, run the site engine, scan for secrets, then publish into site/.

The order matters for safety. The generated pages (rendered notebooks included) are scanned before the
engine runs; the engine builds into a staging folder (.sabbatical/site-build), which is scanned again;
only a clean build replaces `site/`. So a secret never reaches `site/`: the previous site stays as it was
and the error names the files. Before anything is written, every folder the build writes or deletes
(`.sabbatical/`, its build, cache and source folders, `site/`) is checked: a symlink or a folder resolving
outside the workspace stops the build with nothing touched (`paths.check_build_folders`), and every
delete goes through `paths.remove_tree`, so mkdocs only ever cleans a staging folder the build just made.
The engine is mkdocs, run in-process through its Python API (imported lazily) on the generated `mkdocs.yml`; `mkdocs build -f .sabbatical/site-src/mkdocs.yml` builds the same
pages by hand, and any engine that reads that config can replace it.

A rebuild whose engine inputs (the generated sources, their hooks, the engine's packages, our cleaning code)
are unchanged, and whose `site/` still holds exactly what the last build published, leaves `site/` as it
is; both secret scans still run, skipping files already found clean (`incremental.py`).

Problems met while gathering (a broken sprint file, a broken notebook, an unreachable tracking store) do
not stop the build: the rest is published, then `PartialFailure` reports them (exit code 3).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PartialFailure, SecretsInSite, SiteBuildError
from . import config, incremental, paths, sanitise, secrets

Progress = Callable[..., None]


@dataclass
class BuildReport:
    site_dir: Path
    index: Path
    pages: int
    sprints: int
    files: int
    size_bytes: int
    seconds: float
    engine_seconds: float
    problems: list[str] = field(default_factory=list)


def build_site(workspace: Any, *, strict: bool = True, on_progress: Progress | None = None) -> BuildReport:
    """Build and publish the site; raises PartialFailure (after publishing) when something was left out."""
    from .generate import generate_site

    started = time.perf_counter()
    paths.check_build_folders(workspace)
    generated = generate_site(workspace, on_progress)
    memo = incremental.ScanMemo(workspace.site_cache_dir)
    _refuse_secrets(memo.scan_tree(generated.docs_dir), generated.docs_dir, generated.sources)
    user = config.load_user_config(generated.config_path)
    inputs = incremental.engine_inputs_key(generated.source_dir, _hooks_of(user), strict)
    engine_started = time.perf_counter()
    if incremental.site_is_current(workspace.site_cache_dir, inputs, workspace.site_dir):
        _refuse_secrets(memo.scan_tree(workspace.site_dir), workspace.site_dir, _built_sources(generated.sources))
    else:
        incremental.forget_site(workspace.site_cache_dir)
        _build_and_publish(workspace, generated, memo, _theme_name(user), strict)
        incremental.record_site(workspace.site_cache_dir, inputs, workspace.site_dir)
    engine_seconds = time.perf_counter() - engine_started
    memo.save()
    files = [path for path in workspace.site_dir.rglob("*") if path.is_file()]
    report = BuildReport(
        site_dir=workspace.site_dir,
        index=workspace.site_dir / "index.html",
        pages=len(generated.pages),
        sprints=len(generated.data.sprints),
        files=len(files),
        size_bytes=sum(path.stat().st_size for path in files),
        seconds=time.perf_counter() - started,
        engine_seconds=engine_seconds,
        problems=list(generated.problems),
    )
    if report.problems:
        count = len(report.problems)
        raise PartialFailure(
            f"built the site at {report.index}, but {count} thing{'s' if count != 1 else ''} "
            "could not be published; fix them and build again",
            report.problems,
        )
    return report


def _build_and_publish(workspace: Any, generated: Any, memo: incremental.ScanMemo, theme: str, strict: bool) -> None:
    """Run the engine into a fresh staging folder, clean and scan what it wrote, then publish it as site/."""
    staging = workspace.site_staging_dir
    paths.fresh_folder(staging, workspace.root)  # mkdocs empties its site_dir: only ever this one
    run_engine(generated.config_path, staging, strict=strict)
    sanitise.clean_built_pages(staging, comments=generated.data.comments)  # the final allowlist pass
    memo.use_theme_package(incremental.theme_package_dirs(theme, workspace.root))
    hits = memo.scan_tree(staging)
    if hits:
        try:
            _refuse_secrets(hits, staging, _built_sources(generated.sources))
        finally:
            paths.remove_tree(staging, workspace.root)
    publish(staging, workspace.site_dir, workspace.root)


def _hooks_of(user: dict[str, Any]) -> list[str]:
    hooks = user.get("hooks") or []
    return [str(hook) for hook in hooks] if isinstance(hooks, list) else [str(hooks)]


def _theme_name(user: dict[str, Any]) -> str:
    theme = user.get("theme")
    return str(theme.get("name") or "") if isinstance(theme, dict) else str(theme or "")


def _refuse_secrets(hits: list[secrets.SecretHit], root: Path, sources: dict[str, Path]) -> None:
    if not hits:
        return
    lines = []
    for line in secrets.describe(hits, root):
        relative = line.split(":", 1)[0]
        origin = sources.get(relative)
        lines.append(f"{line} (from {origin})" if origin else line)
    raise SecretsInSite(lines)


def _built_sources(sources: dict[str, Path]) -> dict[str, Path]:
    """Map built files back to what they came from: a page's HTML to its source, copied files to theirs."""
    built = dict(sources)
    for docs_path, origin in sources.items():
        if docs_path.endswith("index.md"):
            built[docs_path[: -len(".md")] + ".html"] = origin
    return built


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0][:300])


def run_engine(config_path: Path, site_dir: Path, *, strict: bool = True) -> list[str]:
    """Run mkdocs on `config_path` into `site_dir`; return its warnings (strict mode fails on any)."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # a notice meant for mkdocs' own CLI, not for us
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    previous = logger.propagate
    logger.addHandler(collect)
    logger.propagate = False  # the library never prints; warnings are returned or raised
    try:
        config = load_config(config_file=str(config_path), strict=strict, site_dir=str(site_dir))
        config.plugins.on_startup(command="build", dirty=False)
        try:
            build(config)
        finally:
            config.plugins.on_shutdown()
    except MkDocsException as exc:
        details = collect.messages or [str(exc)]
        raise SiteBuildError(
            f"the site engine stopped: {details[0]}"
            + (" — or build with --no-strict to publish despite warnings" if strict else ""),
            details,
        ) from None
    finally:
        logger.removeHandler(collect)
        logger.propagate = previous
    return collect.messages


def publish(staging: Path, site_dir: Path, root: Path) -> None:
    """Replace site/ with the staging build, as close to atomically as two renames allow (all inside `root`)."""
    old = site_dir.with_name(f"{paths.OLD_SITE_PREFIX}{site_dir.name}-old")
    for folder in (staging, site_dir, old):
        paths.check_folder(folder, root)
    paths.remove_tree(old, root)
    if site_dir.exists():
        site_dir.rename(old)
    staging.rename(site_dir)
    paths.remove_tree(old, root)
