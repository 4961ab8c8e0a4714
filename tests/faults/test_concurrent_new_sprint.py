"""Several `sabbatical new-sprint` commands at once in one workspace, as real processes.

They take turns: each sprint gets its own number, the same question twice gives the slug error once, and
each names its own MLflow experiment (made later, at its first tracked run). (Before they took turns, the later of two equal
questions reused the earlier one's experiment, failed on the folder, and deleted the experiment.)
"""

from __future__ import annotations

import subprocess

from sabbatical.errors import ExitCode
from sabbatical.sprints.model import all_sprints
from tests.faults.processes import cli_command, cli_env

QUESTIONS = ["Does warm-up help?", "Does warm-up help?", "Can retrieval replace fine-tuning?", "Is dropout needed?"]


def test_new_sprints_at_once_take_turns(workspace):
    processes = [
        subprocess.Popen(
            cli_command(workspace, "new-sprint", question),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        for question in QUESTIONS
    ]
    results = [(process.wait(timeout=300), *process.communicate()) for process in processes]

    failed = [stderr for code, _, stderr in results if code != 0]
    assert [code for code, _, _ in results].count(ExitCode.ERROR) == 1, results
    assert failed[0].startswith("Error: a sprint with the slug 'does-warm-up-help' already exists")
    sprints = all_sprints(workspace)
    assert sorted(sprint.id for sprint in sprints) == ["01", "02", "03"]
    assert sorted(sprint.meta.question for sprint in sprints) == sorted(set(QUESTIONS))
    assert len({sprint.meta.mlflow_experiment for sprint in sprints}) == 3
    assert not workspace.mlflow_db_path.exists()  # experiments are made at the first tracked run
