"""The CLI contract: one-line errors, documented exit codes, honest stubs, an instant --help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sabbatical.errors import ExitCode

HEAVY = (
    "mlflow",
    "sklearn",
    "openai",
    "nbclient",
    "nbconvert",
    "mkdocs",
    "torch",
    "pandas",
    "arxiv",
    "feedparser",
    "trafilatura",
    "numpy",
)


def _modules_loaded_by(args: list[str]) -> set[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['sabbatical', *{args!r}]\n"
        "try:\n    runpy.run_module('sabbatical', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _all_command_paths() -> list[list[str]]:
    from typer.main import get_command

    from sabbatical.cli import app

    paths = []

    def walk(command, prefix):
        paths.append(prefix)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, prefix + [name])

    walk(get_command(app), [])
    return paths


def test_help_imports_nothing_heavy():
    loaded = _modules_loaded_by(["--help"])
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize("path", [p for p in _all_command_paths() if p], ids=lambda p: " ".join(p))
def test_every_command_help_imports_nothing_heavy(path):
    loaded = _modules_loaded_by([*path, "--help"])
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "sabbatical", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "new-sprint" in out.stdout


def test_bad_usage_exits_2(cli):
    result = cli("init", "--no-such-option")
    assert result.exit_code == ExitCode.USAGE


def test_a_sabbatical_error_is_one_line_on_stderr_without_traceback(tmp_path, cli):
    result = cli("--workspace", tmp_path / "nowhere", "paths")
    assert result.exit_code == ExitCode.ERROR
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: No sabbatical workspace")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "sabbatical", "--workspace", str(tmp_path / "x"), "paths"],
        capture_output=True,
        text=True,
        env={"SABBATICAL_DEBUG": "1", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode != 0 and "Traceback" in out.stderr and "WorkspaceNotFound" in out.stderr


def test_a_partial_failure_exits_3_and_lists_what_failed(cli):
    """Exit code 3 is the contract for partial work; the list of failures follows the summary."""
    import typer

    from sabbatical.cli import app
    from sabbatical.errors import PartialFailure

    probe = typer.Typer()

    @probe.command()
    def fail() -> None:
        raise PartialFailure("2 of 5 sources failed; the other 3 were read", ["a: timed out", "b: HTTP 404"])

    app.add_typer(probe, name="probe-partial")
    try:
        result = cli("probe-partial", "fail")
    finally:
        app.registered_groups.pop()
    assert result.exit_code == ExitCode.PARTIAL
    assert result.stderr.splitlines() == [
        "Error: 2 of 5 sources failed; the other 3 were read",
        "  - a: timed out",
        "  - b: HTTP 404",
    ]


def _cli_imports() -> dict[str, set[str]]:
    """Each module of sabbatical/cli and the modules of that package it imports, at any depth in its code."""
    import ast
    from pathlib import Path

    import sabbatical.cli

    folder = Path(sabbatical.cli.__file__).parent
    names = {path.stem for path in folder.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level == 1):
                continue
            if node.module:  # from .context import …
                found.add(node.module)
            else:  # from . import pile (a module) or from . import app (the package itself)
                found |= {a.name if a.name in names else "__init__" for a in node.names}
        graph[path.stem] = found & names
    return graph


def test_cli_modules_import_one_another_without_a_cycle():
    graph = _cli_imports()
    assert not [name for name, imported in graph.items() if "__init__" in imported]  # no sub-app reaches for the root
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        assert name not in visiting, f"import cycle: {' -> '.join([*visiting, name])}"
        if name in done:
            return
        visiting.append(name)
        for other in sorted(graph[name]):
            visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_pile_show_sections_are_declared_in_one_list():
    code = (
        "import sabbatical.cli.pile_show as s; print([f.__name__ for f in s.SHOW_SECTIONS]); "
        "import sabbatical.cli; print([f.__name__ for f in s.SHOW_SECTIONS])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert (
        out[0] == out[1] == str(["_header", "_text", "summary_section", "_history", "_topic_and_triage", "_cited_by"])
    )


def test_version_prints_the_installed_version_without_a_workspace(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"sabbatical {version('sabbatical')}"
