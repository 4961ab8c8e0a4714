"""Checking a command's values without pydantic when they are plainly right.

Typer 0.29 checks every value of the invoked command's parameters (a default, a None too) through a
pydantic `TypeAdapter` it builds on each call: importing pydantic and building the first adapters was
~0.1–0.15 s of CPU of every `pile inbox`, more than the rest of Typer's start-up. `install()` gives the
plain types this CLI uses (text, whole numbers, `Path`, lists of text) a check that needs no pydantic for
a value that is plainly right (a string; digits within the bounds; a path), and hands every other value
(bytes, "007", "1e3", a number out of bounds, an Enum's choice…) to Typer's own check, built only then, so
what is accepted, the value it becomes and every error message stay Typer's (pinned by
tests/test_light_params.py against Typer's own).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UNSURE = object()  # the fast check cannot tell: Typer's own decides
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")


class LightParam:
    """A Typer runtime parameter (`coerce`) for a plain type; Typer's own for any value it is unsure of."""

    def __init__(self, descriptor: Any, fast: Callable[[Any, Any], Any], typers_own: Callable[[Any], Any]) -> None:
        self.descriptor = descriptor
        self._fast = fast
        self._typers_own = typers_own
        self._own: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:  # as Typer's RuntimeParam.coerce: nothing to check
            return () if (param.multiple or param.nargs == -1) else None
        checked = self._fast(value, (param, ctx))
        if checked is not _UNSURE:
            return checked
        if self._own is None:
            self._own = self._typers_own(self.descriptor)
        return self._own.coerce(value, param=param, ctx=ctx)


def fast_check(descriptor: Any) -> Callable[[Any, Any], Any] | None:
    """The pydantic-free check for this parameter's type, or None when Typer's own should do it all."""
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.parser is not None or getattr(info, "click_type", None):
        return None
    annotation = descriptor.annotation
    if annotation is str:
        return _text
    if annotation is bool:  # a flag's None (Typer skips a True or False): any text goes to Typer's own
        return lambda value, _where: value if isinstance(value, bool) else _UNSURE
    if annotation == list[str]:
        return _texts
    if annotation is int and not info.clamp:
        return lambda value, _where: _whole(value, info.min, info.max)
    if annotation is Path and info.path_type is None:
        return lambda value, where: _path(value, info, where)
    return None


def _text(value: Any, _where: Any) -> Any:
    return value if isinstance(value, str) else _UNSURE


def _texts(value: Any, _where: Any) -> Any:
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    return _UNSURE


def _whole(value: Any, low: float | None, high: float | None) -> Any:
    if isinstance(value, str) and _PLAIN_INT.fullmatch(value):
        value = int(value)
    elif type(value) is not int:
        return _UNSURE
    if (low is not None and value < low) or (high is not None and value > high):
        return _UNSURE
    return value


def _path(value: Any, info: Any, where: Any) -> Any:
    from typer._param_types import coerce_cli_path

    if isinstance(value, str) and value:
        value = Path(value)
    if type(value) is not type(Path()) or "\x00" in str(value):  # a NUL: the OS refuses it, pydantic words it
        return _UNSURE
    param, ctx = where
    return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)


def install() -> None:
    """Check the plain types' values without pydantic, for every command at once (idempotent)."""
    from typer import core

    if getattr(core, "_sabbatical_light_params", False):
        return
    typers_own = core.build_runtime_param

    def build_runtime_param(descriptor: Any) -> Any:
        fast = fast_check(descriptor)
        return typers_own(descriptor) if fast is None else LightParam(descriptor, fast, typers_own)

    core.build_runtime_param = build_runtime_param
    core._sabbatical_light_params = True  # type: ignore[attr-defined]
