"""Values checked without pydantic are checked exactly as Typer's own check does: the same value of the same
type, or the same error; and the CLI's start-up no longer imports pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer import core
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer.main import get_command

from sabbatical.cli import light_params

light_params.install()
TYPERS_OWN = core.build_runtime_param.__closure__[0].cell_contents  # what install() wrapped
assert TYPERS_OWN.__module__ == "typer._coercion"

probe = typer.Typer(add_completion=False)


@probe.command()
def everything(
    text: Annotated[str | None, typer.Option()] = None,
    number: Annotated[int, typer.Option()] = 20,
    count: Annotated[int, typer.Option(min=0)] = 0,
    positive: Annotated[int, typer.Option(min=1, max=50)] = 5,
    where: Annotated[Path | None, typer.Option()] = None,
    existing: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    words: Annotated[list[str] | None, typer.Option()] = None,
    flag: Annotated[bool, typer.Option()] = False,
) -> None:
    """A parameter of every plain type the CLI uses."""


COMMAND = get_command(probe)
PARAMS = {p.name: p for p in COMMAND.params}


def _outcome(runtime, param, value):
    try:
        got = runtime.coerce(value, param=param, ctx=Context(COMMAND))
    except BadParameter as exc:
        return ("error", exc.format_message())
    return ("value", type(got), got)


def _same(name, value):
    param = PARAMS[name]
    light = core.build_runtime_param(param.type_descriptor)
    assert isinstance(light, light_params.LightParam), name
    assert _outcome(light, param, value) == _outcome(TYPERS_OWN(param.type_descriptor), param, value)


NUMBERS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.integers(-100, 100),
    st.sampled_from(["007", "+5", " 5", "5 ", "1_000", "1e3", "5.0", "", "-", "0", "-0", "٣", "١٢", "0x10", "nan"]),
    st.text(max_size=6),
    st.booleans(),
    st.floats(allow_nan=True),
)
TEXTS = st.one_of(st.text(), st.binary(max_size=8), st.integers(), st.sampled_from(["", "\x00", "-", "é"]))


@settings(max_examples=300, deadline=None)
@given(NUMBERS)
def test_whole_numbers_are_checked_as_typer_checks_them(value):
    for name in ("number", "count", "positive"):
        _same(name, value)


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_text_is_checked_as_typer_checks_it(value):
    _same("text", value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.lists(st.text(), max_size=4).map(tuple), st.lists(TEXTS, max_size=3).map(tuple), TEXTS))
def test_lists_of_text_are_checked_as_typer_checks_them(value):
    _same("words", value)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=12), st.sampled_from(["", ".", "-", "~", "\x00", "a\x00b", "/", "//x"])))
def test_paths_are_checked_as_typer_checks_them(value):
    _same("where", value)
    _same("where", Path(value or "."))


@settings(max_examples=50, deadline=None)
@given(st.one_of(st.booleans(), st.sampled_from(["yes", "no", "1", "0", "", " true ", "maybe"]), st.text(max_size=4)))
def test_flags_are_checked_as_typer_checks_them(value):
    _same("flag", value)


def test_an_existing_path_is_checked_as_typer_checks_it(tmp_path):
    (tmp_path / "a-file").write_text("")
    for value in (str(tmp_path / "a-file"), str(tmp_path), str(tmp_path / "missing"), tmp_path / "a-file"):
        _same("existing", value)


def test_a_none_is_none_or_empty_as_in_typer():
    for name in PARAMS:
        _same(name, None)


def test_the_cli_still_refuses_a_bad_number_with_typers_message(workspace, cli):
    result = cli("--workspace", workspace.root, "pile", "inbox", "--limit", "many")
    assert result.exit_code == 2 and "--limit" in result.stderr and "valid integer" in result.stderr


@pytest.mark.parametrize("args", [["pile", "inbox"], ["pile", "stats"], ["pile", "list", "--tag", "x", "-n", "3"]])
def test_pile_commands_start_without_pydantic(workspace, args):
    code = (
        "import sys\n"
        f"sys.argv = ['sabbatical', '-w', {str(workspace.root)!r}, *{args!r}]\n"
        "from sabbatical.cli import main\n"
        "try:\n    main()\n"
        "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
