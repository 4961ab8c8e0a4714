"""sabbatical: a notebook and artifact tracker for a research sabbatical.

The public nouns are importable from here. They load lazily, so `import sabbatical` (and the CLI's
`--help`) costs nothing heavy.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_PUBLIC: dict[str, tuple[str, str | None]] = {
    "Workspace": ("sabbatical.workspace", "Workspace"),
    "find_workspace": ("sabbatical.workspace", "find_workspace"),
    "init_workspace": ("sabbatical.workspace", "init_workspace"),
    "SabbaticalError": ("sabbatical.errors", "SabbaticalError"),
    "Pile": ("sabbatical.reading.pile", "Pile"),
    "Sprint": ("sabbatical.sprints.model", "Sprint"),
    "track": ("sabbatical.track", None),
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sabbatical' has no attribute {name!r}")
    from importlib import import_module

    module, attribute = _PUBLIC[name]
    loaded = import_module(module)
    return loaded if attribute is None else getattr(loaded, attribute)
