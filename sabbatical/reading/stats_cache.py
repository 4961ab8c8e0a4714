"""Figures `pile stats` learns from your decisions, kept in a file in the workspace's cache folder
(`.sabbatical/stats-figures.json`), never in the pile: `pile stats` only reads the pile.

The taste model's held-out accuracy costs a 5-fold fit over the decided items' vectors, and loading every
vector of the pile to find them (~0.2 s of CPU on a 5k-item pile) — for a figure that changes only when a
decision or a vector does. A figure is kept with the key it was computed for (what it depends on, read
from the pile in a few index lookups): events are only ever appended, so the newest event id moves with any
new decision; vectors are only added, replaced (a new rowid) or dropped with their model, so the model, its
newest rowid and the vector count move with any vector. A missing, damaged or stale entry is computed again;
a cache that cannot be read or written (a read-only workspace, a symlink in its place) is not used, and
the figure is the same. Ranking keeps its per-item figures the same way in files of their own
(`file=RANKING_FILE`, `file=TASTE_FILE`), so `pile stats` never parses them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..files import read_kept, write_kept

CACHE_FILE = "stats-figures.json"
RANKING_FILE = "ranking-figures.json"  # every item's closeness to the aims: large, read by ranking only
TASTE_FILE = "ranking-taste.json"  # every item's P(keep): rewritten after each decision, apart from the above
CACHE_VERSION = 1

T = TypeVar("T")


def cached_figure(
    cache_dir: Path | None,
    name: str,
    key: list[Any],
    compute: Callable[[], dict[str, Any]],
    load: Callable[[dict[str, Any]], T],
    *,
    file: str = CACHE_FILE,
    alone: bool = False,
) -> T:
    """`load(value)` of the value kept for `name` under `key`, else of `compute()` (kept for next time).

    `key` must be plain JSON (strings, numbers, lists); a kept value that `load` refuses (TypeError,
    ValueError, KeyError: a damaged file) is computed again. `alone`: the file keeps this figure only (a
    large one, rewritten as it changes: whatever else an older version kept there goes)."""
    stored = _read(cache_dir / file) if cache_dir is not None else {}
    entry = stored.get(name)
    if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("value"), dict):
        with contextlib.suppress(TypeError, ValueError, KeyError):
            return load(entry["value"])
    value = compute()
    if cache_dir is not None:
        _write(cache_dir, file, {**({} if alone else stored), name: {"key": key, "value": value}})
    return load(value)


def _read(path: Path) -> dict[str, Any]:
    return read_kept(path, CACHE_VERSION, "figures")


def _write(cache_dir: Path, file: str, figures: dict[str, Any]) -> None:
    write_kept(cache_dir, file, CACHE_VERSION, "figures", figures)
