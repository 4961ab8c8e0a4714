"""The `sabbatical` command line: a thin layer that parses, calls the library, and prints.

This package is the only place that prints or exits. Each command group (a noun) lives in its own
module; errors from any of them become `Error: …` on stderr with the documented exit code in one place,
`SabbaticalGroup.invoke`, which also serves `typer.testing.CliRunner`.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..errors import ExitCode, PartialFailure, SabbaticalError
from . import pile, read, site, sprint, sprint_feedback, workspace
from .context import State, set_state
from .help_words import install as _help_in_words

_help_in_words()
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


app = typer.Typer(
    cls=SabbaticalGroup,
    name="sabbatical",
    help="A notebook and artifact tracker for a research sabbatical: read into a pile, work in sprints, publish a site.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from .. import __version__

        typer.echo(f"sabbatical {__version__}")
        raise typer.Exit()


@app.callback()
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


app.add_typer(workspace.commands)  # init, paths, tour
app.add_typer(read.read, name="read")
app.add_typer(pile.pile, name="pile")
app.add_typer(sprint.commands)  # new-sprint, lab, mlflow
sprint.sprint.add_typer(sprint_feedback.feedback, name="feedback")
app.add_typer(sprint.sprint, name="sprint")
app.add_typer(site.site, name="site")


def main() -> None:
    """Console-script entry point."""
    sys.exit(app(prog_name="sabbatical"))
