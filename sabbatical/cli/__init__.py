"""The `sabbatical` command line: a thin layer that parses, calls the library, and prints.

This package is the only place that prints or exits. Each command group (a noun) lives in its own
module; errors from any of them become `Error: …` on stderr with the documented exit code in one place,
`SabbaticalGroup.invoke`, which also serves `typer.testing.CliRunner`.

`MOUNTS` says which module brings which names to the root. `main()` mounts only the group named on the
command line (Typer builds every mounted command's parameters from its type hints on each call, so
`sabbatical pile inbox` neither imports nor builds `sprint`, `site` or `read`); top-level help, an unknown
name or shell completion mounts them all, as does `app`, the whole command line for tests and docs.
"""

from __future__ import annotations

import copy
import importlib
import os
import sqlite3
import sys
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..errors import ExitCode, PartialFailure, SabbaticalError
from .context import State, set_state
from .help_words import install as _help_in_words
from .light_params import install as _check_plain_values_without_pydantic

_help_in_words()
_check_plain_values_without_pydantic()
# scikit-learn warns when a vocabulary it is handed holds capitals (a pile's embedder state can); it says
# nothing a researcher can act on, so it never reaches the terminal.
warnings.filterwarnings("ignore", message="Upper case characters found in vocabulary")


class SabbaticalGroup(TyperGroup):
    """The root group: turns every error into one line on stderr and a documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):  # usage errors: Typer prints them, exit 2
            raise
        except SabbaticalError as exc:
            _fail(exc, exc.exit_code, str(exc))
            if isinstance(exc, PartialFailure):
                for line in exc.failures:
                    typer.echo(f"  - {line}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except sqlite3.Error as exc:
            _fail(exc, ExitCode.ERROR, _store_failure(exc))
            raise typer.Exit(int(ExitCode.ERROR)) from None
        except BrokenPipeError:
            _quiet_stdout()  # the reader (e.g. `| head`) has all it wanted
            raise typer.Exit(int(ExitCode.OK)) from None
        except KeyboardInterrupt:
            typer.echo(
                "Interrupted — work finished before the interrupt is saved; run the command again to continue.",
                err=True,
            )
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug: say so in one line unless asked for the traceback
            _fail(
                exc,
                ExitCode.ERROR,
                f"unexpected {type(exc).__name__}: {exc} — rerun with SABBATICAL_DEBUG=1 for the traceback",
            )
            raise typer.Exit(int(ExitCode.ERROR)) from None


def _quiet_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _store_failure(exc: sqlite3.Error) -> str:
    # EFBIG (a file-size limit) reaches us as SQLITE_IOERR_WRITE, ENOSPC as SQLITE_FULL.
    if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_FULL", "SQLITE_IOERR")):
        return (
            f"the pile could not be written ({exc}): the disk is full or a file-size limit was reached — "
            "free some space and run the command again; everything stored before this was kept"
        )
    return f"the pile database: {exc} — nothing after the last completed step was written"


def _fail(exc: BaseException, code: ExitCode, message: str) -> None:
    if os.environ.get("SABBATICAL_DEBUG") == "1":
        raise exc
    typer.echo(f"Error: {message}", err=True)


@dataclass(frozen=True)
class Mount:
    """One sub-app of the root: the module and attribute holding it, the name it is mounted under (None: its
    commands join the root's), and the names it brings to the command line (pinned by tests/test_cli_mounts.py)."""

    module: str
    attribute: str
    name: str | None
    brings: tuple[str, ...]

    def add_to(self, root: typer.Typer, only: str | None = None) -> None:
        """Mount it on `root`; a named group with `only` (a command of it), with that command alone."""
        sub_app = getattr(importlib.import_module(f"{__name__}.{self.module}"), self.attribute)
        if self.name == "sprint":
            _with_feedback(sub_app)
        if self.name is None:
            root.add_typer(sub_app)
        else:
            root.add_typer((only and _only(sub_app, only)) or sub_app, name=self.name)


MOUNTS = (
    Mount("workspace", "commands", None, ("init", "paths", "tour")),
    Mount("read", "read", "read", ("read",)),
    Mount("pile", "pile", "pile", ("pile",)),
    Mount("sprint", "commands", None, ("new-sprint", "lab", "mlflow")),
    Mount("sprint", "sprint", "sprint", ("sprint",)),
    Mount("site", "site", "site", ("site",)),
)


def _only(group: typer.Typer, name: str) -> typer.Typer | None:
    """A copy of `group` with the command or sub-group `name` alone (looked for in the groups mounted without a
    name too), or None when it has none of that name (Typer then lists or suggests them all)."""
    from typer.main import get_command_name

    kept = [
        c
        for c in group.registered_commands
        if (c.name or get_command_name(getattr(c.callback, "__name__", ""))) == name
    ]
    groups = []
    for info in group.registered_groups:
        if info.name == name:
            groups.append(info)
        elif not isinstance(info.name, str) and info.typer_instance is not None:  # its commands join the group's
            inner = _only(info.typer_instance, name)
            if inner is not None:
                groups.append(_with(info, inner))
    if not kept and not groups:
        return None
    pruned = copy.copy(group)
    pruned.registered_commands, pruned.registered_groups = kept, groups
    return pruned


def _with(info: Any, typer_instance: typer.Typer) -> Any:
    changed = copy.copy(info)
    changed.typer_instance = typer_instance
    return changed


def _with_feedback(sprint_app: typer.Typer) -> None:
    """`sprint feedback …` is mounted here, once, so `cli/sprint.py` need not import its module."""
    from .sprint_feedback import feedback

    if not any(group.typer_instance is feedback for group in sprint_app.registered_groups):
        sprint_app.add_typer(feedback, name="feedback")


def _print_version(wanted: bool) -> None:
    if wanted:
        from .. import __version__

        typer.echo(f"sabbatical {__version__}")
        raise typer.Exit()


def root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: $SABBATICAL_WORKSPACE, else walk up from here, else ~/.config/sabbatical).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version)
    ] = False,
) -> None:
    """Exit codes: 0 ok, 1 error, 2 bad usage, 3 partial (some sources or items failed, the rest was done)."""
    set_state(State(workspace_option=workspace))


