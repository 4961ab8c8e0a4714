"""Writing the product's own files safely: a reader sees the old text or the new one, never half of one,
and a symlink planted where the file goes is replaced, never written through."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
