"""kill -9 during `site build`: the published site/ is never half-replaced, and a re-run completes it.

The real CLI builds a workspace with sprints, runs and notebooks in a subprocess and is killed three
times: during the first (cold) build while notebooks are rendered into the build cache, then during a
rebuild while the site engine writes into its staging folder, and once more near the end of the
engine's work. Each kill leaves the previously published site/ exactly as it was (the pile passes its
integrity check too), and a build run to the end publishes the same files as an uninterrupted build of
the same sources.
"""

from __future__ import annotations

import re
import shutil
import time

import pytest

from sabbatical.sprints.model import Sprint
from sabbatical.workspace import Workspace
from tests.faults.piles import assert_intact
from tests.faults.processes import kill_when, run_cli, start_cli, tree_digest
from tests.faults.sprints import sprint_workspace

pytestmark = pytest.mark.slow


def has_files(folder, name="*", since: float = 0.0):
    """A kill condition: `folder` holds a file called `name` written after `since` (a killed build's
    leftovers do not count), while the build may be emptying the folder."""

    def holds() -> bool:
        try:
            return any(path.is_file() and path.stat().st_mtime >= since for path in folder.rglob(name))
        except OSError:
            return False

    return holds


# What a build writes from the clock rather than from its sources: the digest's "Generated … UTC", the
# sitemap's dates, an open sprint's "day N of M". Two builds a minute (or a midnight) apart differ there.
_CLOCK = re.compile(rb"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?|day \d+ of|\d+ days? past")


def site_contents(site) -> dict[str, bytes]:
    """Every file of a built site, with the clock's marks blanked (compressed files by name only)."""
    return {
        str(path.relative_to(site)): b"" if path.suffix == ".gz" else _CLOCK.sub(b"<clock>", path.read_bytes())
        for path in sorted(site.rglob("*"))
        if path.is_file()
    }


def published(workspace) -> dict[str, str]:
    """What site/ holds; if a kill fell between the two renames of publishing, the kept previous site."""
    site = workspace.site_dir if workspace.site_dir.exists() else workspace.site_dir.with_name(".site-old")
    return tree_digest(site) if site.exists() else {}


def test_kills_during_site_build_leave_the_published_site_intact_and_a_rerun_completes(tmp_path):
    workspace = sprint_workspace(tmp_path / "killed")
    staging = workspace.cache_dir / "site-build"
    cold = start_cli(workspace, "site", "build")
    assert kill_when(cold, has_files(workspace.cache_dir / "site-cache")), "the cold build ended before the kill"
    assert not workspace.site_dir.exists()
    assert_intact(workspace.pile_path)
    first = run_cli(workspace, "site", "build")
    assert first.returncode == 0, first.stderr

    Sprint(workspace, "01").log("finding", "warm-up of 100 steps halves the time to converge")
    names = ["*", "search_index.json"]  # the engine's first file, then one it writes near its end
    landed = 0
    for _attempt in range(8):
        if landed == len(names):
            break
        before = published(workspace)
        started = time.time()
        process = start_cli(workspace, "site", "build")
        if kill_when(process, has_files(staging, names[landed], since=started)):
            landed += 1
            assert published(workspace) == before
        assert_intact(workspace.pile_path)
    assert landed == len(names), "the rebuilds ended before the kills"

    reference = Workspace(
        shutil.copytree(
            workspace.root,
            tmp_path / "uninterrupted",
            ignore=shutil.ignore_patterns("site", ".site-old", ".sabbatical"),
        )
    )
    for built in (workspace, reference):
        done = run_cli(built, "site", "build")
        assert done.returncode == 0, done.stderr
    assert site_contents(workspace.site_dir) == site_contents(reference.site_dir)
    assert not staging.exists() and not workspace.site_dir.with_name(".site-old").exists()
    page = (workspace.site_dir / "sprints" / Sprint(workspace, "01").name / "index.html").read_text()
    assert "warm-up of 100 steps halves the time to converge" in page
