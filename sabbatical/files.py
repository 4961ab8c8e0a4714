"""Writing the product's own files safely: a reader sees the old text or the new one, never half of one,
and a symlink planted where the file goes is replaced, never written through. The caches kept in the
workspace's cache folder are read and written through `read_kept` and `write_kept`."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a fresh temporary file beside `path` (created exclusively, so it cannot be a link)
    and rename it over `path`; on any failure the temporary file goes and `path` is as it was."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_kept(path: Path, version: int, key: str) -> dict[str, Any]:
    """The `key` part of a kept JSON file (`{"version": …, key: {…}}`), or {} when the file is missing,
    damaged, of another version, or a symlink or in a symlinked folder (it could lead outside the workspace)."""
    if path.parent.is_symlink() or path.is_symlink() or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != version or not isinstance(data.get(key), dict):
        return {}
    return data[key]


def write_kept(folder: Path, file: str, version: int, key: str, kept: dict[str, Any]) -> None:
    """Replace `folder/file` with `{"version": version, key: kept}` in one step. A symlinked folder or file
    is left alone, and a failure to write loses only the keeping (the caller computes it again next time)."""
    if folder.is_symlink():
        return
    with contextlib.suppress(OSError, TypeError, ValueError):
        folder.mkdir(exist_ok=True)
        if (folder / file).is_symlink():
            return
        write_atomically(folder / file, json.dumps({"version": version, key: kept}))
