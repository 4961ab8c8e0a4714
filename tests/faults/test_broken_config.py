"""A broken sabbatical.toml, several ways, under several commands: one clear line each, nothing touched.

Each kind of breakage (not TOML, not UTF-8, an unknown key or section, a wrong type, a section that is
not a table) is met by commands that read, write the pile, start a sprint and build the site. Every one
exits 1 with a single `Error:` line naming sabbatical.toml (and the key, where there is one), with no
traceback (`pile list`, which needs no setting, may list the pile instead); the pile, the sprints, the
site and the config file itself are exactly as before. Fixing the
file makes the same commands work.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from sabbatical.errors import ExitCode
from tests.faults.piles import ingested_state
from tests.faults.processes import assert_clean_failure, tree_digest

BROKEN = {
    "not TOML": (b'title = "an unterminated string\n', "not valid TOML"),
    "not UTF-8": (b'title = "caf\xe9"\n', "not valid TOML"),
    "unknown key": (b'[llm]\nbase_ulr = "http://127.0.0.1:9/v1"\n', "llm.base_ulr: unknown key"),
    "unknown section": (b'[lmm]\nmodel = "gpt-4o-mini"\n', "lmm: unknown key"),
    "wrong type": (b'[llm]\nconcurrency = "eight"\n', "llm.concurrency: must be"),
    "section not a table": (b'llm = "openai"\n', "llm: must be a table"),
}

SAMPLE = str(resources.files("sabbatical") / "samples" / "papers.atom")
# Every command needs the config except listing the pile, which only reads the pile and may go on working.
COMMANDS = [
    ("paths",),
    ("read", "file", SAMPLE, "--force"),
    ("pile", "list"),
    ("pile", "search", "attention"),
    ("pile", "summarise"),
    ("pile", "organise"),
    ("sprint", "list"),
    ("new-sprint", "Does a broken config stop a new sprint?"),
    ("site", "build"),
]


@pytest.fixture
def populated(cli, workspace):
    """A workspace with a pile and a sprint, made while its config was good."""
    assert cli("--workspace", workspace.root, "read", "file", SAMPLE).exit_code == 0
    made = cli("--workspace", workspace.root, "new-sprint", "Is the pile safe from a broken config?")
    assert made.exit_code == 0, made.stderr
    return workspace


def snapshot(workspace) -> dict[str, Any]:
    """The pile's rows (its file's bytes may move between the database and its log), every other file's bytes."""
    state: dict[str, Any] = {name: tree_digest(workspace.root / name) for name in ("sprints", "site", ".sabbatical")}
    state["pile"] = ingested_state(workspace.pile_path)
    state["config"] = workspace.config_path.read_bytes()
    return state


@pytest.mark.parametrize("kind", list(BROKEN))
def test_every_command_gives_one_clear_line_and_changes_nothing(cli, populated, kind):
    workspace = populated
    good = workspace.config_path.read_bytes()
    text, words = BROKEN[kind]
    workspace.config_path.write_bytes(text)
    before = snapshot(workspace)
    for command in COMMANDS:
        result = cli("--workspace", workspace.root, *command)
        said = result.stderr.strip().splitlines()
        assert_clean_failure(result.stderr)
        assert snapshot(workspace) == before, command
        if command == ("pile", "list") and result.exit_code == 0:
            continue
        assert result.exit_code == ExitCode.ERROR, (command, result.stdout, result.stderr)
        assert len(said) == 1 and said[0].startswith(f"Error: {workspace.config_path}: ") and words in said[0], (
            command,
            said,
        )

    workspace.config_path.write_bytes(good)
    for command in (("paths",), ("pile", "list"), ("sprint", "list")):
        assert cli("--workspace", workspace.root, *command).exit_code == 0, command