def build_app(names: Collection[str] | None = None, only: str | None = None) -> typer.Typer:
    """The root with the sub-apps that bring any of `names` mounted (None: all of them), in `MOUNTS` order;
    `only`: of a group, the one command invoked (Typer builds every mounted command's parameters)."""
    built = typer.Typer(
        cls=SabbaticalGroup,
        name="sabbatical",
        help="A notebook and artifact tracker for a research sabbatical: read into a pile, work in sprints, "
        "publish a site.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    built.callback()(root)
    for mount in MOUNTS:
        if names is None or set(mount.brings) & set(names):
            mount.add_to(built, only)
    return built


def invoked_name(args: Sequence[str]) -> str | None:
    """The root command or group `args` invoke, or None when every sub-app is needed: help asked at the root,
    no command, or a name no mount brings (Typer then lists or suggests them all)."""
    at = _invoked_at(args)
    return None if at is None else args[at]


def invoked_command(args: Sequence[str]) -> str | None:
    """The command `args` invoke in the group they name (`pile inbox` → inbox), or None (no group, an option
    first: `pile --help`)."""
    at = _invoked_at(args)
    if at is None or at + 1 >= len(args) or args[at + 1].startswith("-"):
        return None
    return args[at + 1] if any(args[at] == mount.name for mount in MOUNTS) else None


def _invoked_at(args: Sequence[str]) -> int | None:
    at = 0
    while at < len(args):
        word = args[at]
        if word in ("--workspace", "-w"):
            at += 2  # its value
            continue
        if word == "--":
            return at + 1 if at + 1 < len(args) and _known(args[at + 1]) else None
        if not word.startswith("-"):
            return at if _known(word) else None
        if word in ("--help", "-h"):
            return None
        at += 1
    return None


def _known(name: str) -> bool:
    return any(name in mount.brings for mount in MOUNTS)


def __getattr__(name: str) -> Any:
    """`app`: the whole command line, every sub-app mounted, built on first use."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    whole = build_app()
    globals()["app"] = whole
    return whole


def main() -> None:
    """Console-script entry point: mounts only the sub-app the command line names (all for completion)."""
    if "_SABBATICAL_COMPLETE" in os.environ:
        sys.exit(complete())
    name, command = invoked_name(sys.argv[1:]), invoked_command(sys.argv[1:])
    if (name, command) in ONE_BLAS_THREAD:
        one_blas_thread_for_this_process()
    sys.exit(build_app(None if name is None else [name], command)(prog_name="sabbatical"))


def complete() -> int:
    """Shell completion: `_SABBATICAL_COMPLETE=source_bash sabbatical` prints the script to source (also zsh,
    fish, powershell), which then asks `complete_bash` and so on for the words. Click's own spelling
    (`bash_source`) is taken too. The root is built without Typer's completion options, so their shells are
    registered here."""
    from typer.completion import completion_init

    completion_init()
    first, _, second = os.environ["_SABBATICAL_COMPLETE"].partition("_")
    if first in SHELLS and second in ("source", "complete"):
        os.environ["_SABBATICAL_COMPLETE"] = f"{second}_{first}"
    return build_app()(prog_name="sabbatical")


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


# Commands that read the pile and do a few small matrix products: BLAS's own threads (OpenBLAS starts one a
# core when numpy is imported) spin on the other core after each product, which cost `pile inbox` ~0.3 s of
# CPU and ~0.2 s of wall on two cores; the few milliseconds of arithmetic gain nothing from them.
ONE_BLAS_THREAD = {("pile", name) for name in ("inbox", "stats", "list", "search", "related", "triage", "show")}


def one_blas_thread_for_this_process() -> None:
    """Ask the BLAS libraries numpy may load for one thread (before numpy is imported; a setting of the user's
    own in the environment wins)."""
    if "numpy" in sys.modules:
        return
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
