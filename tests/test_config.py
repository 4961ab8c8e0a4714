"""sabbatical.toml validation: one line naming the file, the key and what is allowed."""

from __future__ import annotations

import pytest

from sabbatical.config import load_config, render_template
from sabbatical.errors import ConfigError, ExitCode
from sabbatical.workspace import init_workspace


def test_the_template_loads_to_the_defaults(tmp_path):
    path = tmp_path / "sabbatical.toml"
    path.write_text(render_template())
    config = load_config(path)
    assert config.llm.concurrency == 8 and config.sprints.days == 14 and config.llm.base_url == ""


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("title = ", None, "not valid TOML"),
        ("colour = 'blue'", "colour", "allowed: title, author, reading"),
        ("[llm]\nmodle = 'x'", "llm.modle", "allowed in [llm]: base_url, model"),
        ("[llm]\nconcurrency = 'eight'", "llm.concurrency", "must be a whole number, got str 'eight'"),
        ("[llm]\nconcurrency = true", "llm.concurrency", "must be a whole number"),
        ("[reading]\ninterests = 'ml'", "reading.interests", "must be a list of strings"),
        ("[reading]\ninterests = ['ml', 3]", "reading.interests", "must be a list of strings"),
        ("llm = 3", "llm", "must be a table"),
        ("[llm.prices]\ngpt = 'cheap'", "llm.prices", "a table whose values are a list of numbers"),
    ],
)
def test_bad_config_names_file_key_and_allowed(tmp_path, text, key, words):
    path = tmp_path / "sabbatical.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message
    assert info.value.key == key


def test_numbers_are_accepted_where_floats_are_expected(tmp_path):
    path = tmp_path / "sabbatical.toml"
    path.write_text("[llm]\ntimeout = 5\nprices = {m = [1, 2.5]}\n")
    config = load_config(path)
    assert config.llm.timeout == 5.0 and isinstance(config.llm.timeout, float)
    assert config.llm.prices == {"m": [1, 2.5]}


def test_cli_reports_a_broken_config_in_one_line(tmp_path, cli):
    ws, _ = init_workspace(tmp_path / "ws")
    ws.config_path.write_text("[tracking]\nuri = 5\n")
    result = cli("--workspace", ws.root, "paths")
    assert result.exit_code == ExitCode.ERROR
    lines = result.stderr.strip().splitlines()
    assert lines == [f"Error: {ws.config_path}: tracking.uri: must be a string, got int 5"]
