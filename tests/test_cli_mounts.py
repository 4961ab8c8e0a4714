"""Start-up: the command line mounts only the sub-app it is asked for, and the table of mounts says the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.main import get_command

from sabbatical.cli import MOUNTS, build_app, invoked_name


def _top_names(names: list[str] | None) -> set[str]:
    return set(get_command(build_app(names)).commands)  # type: ignore[attr-defined]


def test_the_whole_app_brings_exactly_the_names_of_the_table():
    assert _top_names(None) == {name for mount in MOUNTS for name in mount.brings}


@pytest.mark.parametrize("mount", MOUNTS, ids=lambda m: f"{m.module}.{m.attribute}")
def test_each_mount_brings_the_names_it_says(mount):
    assert _top_names([mount.brings[0]]) == set(mount.brings)


def test_sprint_feedback_is_mounted_once_however_often_the_app_is_built():
    for _ in range(3):
        group = get_command(build_app(["sprint"])).commands["sprint"]  # type: ignore[attr-defined]
    assert "feedback" in group.commands
    from sabbatical.cli.sprint import sprint

    assert sum(g.name == "feedback" for g in sprint.registered_groups) == 1


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["pile", "inbox"], "pile"),
        (["-w", "pile", "sprint", "status"], "sprint"),  # "pile" is the workspace folder here
        (["--workspace", "x", "init"], "init"),
        (["--workspace=x", "new-sprint", "Q?"], "new-sprint"),
        (["-wfolder", "site", "build"], "site"),
        (["--", "read", "update"], "read"),
        (["--help"], None),
        (["-h", "pile"], None),
        (["--version"], None),
        ([], None),
        (["-w"], None),
        (["no-such-command"], None),
        (["--", "no-such-command"], None),
    ],
)
def test_the_invoked_name_is_read_past_the_root_options(args, name):
    assert invoked_name(args) == name


def _run(args: list[str]) -> tuple[str, list[str]]:
    code = (
        "import sys, json\n"
        f"sys.argv = ['sabbatical', *{args!r}]\n"
        "from sabbatical.cli import main\n"
        "try:\n    main()\n"
        "except SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('sabbatical.cli'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *printed, modules = out.stdout.strip().splitlines()
    return "\n".join(printed), json.loads(modules)


def test_a_pile_command_imports_no_other_group(tmp_path):
    _, modules = _run(["-w", str(tmp_path / "nowhere"), "pile", "stats"])
    assert "sabbatical.cli.pile" in modules
    assert not {f"sabbatical.cli.{m}" for m in ("read", "site", "sprint", "sprint_feedback", "workspace")} & set(
        modules
    )


def test_top_level_help_still_lists_every_group_with_its_help_line():
    printed, _ = _run(["--help"])
    for name in {name for mount in MOUNTS for name in mount.brings}:
        assert f" {name} " in printed, name
    assert "Inspect, search, organise, triage and export the pile." in printed
    assert "Two-week sprints" in printed


def test_an_unknown_command_is_refused_at_the_root_as_before():
    out = subprocess.run([sys.executable, "-m", "sabbatical", "no-such-command"], capture_output=True, text=True)
    assert out.returncode == 2 and "No such command 'no-such-command'" in out.stderr


def _group_commands() -> list[tuple[str, str]]:
    whole = get_command(build_app())
    return [
        (group, command)
        for group, sub in whole.commands.items()  # type: ignore[attr-defined]
        for command in getattr(sub, "commands", {})
    ]


@pytest.mark.parametrize(("group", "command"), _group_commands(), ids=lambda p: str(p))
def test_a_group_built_for_one_command_has_it_alone_and_the_same(group, command):
    whole = get_command(build_app()).commands[group].commands[command]  # type: ignore[attr-defined]
    alone = get_command(build_app([group], command)).commands[group]  # type: ignore[attr-defined]
    assert list(alone.commands) == [command]
    built = alone.commands[command]
    assert [p.opts for p in built.params] == [p.opts for p in whole.params]
    assert built.help == whole.help and type(built) is type(whole)
    assert set(getattr(built, "commands", {})) == set(getattr(whole, "commands", {}))


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["pile", "inbox", "-n", "3"], "inbox"),
        (["-w", "x", "pile", "topic", "rename", "1", "a"], "topic"),
        (["sprint", "feedback", "import"], "feedback"),
        (["pile", "--help"], None),
        (["pile"], None),
        (["init", "folder"], None),  # a root command: no group to narrow
        (["--help", "pile", "inbox"], None),
    ],
)
def test_the_invoked_command_of_a_group_is_read_after_its_name(args, command):
    from sabbatical.cli import invoked_command

    assert invoked_command(args) == command


def test_a_name_the_group_does_not_have_builds_the_whole_group():
    alone = get_command(build_app(["pile"], "no-such-command")).commands["pile"]  # type: ignore[attr-defined]
    assert {"inbox", "stats", "topic", "summarise"} <= set(alone.commands)


def test_a_pile_command_runs_with_its_group_built_for_it(tmp_path):
    printed, _ = _run(["-w", str(tmp_path / "nowhere"), "pile", "inbox", "--help"])
    assert "--limit" in printed and "insight × relevance × recency" in printed


def _blas_threads_after(args: list[str], env: dict[str, str]) -> str:
    code = (
        "import os, sys\n"
        f"sys.argv = ['sabbatical', *{args!r}]\n"
        "from sabbatical.cli import main\n"
        "try:\n    main()\n"
        "except SystemExit:\n    pass\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS', 'unset'))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**environ, **env})
    return out.stdout.strip().splitlines()[-1]


def test_the_daily_pile_commands_ask_for_one_blas_thread_and_a_users_setting_wins(tmp_path):
    w = ["-w", str(tmp_path / "nowhere")]
    assert _blas_threads_after([*w, "pile", "inbox"], {}) == "1"
    assert _blas_threads_after([*w, "pile", "stats"], {"OPENBLAS_NUM_THREADS": "4"}) == "4"
    assert _blas_threads_after([*w, "pile", "organise"], {}) == "unset"  # a fit over the whole pile: BLAS's choice
