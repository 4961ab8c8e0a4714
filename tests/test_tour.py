"""The offline tour: a valid workspace from nothing, and a clean second run."""

from __future__ import annotations

from sabbatical.config import load_config
from sabbatical.errors import ExitCode


def test_tour_in_an_empty_folder_then_again(tmp_path, cli):
    target = tmp_path / "tour"
    first = cli("tour", target)
    assert first.exit_code == 0, first.stderr
    assert "• workspace: created" in first.stdout and "The tour is done" in first.stdout
    assert load_config(target / "sabbatical.toml").title
    second = cli("tour", target)
    assert second.exit_code == 0, second.stderr
    assert "reusing the workspace" in second.stdout


def test_tour_refuses_a_folder_with_other_things_in_it(tmp_path, cli):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    result = cli("tour", target)
    assert result.exit_code == ExitCode.ERROR and "not empty" in result.stderr
    assert [p.name for p in target.iterdir()] == ["thesis.tex"]
