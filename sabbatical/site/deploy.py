"""`site deploy`: publish the built `site/` to a gh-pages branch (and push it), or copy it to a folder.

The branch is written with ghp-import, the library `mkdocs gh-deploy` uses: one commit on `gh-pages`
holding exactly the built site (with `.nojekyll`, so GitHub Pages serves every file as built), then a
push to the remote. ghp-import works on the git repository of the current directory, so the workspace
root is made the working directory for that call only.

Copying to a folder replaces what an earlier deploy put there; a folder that holds anything else is
refused, so a mistyped path never wipes someone's files. Only a site that `site build` finished (and
scanned for secrets) is deployed: deploying never builds.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SiteDeployError
from . import paths

MARKER = ".sabbatical-deploy"


@dataclass
class DeployReport:
    target: str
    files: int


def _built_site(workspace: Any) -> Path:
    if not workspace.site_index_path.is_file():
        raise SiteDeployError(f"no built site in {workspace.site_dir} — run `sabbatical site build` first")
    return workspace.site_dir


def deploy_branch(
    workspace: Any,
    *,
    remote: str = "origin",
    branch: str = "gh-pages",
    push: bool = True,
    message: str = "Publish the sabbatical site",
) -> DeployReport:
    """Commit the built site as `branch` of the workspace's git repository and push it to `remote`."""
    from ghp_import import GhpError, ghp_import

    site = _built_site(workspace)
    _check_git(workspace.root, remote if push else None)
    try:
        with contextlib.chdir(workspace.root):
            ghp_import(str(site), mesg=message, remote=remote, branch=branch, push=push, nojekyll=True)
    except GhpError as exc:
        raise SiteDeployError(f"publishing to the {branch} branch failed: {exc.message.strip()}") from None
    except subprocess.CalledProcessError as exc:
        raise SiteDeployError(
            f"`git push {remote} {branch}` failed (exit {exc.returncode}) — check that the "
            f"remote exists and you may push to it (`git remote -v`)"
        ) from None
    return DeployReport(target=f"{remote}/{branch}" if push else branch, files=_count(site))


def _check_git(root: Path, remote: str | None) -> None:
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)

    try:
        inside = git("rev-parse", "--show-toplevel")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SiteDeployError(f"git could not run ({exc}) — install git, or deploy to a folder with --to") from None
    if inside.returncode != 0:
        raise SiteDeployError(
            f"{root} is not in a git repository — run `git init` there and add a remote, or "
            "deploy to a folder with --to"
        )
    if remote is not None and git("remote", "get-url", remote).returncode != 0:
        raise SiteDeployError(
            f"the git repository has no remote {remote!r} — add it (`git remote add {remote} "
            "URL`) or name another with --remote"
        )


def deploy_folder(workspace: Any, target: Path) -> DeployReport:
    """Copy the built site into `target`, replacing an earlier deploy there; any other content is refused."""
    site = _built_site(workspace)
    target = Path(target).expanduser().absolute()
    if paths.is_inside(target, site) or paths.is_inside(site, target):
        raise SiteDeployError(f"{target} overlaps the built site {site} — deploy to a folder beside it")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise SiteDeployError(f"{target} is a symlink or not a folder — give a real folder to deploy into")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise SiteDeployError(
            f"{target} holds files an earlier deploy did not put there — give an empty or new "
            "folder (nothing was changed)"
        )
    if target.exists():
        paths.remove_tree(target, target.parent)
    shutil.copytree(site, target, symlinks=False)
    (target / MARKER).write_text("This folder is replaced by `sabbatical site deploy --to`.\n", encoding="utf-8")
    return DeployReport(target=str(target), files=_count(site))


def _count(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())
