"""Broken sprints: one sprint's sprint.md with front matter that is not YAML, a half-written notebook and a
journal line cut off mid-write, and an MLflow store that cannot be reached.

`sprint list` lists every sprint it can read, names the broken one in one line and exits 3 (partial);
nothing on disk changes. With the store unreachable, `sprint list` (which counts runs from the journals)
is unaffected, `sprint status` says in one warning line that the runs are missing and shows the rest (exit 0), and
`site build` publishes both sprints' pages and exits 3 naming the store.
"""

from __future__ import annotations

import json

import pytest

from sabbatical.errors import ExitCode
from sabbatical.sprints.model import Sprint
from tests.faults.processes import assert_clean_failure, error_lines, tree_digest
from tests.faults.sprints import QUESTIONS, sprint_workspace

pytestmark = pytest.mark.slow


@pytest.fixture
def workspace(tmp_path):
    return sprint_workspace(tmp_path / "ws", sprints=2)


def break_front_matter(sprint: Sprint) -> None:
    text = sprint.sprint_md.read_text(encoding="utf-8")
    sprint.sprint_md.write_text(text.replace("---\n", "---\nid: [never closed\n", 1), encoding="utf-8")


def half_write(sprint: Sprint) -> None:
    good = (sprint.notebooks_dir / "03-results.ipynb").read_bytes()
    (sprint.notebooks_dir / "04-half-written.ipynb").write_bytes(good[: len(good) // 3])
    with sprint.journal_path.open("a", encoding="utf-8") as journal:
        journal.write('{"time": "2030-01-01T00:00:00Z", "kind": "finding", "text": "cut o')


def test_a_broken_sprint_md_is_named_and_the_other_sprints_are_still_listed(workspace, cli):
    broken, other = Sprint(workspace, "01"), Sprint(workspace, "02")
    half_write(other)
    break_front_matter(broken)
    before = tree_digest(workspace.sprints_dir)

    listing = cli("--workspace", workspace.root, "sprint", "list")
    assert listing.exit_code == ExitCode.PARTIAL, listing.stderr
    assert_clean_failure(listing.stderr)
    assert error_lines(listing.stderr) == ["Error: listed 1 sprint(s); 1 could not be read"]
    named = [line for line in listing.stderr.splitlines() if line.startswith("  - ")]
    assert len(named) == 1 and f"sprints/{broken.name}/sprint.md" in named[0] and "not valid YAML" in named[0]
    assert QUESTIONS[1][:20] in listing.stdout and QUESTIONS[0][:20] not in listing.stdout

    as_json = cli("--workspace", workspace.root, "sprint", "list", "--json")
    assert as_json.exit_code == ExitCode.PARTIAL
    rows = json.loads(as_json.stdout)
    assert [row["id"] for row in rows] == ["02"]
    assert rows[0]["findings"] == 1 and rows[0]["failures"] == 1  # the cut-off journal line is skipped
    assert tree_digest(workspace.sprints_dir) == before  # nothing repaired, moved or lost


def test_an_unreachable_mlflow_store_costs_the_runs_and_nothing_else(workspace, cli, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    config = workspace.config_path.read_text().replace('uri = ""', f'uri = "sqlite:///{blocker}/mlflow.db"', 1)
    workspace.config_path.write_text(config)
    before = tree_digest(workspace.sprints_dir)

    listing = cli("--workspace", workspace.root, "sprint", "list", "--json")
    assert listing.exit_code == 0, listing.stderr
    assert [row["id"] for row in json.loads(listing.stdout)] == ["01", "02"]  # runs come from the journals

    status = cli("--workspace", workspace.root, "sprint", "status", "01")
    assert status.exit_code == ExitCode.OK  # a status without its runs table still answers, with a warning
    assert_clean_failure(status.stderr)
    warnings = [line for line in status.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "runs" in warnings[0] and str(blocker) in warnings[0], status.stderr
    assert QUESTIONS[0] in status.stdout and "1 failures, 1 findings" in status.stdout

    built = cli("--workspace", workspace.root, "site", "build")
    assert built.exit_code == ExitCode.PARTIAL, built.stderr
    assert_clean_failure(built.stderr)
    assert any("MLflow runs could not be read" in line for line in built.stderr.splitlines()), built.stderr
    for number in ("01", "02"):
        page = (workspace.site_dir / "sprints" / Sprint(workspace, number).name / "index.html").read_text()
        assert "diverged" in page and "holds" in page
    assert tree_digest(workspace.sprints_dir) == before
