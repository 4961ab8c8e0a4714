"""The default workspace in the user config dir: commands work from any folder that is in no workspace.

The rule, in order: --workspace, $SABBATICAL_WORKSPACE, the enclosing folder with sabbatical.toml, the
default workspace ($XDG_CONFIG_HOME/sabbatical). The autouse fixture points XDG_CONFIG_HOME into tmp_path.
"""

from __future__ import annotations

import json

from sabbatical.errors import ExitCode
from sabbatical.workspace import default_workspace_dir, init_workspace


def _root(cli, *args):
    result = cli(*args, "paths", "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)["workspace"]
    return shown["path"], shown["origin"]


def test_the_default_workspace_serves_any_folder_outside_a_workspace(tmp_path, isolated_env, cli, monkeypatch):
    default = default_workspace_dir()
    assert default == isolated_env / ".config" / "sabbatical"
    missing = cli("paths")
    assert missing.exit_code == ExitCode.ERROR and f"sabbatical init {default}" in missing.stderr

    assert cli("init", default).exit_code == 0
    elsewhere = tmp_path / "somewhere" / "deep"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert _root(cli) == (str(default), "the default workspace in the user config dir")

    project, _ = init_workspace(tmp_path / "somewhere" / "project")
    monkeypatch.chdir(project.root)
    assert _root(cli)[0] == str(project.root)  # an enclosing workspace wins
    other, _ = init_workspace(tmp_path / "other")
    monkeypatch.setenv("SABBATICAL_WORKSPACE", str(other.root))
    assert _root(cli)[0] == str(other.root)  # then the environment
    assert _root(cli, "--workspace", project.root)[0] == str(project.root)  # and --workspace first


def test_the_default_follows_xdg_config_home_and_home():
    assert default_workspace_dir({"XDG_CONFIG_HOME": "/cfg", "HOME": "/h"}).as_posix() == "/cfg/sabbatical"
    assert default_workspace_dir({"HOME": "/h"}).as_posix() == "/h/.config/sabbatical"
