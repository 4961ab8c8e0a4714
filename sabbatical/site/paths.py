"""Where the site build may read, write and delete: inside the workspace, and never through a symlink.

A site build deletes folders (the generated sources, the staging build, stale cache entries, the previous
site) and copies files out of sprint folders into a public site. A symlink in either place would turn that
into deleting or publishing whatever it points at, so:

- `check_build_folders` refuses the build (`UnsafeSitePath`, nothing touched) when `.sabbatical/` or a
  folder the build writes under it, or `site/`, is a symlink or resolves outside the workspace;
- `remove_tree` is the only way the site build deletes a folder, and it refuses a path that is a symlink
  or does not resolve inside the root it is given;
- `publish_problem` and `read_published` let only regular files whose resolved path is inside the sprint
  folder be published (a symlink leading out, a FIFO or a device is skipped with a warning).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from ..errors import UnsafeSitePath

OLD_SITE_PREFIX = "."


def is_inside(path: Path, root: Path) -> bool:
    """Whether `path`, every symlink resolved, is `root` or lies under it (`root` resolved too)."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    return resolved == base or base in resolved.parents


def build_folders(workspace: Any) -> list[Path]:
    """Every folder `site build` writes or deletes, outermost first."""
    site = workspace.site_dir
    return [
        workspace.cache_dir,
        workspace.site_staging_dir,
        workspace.site_cache_dir,
        workspace.site_source_dir,
        workspace.site_source_dir / "docs",
        site,
        site.with_name(f"{OLD_SITE_PREFIX}{site.name}-old"),
    ]


def check_build_folders(workspace: Any) -> None:
    """Raise `UnsafeSitePath` when a folder the build writes is a symlink or resolves outside the workspace."""
    for folder in build_folders(workspace):
        check_folder(folder, workspace.root)
    cache = workspace.site_cache_dir
    for kind in _folders_in(cache):
        check_folder(kind, workspace.root)
        for entry in _folders_in(kind):
            check_folder(entry, workspace.root)


def _folders_in(folder: Path) -> list[Path]:
    """The entries of a real folder (a cache kind, a cache entry's parent); none for anything else."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(folder.iterdir())


def check_folder(folder: Path, root: Path) -> None:
    if folder.is_symlink():
        raise UnsafeSitePath(folder, f"is a symlink (to {os.readlink(folder)})")
    if folder.exists() and not is_inside(folder, root):
        raise UnsafeSitePath(folder, f"resolves outside the workspace (to {folder.resolve()})")


def remove_tree(path: Path, root: Path) -> None:
    """Delete the folder `path` (nothing when it is absent), only when it is a real folder inside `root`."""
    if not os.path.lexists(path):
        return
    check_folder(path, root)
    shutil.rmtree(path)


def fresh_folder(path: Path, root: Path) -> None:
    """An empty folder at `path`, inside `root`: what was there is removed through `remove_tree`."""
    remove_tree(path, root)
    path.mkdir(parents=True)


# -- what may be published ---------------------------------------------------------------------------
def publish_problem(path: Path, root: Path) -> str | None:
    """Why `path` may not be published from `root` (a sprint folder), or None when it may."""
    try:
        if not is_inside(path, root):
            target = os.readlink(path) if path.is_symlink() else str(path.resolve())
            return f"is a symlink leading outside the sprint folder (to {target})"
        mode = path.stat().st_mode
    except (OSError, RuntimeError) as exc:  # a dangling link, a link loop, a vanished file
        return f"cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})"
    if not stat.S_ISREG(mode):
        return f"is not a regular file (a {_kind_of(mode)})"
    return None


def _kind_of(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISDIR, "folder"),
    ):
        if test(mode):
            return name
    return "special file"


def read_published(path: Path, root: Path, limit: int | None = None) -> bytes:
    """The bytes of a publishable file, checked again as it is opened (OSError when it is not one).

    The resolved path is opened without following a final symlink and without blocking on a FIFO that
    replaced the file since it was listed; a file that is not regular or is over `limit` bytes is refused.
    """
    problem = publish_problem(path, root)
    if problem:
        raise OSError(f"{path.name} {problem}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path.resolve(), flags)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        if limit is not None and info.st_size > limit:
            raise OSError(f"{path.name} is larger than {limit} bytes")
        return handle.read() if limit is None else handle.read(limit + 1)[:limit]
