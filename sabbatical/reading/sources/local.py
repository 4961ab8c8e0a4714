"""Local files as sources: only regular files, and no bigger than the fetch size limit.

A path given to `read feed` or `read file` may be anything: a folder, a FIFO that never ends, `/dev/zero`,
or a symlink to one of them. The file is opened without blocking and checked on the open descriptor (so
it cannot be swapped between the check and the read), and at most `max_mb` is read: a bigger file is
refused, never loaded whole.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from . import SourceError

_BLOCK = 1 << 20


def read_local_file(path: Path, max_mb: float) -> bytes:
    """The bytes of a regular file of at most `max_mb`; SourceError (one line) for anything else."""
    limit = int(max_mb * 1024 * 1024)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SourceError("no such file — check the path") from None
    except IsADirectoryError:
        raise SourceError("is a folder, not a file — `sabbatical read file` reads folders") from None
    except PermissionError:
        raise SourceError("permission denied — the file cannot be read") from None
    with os.fdopen(descriptor, "rb") as handle:
        _check_regular(os.fstat(handle.fileno()), limit, max_mb)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SourceError(_too_big(max_mb))
    return data


def check_regular_file(path: Path, max_mb: float | None = None) -> None:
    """SourceError unless `path` (followed through symlinks) is a regular file within the limit."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SourceError("no such file — check the path") from None
    except OSError as exc:
        raise SourceError(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    _check_regular(info, int(max_mb * 1024 * 1024) if max_mb else None, max_mb or 0)


def _check_regular(info: os.stat_result, limit: int | None, max_mb: float) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise SourceError("is a folder, not a file — `sabbatical read file` reads folders")
    if not stat.S_ISREG(info.st_mode):
        raise SourceError("not a regular file (a device, a FIFO or a socket) — only regular files are read")
    if limit is not None and info.st_size > limit:
        raise SourceError(_too_big(max_mb))


def _too_big(max_mb: float) -> str:
    return f"the file is over the {max_mb:g} MB limit — raise [reading] max_response_mb if you mean it"
