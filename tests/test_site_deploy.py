"""Publishing and hearing back: `site deploy` to a local bare repository or a folder, and
`sprint feedback import` of the JSON `gh` prints into the sprint journals, de-duplicated."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta

import pytest

from sabbatical.errors import ExitCode
from tests.helpers.site_workspace import add_sprint

pytestmark = pytest.mark.slow


def git(*args, cwd) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_identity(monkeypatch):
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Ada")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ada@example.org")


@pytest.fixture
def built(workspace, cli):
    add_sprint(workspace, "Does deploying lose files?", slug="deploy", start=date.today() - timedelta(days=1))
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0
    return workspace


def test_deploy_commits_the_built_site_to_gh_pages_and_pushes_it_to_the_remote(built, cli, tmp_path, git_identity):
    bare = tmp_path / "remote.git"
    git("init", "--bare", "-q", str(bare), cwd=tmp_path)
    git("init", "-q", cwd=built.root)
    git("remote", "add", "origin", str(bare), cwd=built.root)
    result = cli("--workspace", built.root, "site", "deploy")
    assert result.exit_code == 0, result.stderr
    assert "origin/gh-pages" in result.stdout
    files = set(git("ls-tree", "-r", "--name-only", "gh-pages", cwd=bare).split())
    built_files = {p.relative_to(built.site_dir).as_posix() for p in built.site_dir.rglob("*") if p.is_file()}
    assert files == built_files | {".nojekyll"}
    assert "Does deploying lose files?" in git("show", "gh-pages:index.html", cwd=bare)
    again = cli("--workspace", built.root, "site", "deploy")  # a second deploy is a second commit on top
    assert again.exit_code == 0, again.stderr
    assert len(git("rev-list", "gh-pages", cwd=bare).split()) == 2


def test_deploy_without_a_repository_or_remote_says_what_to_do(built, cli, git_identity):
    outside = cli("--workspace", built.root, "site", "deploy")
    assert outside.exit_code == ExitCode.ERROR and "not in a git repository" in outside.stderr
    git("init", "-q", cwd=built.root)
    no_remote = cli("--workspace", built.root, "site", "deploy")
    assert no_remote.exit_code == ExitCode.ERROR and "no remote 'origin'" in no_remote.stderr


def test_deploy_to_a_folder_replaces_an_earlier_deploy_and_refuses_other_folders(built, cli, tmp_path):
    target = tmp_path / "public"
    first = cli("--workspace", built.root, "site", "deploy", "--to", target)
    assert first.exit_code == 0, first.stderr
    assert (target / "index.html").read_text() == built.site_index_path.read_text()
    (target / "stale.html").write_text("old")
    assert cli("--workspace", built.root, "site", "deploy", "--to", target).exit_code == 0
    assert not (target / "stale.html").exists() and (target / "index.html").is_file()
    mine = tmp_path / "my-files"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    refused = cli("--workspace", built.root, "site", "deploy", "--to", mine)
    assert refused.exit_code == ExitCode.ERROR and "nothing was changed" in refused.stderr
    assert (mine / "thesis.tex").read_text() == "precious"


def test_deploy_before_a_build_says_build_first(workspace, cli, tmp_path):
    result = cli("--workspace", workspace.root, "site", "deploy", "--to", tmp_path / "out")
    assert result.exit_code == ExitCode.ERROR and "sabbatical site build" in result.stderr


# -- feedback import --------------------------------------------------------------------------------------
def _issues(first, second) -> list[dict]:
    """What `gh issue list --json number,title,body,author,url,createdAt,comments` prints."""
    return [
        {
            "number": 7,
            "title": f"Feedback on Sprint 01 · {first.meta.question}",
            "body": f"About https://me.example.org/s/sprints/{first.name}/\n\nTry a cosine schedule.",
            "author": {"login": "grace"},
            "url": "https://github.com/me/s/issues/7",
            "createdAt": "2026-12-01T10:00:00Z",
            "comments": [
                {
                    "author": {"login": "alan"},
                    "body": "Seconded, and <script>alert(1)</script> too.",
                    "url": "https://github.com/me/s/issues/7#issuecomment-1",
                    "createdAt": "2026-12-02T09:00:00Z",
                },
                {"author": {"login": "bot"}, "body": "   ", "createdAt": "2026-12-02T09:30:00Z"},
            ],
        },
        {
            "number": 8,
            "title": "A general remark",
            "body": "The site reads well on my phone.",
            "author": {"login": "linus"},
            "url": "https://github.com/me/s/issues/8",
            "createdAt": "2026-12-03T08:00:00Z",
            "comments": [],
        },
    ]


def test_feedback_import_logs_each_reply_in_the_sprint_it_names_once(workspace, cli, tmp_path):
    first = add_sprint(workspace, "Does warm-up help?", slug="warm", start=date.today() - timedelta(days=20))
    second = add_sprint(workspace, "Can retrieval replace fine-tuning?", slug="retrieval", start=date.today())
    export = tmp_path / "issues.json"
    export.write_text(json.dumps(_issues(first, second)))
    result = cli("--workspace", workspace.root, "sprint", "feedback", "import", export, "--sprint", second.id)
    assert result.exit_code == 0, result.stderr
    assert "Imported 3 replies (0 already in the journal, 1 empty)" in result.stdout
    in_first = [(e.source, e.text) for e in first.journal() if e.kind == "feedback"]
    assert [source for source, _ in in_first] == ["grace", "alan"]
    assert "Try a cosine schedule." in in_first[0][1]
    in_second = [(e.source, e.text) for e in second.journal() if e.kind == "feedback"]
    assert in_second == [("linus", "The site reads well on my phone.")]
    again = cli("--workspace", workspace.root, "sprint", "feedback", "import", export, "--sprint", second.id)
    assert again.exit_code == 0 and "Imported 0 replies (3 already in the journal" in again.stdout
    assert len([e for e in first.journal() if e.kind == "feedback"]) == 2


def test_feedback_import_reads_discussions_from_gh_api_graphql(workspace, cli, tmp_path):
    sprint = add_sprint(workspace, "Do comments arrive?", slug="comments", start=date.today())
    export = tmp_path / "discussions.json"
    export.write_text(
        json.dumps(
            {
                "data": {
                    "repository": {
                        "discussions": {
                            "nodes": [
                                {
                                    "title": f"sprints/{sprint.name}/",
                                    "body": "",
                                    "author": {"login": "giscus-bot"},
                                    "url": "https://github.com/me/s/discussions/3",
                                    "createdAt": "2026-12-04T10:00:00Z",
                                    "comments": {
                                        "nodes": [
                                            {
                                                "body": "Which seed did the third run use?",
                                                "author": {"login": "ada"},
                                                "url": "https://github.com/me/s/discussions/3#discussioncomment-9",
                                                "createdAt": "2026-12-04T11:00:00Z",
                                            }
                                        ]
                                    },
                                }
                            ]
                        }
                    }
                }
            }
        )
    )
    result = cli("--workspace", workspace.root, "sprint", "feedback", "import", export)
    assert result.exit_code == 0, result.stderr
    assert [(e.source, e.text) for e in sprint.journal() if e.kind == "feedback"] == [
        ("ada", "Which seed did the third run use?")
    ]


def test_feedback_import_of_a_file_that_is_not_a_gh_export_is_one_clear_error(workspace, cli, tmp_path):
    add_sprint(workspace, "Is bad input lost?", slug="bad", start=date.today())
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cli("--workspace", workspace.root, "sprint", "feedback", "import", bad)
    assert result.exit_code != 0 and "is not JSON" in result.stderr and "gh issue list --json" in result.stderr
    shape = tmp_path / "shape.json"
    shape.write_text(json.dumps({"hello": "world"}))
    result = cli("--workspace", workspace.root, "sprint", "feedback", "import", shape)
    assert result.exit_code != 0 and "no issues or discussions" in result.stderr
