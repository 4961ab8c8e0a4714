"""Help reads as words: no Python types beside options (`<bool>`, `<list[str]>`), brackets in help text
shown as written, and scikit-learn's vocabulary warning kept off the terminal."""

from __future__ import annotations

import re
import subprocess
import sys

import typer

from sabbatical.cli import app
from sabbatical.cli.help_words import words_for


def _every_command(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name)
        if hasattr(command, "commands"):
            yield from _every_command(command, (*path, name))


def test_no_help_page_shows_a_python_type(cli):
    root = typer.main.get_command(app)
    paths = list(_every_command(root))
    assert len(paths) > 40
    for path in paths:
        result = cli(*path, "--help", env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        found = re.findall(r"<(?:bool|str|int|float|list\[[^\]]*\]|Path|path|int range)>", result.stdout)
        assert not found, (path, found)


def test_types_read_as_words_and_flags_show_none(cli):
    tag = cli("pile", "tag", "--help", env={"COLUMNS": "200"}).stdout
    assert re.search(r"tags\.\.\.\s+TEXT\s+Tags to add", tag)
    assert re.search(r"--remove\s+Remove these tags", tag)
    days = cli("new-sprint", "--help", env={"COLUMNS": "200"}).stdout
    assert "(default: [sprints] days, 14)" in days and re.search(r"--days\s+INTEGER", days)
    assert [words_for(x) for x in ("<list[str]>", "<int range>", "<Path>", "<a|b>")] == [
        "TEXT",
        "INTEGER",
        "PATH",
        "a|b",
    ]


VOCABULARY_WITH_CAPITALS = (
    "from sklearn.feature_extraction.text import TfidfVectorizer\n"
    "TfidfVectorizer(vocabulary={'Qubit': 0, 'photon': 1}).fit_transform(['qubit photon'])\n"
)


def test_sklearns_vocabulary_warning_never_reaches_the_terminal():
    def stderr_of(prelude: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", prelude + VOCABULARY_WITH_CAPITALS], capture_output=True, text=True, check=True
        ).stderr

    assert "Upper case characters found in vocabulary" in stderr_of("")  # what the terminal would show
    assert "Upper case" not in stderr_of("import sabbatical.cli\n")
