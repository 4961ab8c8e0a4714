"""Help text that reads as words: value types as TEXT, INTEGER, PATH…, no type at all for a flag, and
brackets in help shown as written.

Typer 0.29 prints a Python type beside every option (`--json <bool>`, `tags... <list[str]>`), which
reads as code, not help. `install()` replaces the one method that renders it, for every command at once,
so no command has to set a metavar by hand (a metavar given on an option still wins).
"""

from __future__ import annotations

import re
from typing import Any

WORDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "Path": "PATH",
    "bool": "yes|no",
    "datetime": "DATE",
    "file": "FILE",
    "dir": "FOLDER",
    "path": "PATH",
}


def words_for(label: str) -> str:
    """'<list[str]>' → 'TEXT', '<int range>' → 'INTEGER', '<a|b>' stays 'a|b'."""
    inner = label.strip("<>")
    listed = re.fullmatch(r"list\[(.*)\]", inner)
    if listed:
        inner = listed.group(1)
    inner = inner.removesuffix(" range")
    return WORDS.get(inner, inner)


def install() -> None:
    """Render every option's and argument's type in words (idempotent)."""
    from typer import core

    base = core._TyperParameter
    if getattr(base, "_sabbatical_words", False):
        return
    typed = base.display_type
    flagged = core.TyperOption.display_type_rich

    def display_type(self: Any, ctx: Any) -> str:
        return words_for(typed(self, ctx))

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return flagged(self, ctx)

    for command in (core.TyperCommand, core.TyperGroup):
        command.format_help = _escaping_first(command.format_help)  # type: ignore[method-assign]
    base.display_type = display_type  # type: ignore[method-assign]
    core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    base._sabbatical_words = True  # type: ignore[attr-defined]


def _escaping_first(format_help: Any) -> Any:
    """`format_help`, escaping brackets from the first help shown (rich loads only then: startup stays fast)."""

    def wrapped(self: Any, ctx: Any, formatter: Any) -> None:
        _escape_brackets()
        return format_help(self, ctx, formatter)

    return wrapped


def _escape_brackets() -> None:
    """Help texts name config sections in brackets ("default: [sprints] days"); rich would read
    `[sprints]` as a style and drop it, so help text is shown as written (none of it is markup)."""
    from rich.markup import escape
    from typer import rich_utils

    make = rich_utils._make_rich_text
    if getattr(make, "escapes", False):
        return

    def make_rich_text(*, text: str, style: str = "", markup_mode: Any) -> Any:
        if markup_mode == rich_utils.MARKUP_MODE_RICH:
            text = escape(text)
        return make(text=text, style=style, markup_mode=markup_mode)

    make_rich_text.escapes = True  # type: ignore[attr-defined]
    rich_utils._make_rich_text = make_rich_text
