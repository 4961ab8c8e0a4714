"""The README cannot drift: every command and config key is documented, and the quick start is real."""

from __future__ import annotations

import re
from pathlib import Path

from sabbatical.config import describe_keys
from tests.test_cli import _all_command_paths

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _documented_commands() -> set[str]:
    """Expand `sabbatical a b|c` rows of the README into 'a b', 'a c'."""
    found = set()
    for match in re.finditer(r"`sabbatical ([a-z][a-z\- ]*(?:\\\|[a-z\-]+)*)", README):
        words = match.group(1).strip().split(" ")
        *prefix, last = words
        for alternative in last.split("\\|"):
            found.add(" ".join([*prefix, alternative]))
    return found


def test_every_command_is_in_the_readme():
    documented = _documented_commands()
    leaves = {" ".join(p) for p in _all_command_paths() if p}
    missing = sorted(c for c in leaves if c not in documented and not any(d.startswith(c + " ") for d in documented))
    assert not missing, f"commands missing from the README: {missing}"


def test_every_config_key_is_in_the_readme_table():
    for key, default, doc in describe_keys():
        assert f"| `{key}` | `{default}` | {doc} |" in README, key


def test_the_quick_start_is_two_make_targets_that_exist():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make tour", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^tour:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
