"""Corrupt notebooks in a sprint: the site is built without them, each named in one line, nothing lost.

A sprint gets three notebooks that cannot be read (JSON cut off mid-file, JSON that is not a notebook,
binary garbage) next to its good ones, and a journal line cut off mid-write. `site build` publishes
every sprint, every good notebook and every readable journal entry, exits 3 and names each broken
notebook in one line, with no traceback; the broken files are left byte for byte as they were.
`sprint status` and `sprint list` work as before and still list the broken notebooks.
"""

from __future__ import annotations

import json

import pytest

from sabbatical.errors import ExitCode
from sabbatical.sprints.model import Sprint
from tests.faults.processes import assert_clean_failure, error_lines, tree_digest
from tests.faults.sprints import sprint_workspace

pytestmark = pytest.mark.slow

GOOD = ["01-explore", "02-experiment", "03-results"]


def add_broken_notebooks(sprint) -> dict[str, bytes]:
    good = (sprint.notebooks_dir / "03-results.ipynb").read_bytes()
    broken = {
        "97-cut-off.ipynb": good[: len(good) // 2],
        "98-not-a-notebook.ipynb": json.dumps({"cells": "none", "hello": [1, 2]}).encode(),
        "99-garbage.ipynb": bytes(range(256)) * 4,
    }
    for name, data in broken.items():
        (sprint.notebooks_dir / name).write_bytes(data)
    return broken


def test_broken_notebooks_are_named_and_left_out_and_the_rest_is_published(cli, tmp_path):
    workspace = sprint_workspace(tmp_path / "ws", sprints=2)
    sprint, other = Sprint(workspace, "01"), Sprint(workspace, "02")
    broken = add_broken_notebooks(sprint)
    with sprint.journal_path.open("a", encoding="utf-8") as journal:
        journal.write('{"time": "2025-01-01T00:00:00Z", "kind": "finding", "text": "cut o')
    sprint_files = tree_digest(sprint.folder)

    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert_clean_failure(result.stderr)
    assert error_lines(result.stderr)[0].startswith("Error: built the site at ")
    named = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(named) == len(broken), named
    for name in broken:
        assert sum(f"sprints/{sprint.name}/notebooks/{name}" in line for line in named) == 1, (name, named)
    assert tree_digest(sprint.folder) == sprint_files

    for published in (sprint, other):
        folder = workspace.site_dir / "sprints" / published.name
        page = (folder / "index.html").read_text()
        assert published.meta.question in page and "diverged" in page and "holds" in page
        for stem in GOOD:
            assert (folder / "notebooks" / stem / "index.html").is_file(), (published.name, stem)
    for name in broken:
        assert not (workspace.site_dir / "sprints" / sprint.name / "notebooks" / name.removesuffix(".ipynb")).exists()

    status = cli("--workspace", workspace.root, "sprint", "status", "01")
    assert status.exit_code == 0 and status.stderr == "", status.stderr
    for name in [f"{stem}.ipynb" for stem in GOOD] + list(broken):
        assert name in status.stdout
    assert "1 failures, 1 findings" in status.stdout
    listing = cli("--workspace", workspace.root, "sprint", "list")
    assert listing.exit_code == 0 and listing.stderr == ""
    assert cli("--workspace", workspace.root, "site", "check").exit_code == 0
    assert tree_digest(sprint.folder) == sprint_files
