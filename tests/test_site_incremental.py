"""Rebuilds skip what did not change, and never serve a stale or tampered site.

A build with nothing changed leaves `site/` as it is (the engine does not run); a change to a page is
published; a built file deleted, edited or replaced by a link makes the next build a real one; a secret
that becomes a secret between two builds (a new environment value) is still refused, because a
file is only known clean for the same scanner and the same secret values.
"""

from __future__ import annotations

import os

import pytest

from sabbatical.errors import SecretsInSite
from tests.helpers.site_workspace import add_sprint

pytestmark = pytest.mark.slow

MARKER = "zebra-quasar-9913-lantern"


def _build(workspace):
    from sabbatical.site.build import build_site

    return build_site(workspace)


def _stamps(site_dir):
    return {
        path.relative_to(site_dir).as_posix(): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in site_dir.rglob("*")
        if path.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One workspace for the module, built once; each test leaves it built and undamaged."""
    from sabbatical.workspace import init_workspace

    workspace, _ = init_workspace(tmp_path_factory.mktemp("incremental") / "ws", title="Rebuild sabbatical")
    sprint = add_sprint(workspace, "Does a rebuild skip what did not change?", slug="rebuild")
    sprint.log("finding", f"the first finding mentions {MARKER}")
    _build(workspace)
    return workspace, sprint


def test_an_unchanged_workspace_leaves_the_site_untouched_and_a_change_is_published(built):
    workspace, sprint = built
    before = _stamps(workspace.site_dir)
    _build(workspace)
    assert _stamps(workspace.site_dir) == before  # not one file written again: the engine did not run

    sprint.log("finding", "a second finding, written after the first build")
    _build(workspace)
    page = (workspace.site_dir / "sprints" / sprint.name / "index.html").read_text()
    assert "a second finding, written after the first build" in page
    assert "a second finding" in (workspace.site_dir / "findings" / "index.html").read_text()
    assert _stamps(workspace.site_dir) != before


def test_a_damaged_site_is_built_again_in_full(built, tmp_path):
    workspace, _ = built
    target = workspace.site_dir / "failures" / "index.html"
    original = target.read_bytes()
    outside = tmp_path / "outside.html"
    outside.write_text("<p>not ours</p>")
    for damage in ("delete", "edit", "link", "extra"):
        if damage == "delete":
            target.unlink()
        elif damage == "edit":
            target.write_bytes(original.replace(b"</body>", b"<p>TAMPERED</p></body>"))
        elif damage == "link":
            target.unlink()
            os.symlink(outside, target)
        else:
            (workspace.site_dir / "planted.html").write_text("<p>planted</p>")
        _build(workspace)
        assert not target.is_symlink() and target.read_bytes() == original, damage
        assert not (workspace.site_dir / "planted.html").exists()
    assert outside.read_text() == "<p>not ours</p>"


def test_a_value_that_became_a_secret_is_refused_on_an_unchanged_rebuild(built, monkeypatch):
    workspace, _ = built
    monkeypatch.setenv("RESEARCH_API_TOKEN", MARKER)
    with pytest.raises(SecretsInSite) as refused:
        _build(workspace)
    assert MARKER not in str(refused.value) + "".join(refused.value.files)
    monkeypatch.delenv("RESEARCH_API_TOKEN")
    _build(workspace)  # the scan memo remembers only clean results: with the secret gone, it builds


def test_the_scan_memo_and_stamp_hold_no_secret_and_a_broken_stamp_means_a_full_build(built, monkeypatch):
    workspace, _ = built
    monkeypatch.setenv("ANOTHER_SECRET_KEY", "a-value-that-is-long-enough")
    _build(workspace)
    cache = workspace.site_cache_dir
    for name in ("site-stamp.json", "clean-scans.json"):
        assert b"a-value-that-is-long-enough" not in (cache / name).read_bytes()
    (cache / "site-stamp.json").write_text("{not json")
    before = _stamps(workspace.site_dir)
    _build(workspace)
    assert _stamps(workspace.site_dir) != before  # a real build replaced site/
    assert (workspace.site_dir / "index.html").is_file()
