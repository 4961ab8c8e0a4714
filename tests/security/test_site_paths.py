"""`site build` never deletes, reads or publishes anything outside the workspace, attacked as the breaks did.

Deleting: a symlinked `.sabbatical/`, `site-build`, `site-cache` (or a folder inside it), `site-src` or
`site/` points at a folder outside the workspace holding a canary; the build refuses in one line and the
canary, and the last good site, are as they were. Publishing: a symlinked artifact, a symlinked
`artifacts/` folder, a symlinked notebook and a symlinked caption point at a fake OpenSSH private key
outside; a FIFO sits among the artifacts. Each is left out of the built site, the build says which (exit
3), and nothing of the key is published. A symlink that stays inside the sprint still publishes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sabbatical.errors import ExitCode, UnsafeSitePath
from tests.helpers.site_workspace import add_artifact, add_sprint, png_bytes, write_notebook

pytestmark = pytest.mark.slow

KEY_MARKER = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-FAKE-KEY-MARKER"
FAKE_KEY = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n"


def _outside(tmp_path: Path) -> Path:
    """A folder outside the workspace with a canary file and a sub-folder (what a cache prune would delete)."""
    outside = tmp_path / "outside"
    (outside / "keep-me").mkdir(parents=True)
    (outside / "canary.txt").write_text("still here")
    (outside / "keep-me" / "notes.txt").write_text("mine")
    (outside / "id_ed25519").write_text(FAKE_KEY)
    return outside


def _contents(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def _site(workspace) -> dict[str, bytes]:
    return _contents(workspace.site_dir) if workspace.site_dir.is_dir() else {}


def _replace_with_link(path: Path, target: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


# -- nothing outside is deleted ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "folder",
    [
        ".sabbatical",
        ".sabbatical/site-build",
        ".sabbatical/site-cache",
        ".sabbatical/site-cache/notebooks",
        ".sabbatical/site-src",
        ".sabbatical/site-src/docs",
        "site",
        ".site-old",
    ],
)
def test_a_symlinked_build_folder_stops_the_build_and_nothing_is_touched(workspace, cli, tmp_path, folder):
    sprint = add_sprint(workspace, "Does a symlink survive the build?", slug="links")
    write_notebook(sprint.notebooks_dir / "03-figures.ipynb", image=png_bytes())
    first = cli("--workspace", workspace.root, "site", "build")
    assert first.exit_code == 0, first.stderr
    outside = _outside(tmp_path)
    before_outside, before_site = _contents(outside), _site(workspace)
    link = workspace.root / folder
    _replace_with_link(link, outside)
    before_site = before_site if folder != "site" else {}

    result = cli("--workspace", workspace.root, "site", "build")

    assert result.exit_code == ExitCode.ERROR, result.stdout + result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert str(link) in message and "symlink" in message
    assert _contents(outside) == before_outside  # the canary, the sub-folder and the key: all as they were
    if folder != "site":
        assert _site(workspace) == before_site  # the last good site is still published, unchanged


def test_the_guard_refuses_a_link_and_a_path_outside_and_deletes_inside(tmp_path):
    from sabbatical.site.paths import remove_tree

    root = tmp_path / "ws"
    inside = root / "inside"
    (inside / "deep").mkdir(parents=True)
    outside = _outside(tmp_path)
    os.symlink(outside, root / "link")
    with pytest.raises(UnsafeSitePath, match="is a symlink"):
        remove_tree(root / "link", root)
    with pytest.raises(UnsafeSitePath, match="outside the workspace"):
        remove_tree(outside / "keep-me", root)
    with pytest.raises(UnsafeSitePath, match="outside the workspace"):
        remove_tree(root / "link" / "keep-me", root)  # inside by name, outside once resolved
    assert (outside / "keep-me" / "notes.txt").read_text() == "mine"
    remove_tree(inside, root)
    assert not inside.exists() and (root / "link").is_symlink()
    remove_tree(root / "never-was", root)  # nothing to delete is not an error


def test_a_planted_link_inside_a_cache_entry_is_never_read_or_followed(workspace, cli, tmp_path):
    sprint = add_sprint(workspace, "Does the cache read through links?", slug="cache")
    write_notebook(sprint.notebooks_dir / "03-figures.ipynb", image=png_bytes())
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0
    outside = _outside(tmp_path)
    cache = workspace.cache_dir / "site-cache"
    images = sorted(cache.rglob("*.png"))  # notebook figures and the timeline chart
    assert any("notebooks" in path.parts for path in images) and any("charts" in path.parts for path in images)
    for image in images:  # swap each cached figure for a link to the key, and plant a link to a folder
        image.unlink()
        os.symlink(outside / "id_ed25519", image)
        os.symlink(outside / "keep-me", image.parent / "elsewhere")
    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == 0, result.stderr
    published = b"".join(_site(workspace).values())
    assert KEY_MARKER.encode() not in published
    assert _contents(outside)["keep-me/notes.txt"] == b"mine"
    assert not [path for path in cache.rglob("*") if path.is_symlink()]  # the bad entry was made again


# -- nothing outside is published ------------------------------------------------------------------------
def test_links_out_of_the_sprint_and_special_files_are_left_out_and_named(workspace, cli, tmp_path):
    outside = _outside(tmp_path)
    (outside / "stolen").mkdir()
    (outside / "stolen" / "id_rsa").write_text(FAKE_KEY)
    write_notebook(outside / "elsewhere.ipynb", text_output=KEY_MARKER)
    linked = add_sprint(workspace, "Is a symlinked artifact published?", slug="linked")
    add_artifact(linked, "real.png", png_bytes(), caption="A real figure")
    os.symlink(outside / "id_ed25519", linked.artifacts_dir / "id_ed25519.txt")
    os.symlink(outside / "stolen", linked.artifacts_dir / "stolen-folder")
    add_artifact(linked, "captioned.csv", b"a,b\n1,2\n")
    os.symlink(outside / "id_ed25519", linked.artifacts_dir / "captioned.csv.caption.txt")
    os.mkfifo(linked.artifacts_dir / "pipe.csv")
    os.symlink(outside / "elsewhere.ipynb", linked.notebooks_dir / "09-elsewhere.ipynb")
    (linked.folder / "data").mkdir()
    (linked.folder / "data" / "table.csv").write_text("x,y\n3,4\n")
    os.symlink(linked.folder / "data" / "table.csv", linked.artifacts_dir / "table.csv")  # stays in the sprint
    whole = add_sprint(workspace, "Is a symlinked artifacts folder published?", slug="folder")
    _replace_with_link(whole.artifacts_dir, outside / "stolen")

    result = cli("--workspace", workspace.root, "site", "build")

    assert result.exit_code == ExitCode.PARTIAL, result.stdout + result.stderr
    for named in (
        f"sprints/{linked.name}/artifacts/id_ed25519.txt",
        f"sprints/{linked.name}/artifacts/stolen-folder",
        f"sprints/{linked.name}/artifacts/captioned.csv.caption.txt",
        f"sprints/{linked.name}/artifacts/pipe.csv",
        f"sprints/{linked.name}/notebooks/09-elsewhere.ipynb",
        f"sprints/{whole.name}/artifacts",
    ):
        assert named in result.stderr, (named, result.stderr)
    assert "outside the sprint folder" in result.stderr and "FIFO" in result.stderr
    site = _site(workspace)
    assert not [name for name, data in site.items() if KEY_MARKER.encode() in data or b"PRIVATE KEY" in data]
    assert not [
        name for name in site if "id_ed25519" in name or "id_rsa" in name or "elsewhere" in name or "pipe" in name
    ]
    folder = workspace.site_dir / "sprints" / linked.name
    assert (folder / "artifacts" / "real.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "artifacts" / "table.csv").read_text() == "x,y\n3,4\n"  # a link inside the sprint is fine
    assert "A real figure" in (folder / "index.html").read_text()
    assert (workspace.site_dir / "sprints" / whole.name / "index.html").is_file()  # the sprint itself is published
    assert _contents(outside)["id_ed25519"] == FAKE_KEY.encode()


def test_a_symlinked_page_in_the_researchers_docs_is_not_published(workspace, cli, tmp_path):
    outside = _outside(tmp_path)
    docs = workspace.root / "docs"
    docs.mkdir()
    (docs / "about.md").write_text("# About\n\nHello.\n")
    os.symlink(outside / "id_ed25519", docs / "key.md")
    os.symlink(outside / "keep-me", docs / "notes")
    result = cli("--workspace", workspace.root, "site", "build", "--no-strict")
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert "docs/key.md" in result.stderr and "docs/notes" in result.stderr
    site = _site(workspace)
    assert "about/index.html" in site
    assert not [name for name, data in site.items() if KEY_MARKER.encode() in data or data == b"mine"]
