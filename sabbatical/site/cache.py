"""The build cache: rendered notebooks, drawn charts and MLflow runs kept between builds.

Rendering a notebook, drawing a chart or asking MLflow costs imports and work that an unchanged input
does not need again. Each entry is keyed by a hash of exactly what it was made from (the notebook's
bytes, the chart's data, the local MLflow store's file stamps) plus a version, so a changed input or a
new renderer is a miss, never a stale page. Entries not used by a build are pruned at its end, so the
cache holds one build's worth. It lives in `.sabbatical/site-cache/` and can be deleted at any time.

What is read from the cache is published, and what is pruned is deleted, so an entry holding anything
but real files and folders (a symlink planted to reach outside the workspace) is a miss and is replaced,
and every delete goes through `paths.remove_tree`, which refuses a path outside the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .paths import remove_tree

VERSION = "2"  # 2: SVG figures are cleaned of script before they are cached


def key_of(*parts: Any) -> str:
    digest = hashlib.sha256(VERSION.encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


class BuildCache:
    """Folders of cached results under `root`, one folder per kind, one entry per key."""

    def __init__(self, root: Path):
        self.root = root
        self.used: set[Path] = set()

    def entry(self, kind: str, key: str) -> Path:
        """The folder for one entry (not created); marks it used by this build."""
        folder = self.root / kind / key
        self.used.add(folder)
        return folder

    def load(self, kind: str, key: str) -> tuple[Path, dict[str, Any]] | None:
        """(folder, its meta.json) when the entry exists and is complete."""
        folder = self.entry(kind, key)
        if folder.parent.is_symlink() or not only_real_files(folder):
            return None
        try:
            return folder, json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def store(self, kind: str, key: str, meta: dict[str, Any], files: dict[str, bytes]) -> Path:
        """Write an entry; meta.json last, so a half-written entry is never loaded."""
        folder = self.entry(kind, key)
        remove_tree(folder, self.root)
        for name, data in files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        return folder

    def prune(self) -> None:
        """Remove every entry this build did not use."""
        if not self.root.is_dir():
            return
        for kind in self.root.iterdir():
            if kind.is_symlink() or not kind.is_dir():
                continue
            for folder in kind.iterdir():
                if folder not in self.used and not folder.is_symlink():
                    remove_tree(folder, self.root)


def only_real_files(folder: Path) -> bool:
    """Whether `folder` is a real folder holding only real folders and regular files (no symlink, no FIFO)."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(parent) / name
            if path.is_symlink() or not (path.is_dir() if name in folders else path.is_file()):
                return False
    return True
