"""The template notebooks' toy runs are examples: MLflow keeps them, the site leaves them out unless kept."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from sabbatical import track
from sabbatical.site.runs_source import runs_by_experiment
from sabbatical.sprints.scaffold import NOTEBOOKS, create_sprint


def template_code(name: str) -> str:
    text = resources.files("sabbatical.templates").joinpath("sprint", "notebooks", name).read_text(encoding="utf-8")
    return "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"] if cell["cell_type"] == "code")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_run_and_entry_a_template_notebook_makes_is_an_example(name):
    code = template_code(name)
    calls = [call for call in ("track.run(", "track.finding(", "track.note(", "track.failure(") if call in code]
    assert "track.run(" in calls
    for call in calls:
        for start in [i for i in range(len(code)) if code.startswith(call, i)]:
            depth, end = 0, start + len(call) - 1
            for end in range(start + len(call) - 1, len(code)):  # to the call's closing parenthesis
                depth += {"(": 1, ")": -1}.get(code[end], 0)
                if depth == 0:
                    break
            assert "example=True" in code[start:end], code[start : end + 1]


def test_an_example_run_stays_off_the_site_until_it_is_kept(workspace, monkeypatch):
    sprint = create_sprint(workspace, "Do examples stay examples?").sprint
    monkeypatch.chdir(sprint.notebooks_dir)
    with track.run("toy", sprint=sprint, example=True) as toy:
        toy.metric("loss", 0.4)
    with track.run("kept toy", sprint=sprint, example=True, tags={"sabbatical.publish": "true"}):
        pass
    with track.run("real", sprint=sprint):
        pass
    client = toy.client
    assert client.get_run(toy.id).data.tags["sabbatical.example"] == "true"  # MLflow keeps it, marked
    problems: list[str] = []
    shown = runs_by_experiment(workspace, [toy.experiment_id], problems)[toy.experiment_id]
    assert problems == []
    assert sorted(run.name for run in shown) == ["kept toy", "real"]
