"""Shell completion through the real entry point, as a shell asks for it: the script to source, then the
words for what is typed so far."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _complete(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sabbatical"],
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("instruction", ["source_bash", "bash_source"])
def test_the_bash_script_names_the_command_and_asks_it_back(tmp_path, instruction):
    out = _complete(tmp_path, _SABBATICAL_COMPLETE=instruction)
    assert out.returncode == 0, out.stderr
    assert "complete -o default -F _sabbatical_completion sabbatical" in out.stdout
    assert "_SABBATICAL_COMPLETE=complete_bash" in out.stdout


def test_bash_completes_a_group_then_a_command_of_it(tmp_path):
    group = _complete(tmp_path, _SABBATICAL_COMPLETE="complete_bash", COMP_WORDS="sabbatical pi", COMP_CWORD="1")
    command = _complete(
        tmp_path, _SABBATICAL_COMPLETE="complete_bash", COMP_WORDS="sabbatical pile inb", COMP_CWORD="2"
    )
    assert group.stdout.split() == ["pile"], group.stderr
    assert command.stdout.split() == ["inbox"], command.stderr


def test_zsh_gets_each_command_with_its_help_line(tmp_path):
    out = _complete(tmp_path, _SABBATICAL_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="sabbatical sprint jou")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("_arguments") and '"journal":"List the journal' in out.stdout


def test_an_unknown_shell_is_refused_in_one_line(tmp_path):
    out = _complete(tmp_path, _SABBATICAL_COMPLETE="source_tcsh")
    assert out.returncode == 1
    assert out.stderr.strip() == "Shell tcsh not supported."
