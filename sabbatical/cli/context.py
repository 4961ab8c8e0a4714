"""What every command shares: the resolved workspace, the one way to open its pile, JSON output, tables,
progress bars.

Rendering lives here so that command modules stay ~10-line bodies: resolve, call the library, print.
rich (and the pile's modules) are imported only when used, so `--help` stays instant.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..workspace import Workspace, find_workspace

if TYPE_CHECKING:
    import sqlite3

    from ..reading.pile import Pile


@dataclass
class State:
    workspace_option: Path | None = None


_state: ContextVar[State] = ContextVar("sabbatical_cli_state", default=State())  # noqa: B039 — set_state replaces it, never mutates


def set_state(state: State) -> None:
    """Called once per invocation by the root callback with the global options."""
    _state.set(state)


def current_workspace() -> Workspace:
    """The workspace for this command: --workspace, then $SABBATICAL_WORKSPACE, then walking up."""
    return find_workspace(_state.get().workspace_option)


@dataclass
class OpenPile:
    """What a command holds while the pile is open: the workspace and its pile (`.conn` for the library)."""

    workspace: Workspace
    pile: Pile

    @property
    def conn(self) -> sqlite3.Connection:
        return self.pile.conn


@contextmanager
def open_pile(*, writes: bool = False, why: str = "") -> Iterator[OpenPile]:
    """The workspace's pile, opened the one way every command opens it, and closed afterwards.

    A command that only reads works in a read-only workspace. One that `writes` (to the pile, or a file
    in the workspace) stops here, before any work, with one line saying why (`why`: what it would
    write); a damaged pile refuses the same way and says how to recover it.
    """
    from ..errors import ReadOnlyWorkspace
    from ..reading.pile import Pile

    workspace = current_workspace()
    opened = Pile.open(workspace)
    try:
        refusal = getattr(opened.conn, "refusal", None)
        if writes and refusal is not None:
            error = refusal()
            if why and isinstance(error, ReadOnlyWorkspace):
                error = ReadOnlyWorkspace(workspace.pile_path, why)
            raise error
        yield OpenPile(workspace, opened)
    finally:
        opened.close()


@contextmanager
def open_pile_if_any() -> Iterator[OpenPile | None]:
    """The pile as `open_pile` opens it for reading, or None when the workspace has no pile yet (none is
    made) or it cannot be opened (the library then says why where it would have read it)."""
    from ..errors import StoreError

    if not current_workspace().pile_path.exists():
        yield None
        return
    with ExitStack() as stack:
        try:
            opened: OpenPile | None = stack.enter_context(open_pile())
        except StoreError:
            opened = None
        yield opened


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(value: Any) -> None:
    """Print `value` as indented JSON (dataclasses, dates and paths included)."""
    typer.echo(json.dumps(value, default=_jsonable, indent=2, ensure_ascii=False))


# Tables sent to a pipe or a file (`| less -S`, `> list.txt`) are laid out this wide rather than in rich's
# 80 columns, which folds every question and title over several lines; COLUMNS, when set, still wins.
PIPED_WIDTH = 160


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    piped = not (hasattr(stream, "isatty") and stream.isatty()) and not os.environ.get("COLUMNS")
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=PIPED_WIDTH if piped else None)


def print_table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console().print(table)


def warn(message: str) -> None:
    typer.echo(f"Warning: {message}", err=True)


Report = Callable[..., None]


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Report]:
    """A rich progress bar on a terminal; silent otherwise.

    Yields `report(advance=1, total=None, description=None)`, which library code receives as its
    `on_progress` callback.
    """
    if not sys.stdout.isatty():
        yield lambda *args, **kwargs: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def report(advance: int = 1, total: int | None = None, description: str | None = None) -> None:
            changes: dict[str, Any] = {"advance": advance}
            if total is not None:
                changes["total"] = total
            if description is not None:
                changes["description"] = description
            bar.update(task, **changes)

        yield report
