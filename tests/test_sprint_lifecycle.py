"""A sprint's life: list, status, the journal from the CLI, close, reopen, and naming sprints."""

from __future__ import annotations

import json

import pytest

from sabbatical import track
from sabbatical.errors import ExitCode, NotFound
from sabbatical.sprints.model import Sprint
from sabbatical.sprints.scaffold import create_sprint
from tests.test_sprint_scaffold import front_matter, snapshot

SUMMARY_KEYS = {
    "id",
    "folder",
    "title",
    "question",
    "start",
    "end",
    "days",
    "days_left",
    "status",
    "answer",
    "private",
    "runs",
    "failures",
    "findings",
    "feedback",
    "notes",
    "mlflow_experiment_id",
}


@pytest.fixture
def two_sprints(workspace):
    first = create_sprint(workspace, "Does warmup help?", start="2030-01-01").sprint
    second = create_sprint(workspace, "Is dropout needed?", hypothesis="Not below 1M parameters").sprint
    return first, second


def journal_lines(sprint) -> list[dict]:
    """The journal's entries (run events left out)."""
    return [entry for entry in map(json.loads, sprint.journal_path.read_text().splitlines()) if "kind" in entry]


def test_list_shows_every_sprint_with_counts(two_sprints, cli, monkeypatch):
    _, second = two_sprints
    monkeypatch.chdir(second.notebooks_dir)
    with track.run("one"):
        track.failure("it broke")
    with track.run("two"):
        track.finding("it worked")
    assert cli("sprint", "log", "feedback", "Nice plot", "--from", "Ada").exit_code == 0

    listed = json.loads(cli("sprint", "list", "--json").stdout)
    assert [set(row) for row in listed] == [SUMMARY_KEYS, SUMMARY_KEYS]
    assert [(r["id"], r["runs"], r["failures"], r["findings"], r["feedback"]) for r in listed] == [
        ("01", 0, 0, 0, 0),
        ("02", 2, 1, 1, 1),
    ]
    assert listed[1]["start"] == "2030-01-15" and listed[1]["days_left"] == 14 and listed[1]["status"] == "open"

    table = cli("sprint", "list")
    assert table.exit_code == 0
    assert "warmup" in table.stdout and "2030-01-15 →" in table.stdout and "Is dropout" in table.stdout


def test_list_with_no_sprints_says_how_to_start(workspace, cli):
    result = cli("-w", workspace.root, "sprint", "list")
    assert result.exit_code == 0 and "No sprints yet" in result.stdout
    assert json.loads(cli("-w", workspace.root, "sprint", "list", "--json").stdout) == []


def test_status_marks_a_best_only_where_the_researcher_gave_the_goal(two_sprints, cli, monkeypatch):
    _, second = two_sprints
    monkeypatch.chdir(second.notebooks_dir)
    (second.workspace.root / "sabbatical.toml").write_text(
        (second.workspace.root / "sabbatical.toml").read_text().replace("metrics = {}", 'metrics = {accuracy = "max"}')
    )
    with track.run("training", params={"lr": 0.1}):
        for loss, accuracy, seconds in ((0.9, 0.5, 3.0), (0.3, 0.8, 2.0), (0.6, 0.7, 4.0)):
            track.metric("loss", loss, goal="min")
            track.metric("accuracy", accuracy)
            track.metric("time", seconds)
        track.metric("final_score", 0.25)
    status = json.loads(cli("sprint", "status", "--json").stdout)
    assert status["summary"]["id"] == "02" and status["hypothesis"] == "Not below 1M parameters"
    assert status["notebooks"] == ["01-explore.ipynb", "02-experiment.ipynb"]
    (run,) = status["runs"]
    assert run["name"] == "training" and run["status"] == "FINISHED" and run["params"] == {"lr": "0.1"}
    assert run["metrics"]["loss"] == {
        "best": 0.3,
        "best_step": 1,
        "last": 0.6,
        "last_step": 2,
        "goal": "min",
        "points": 3,
    }
    assert run["metrics"]["accuracy"]["best"] == 0.8 and run["metrics"]["accuracy"]["goal"] == "max"
    # Nobody said whether more time is better: no goal, and the "best" is simply the last value.
    assert run["metrics"]["time"]["goal"] is None and run["metrics"]["time"]["best"] == 4.0

    shown = cli("sprint", "status", "2")
    assert shown.exit_code == 0
    assert "Sprint 02 · Is dropout needed?" in shown.stdout and "loss ↓ 0.3 @1" in shown.stdout
    assert "accuracy ↑ 0.8 @1" in shown.stdout and "time 4 @2" in shown.stdout
    assert "final_score 0.25" in shown.stdout and "final_score 0.25 @" not in shown.stdout
    assert "time ↓" not in shown.stdout and "time ↑" not in shown.stdout


def test_a_goal_that_is_not_min_or_max_is_refused(two_sprints, monkeypatch):
    from sabbatical.errors import SabbaticalError

    _, second = two_sprints
    monkeypatch.chdir(second.notebooks_dir)
    with pytest.raises(SabbaticalError, match='say "min"'), track.run("bad goal"):
        track.metric("loss", 1.0, goal="lower")


@pytest.mark.parametrize("name", ["01", "1", "does-warmup-help", "01-does-warmup-help", "sprints/01-does-warmup-help"])
def test_a_sprint_is_named_by_number_slug_or_folder(two_sprints, name):
    first, _ = two_sprints
    assert Sprint(first.workspace, name).folder == first.folder


def test_no_id_means_the_latest_open_sprint(two_sprints, cli):
    first, second = two_sprints
    assert Sprint(first.workspace).folder == second.folder
    assert cli("-w", first.workspace.root, "sprint", "close", "--answer", "yes", "--summary", "Done").exit_code == 0
    assert Sprint(first.workspace).folder == first.folder


def test_an_unknown_sprint_is_one_line(two_sprints, cli):
    result = cli("-w", two_sprints[0].workspace.root, "sprint", "status", "07")
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr == "Error: No sprint 07 — `sabbatical sprint list` shows the sprints\n"


def test_log_writes_each_kind_to_the_journal(two_sprints, cli):
    first, second = two_sprints
    root = first.workspace.root
    assert cli("-w", root, "sprint", "log", "failure", "The GPU was busy").exit_code == 0
    assert cli("-w", root, "sprint", "log", "finding", "Warmup matters", "--sprint", "1").exit_code == 0
    assert cli("-w", root, "sprint", "log", "feedback", "Confusing axis", "--from", "Grace", "--private").exit_code == 0
    assert cli("-w", root, "sprint", "log", "note", "Ordered more RAM").exit_code == 0
    entries = journal_lines(second)
    assert [(e["kind"], e["text"], e["source"], e["private"]) for e in entries] == [
        ("failure", "The GPU was busy", "cli", False),
        ("feedback", "Confusing axis", "Grace", True),
        ("note", "Ordered more RAM", "cli", False),
    ]
    assert [e["text"] for e in journal_lines(first)] == ["Warmup matters"]
    assert all(e["time"].endswith("Z") for e in entries)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["log", "rumour", "x"], ExitCode.USAGE, "'rumour' is not one of"),
        (["log", "note", "   "], ExitCode.USAGE, "Error: the note is empty"),
        (["close", "--answer", "maybe", "--summary", "x"], ExitCode.USAGE, "'maybe' is not one of"),
        (["close", "--answer", "yes", "--summary", "  "], ExitCode.USAGE, "Error: the summary is empty"),
        (["close", "09", "--answer", "yes", "--summary", "x"], ExitCode.ERROR, "Error: No sprint 09"),
        (["reopen", "02"], ExitCode.ERROR, "Error: sprint 02 is already open"),
    ],
)
def test_bad_lifecycle_input_changes_nothing(two_sprints, cli, args, code, message):
    root = two_sprints[0].workspace.root
    before = snapshot(two_sprints[0].workspace.sprints_dir)
    result = cli("-w", root, "sprint", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert snapshot(two_sprints[0].workspace.sprints_dir) == before


def test_close_writes_the_retro_and_tags_the_experiment(two_sprints, cli):
    _, second = two_sprints
    root = second.workspace.root
    cli("-w", root, "sprint", "log", "finding", "Dropout hurts small models")
    cli("-w", root, "sprint", "log", "failure", "Could not reproduce the baseline")
    cli("-w", root, "sprint", "log", "feedback", "Show the variance", "--from", "Ada")
    cli("-w", root, "sprint", "log", "finding", "A private detail", "--private")
    with track.run("before the close", sprint=second):  # the run makes the experiment
        pass
    notes_before = second.document().section("Notes")

    result = cli("-w", root, "sprint", "close", "02", "--answer", "partly", "--summary", "Mostly not needed.")
    assert result.exit_code == 0, result.stderr
    meta = front_matter(second.folder)
    assert (meta["status"], meta["answer"]) == ("closed", "partly") and meta["closed"]
    retro = second.document().section("Retro")
    assert "**Answer: partly**" in retro and "Mostly not needed." in retro
    assert "- Dropout hurts small models" in retro and "- Could not reproduce the baseline" in retro
    assert "- Show the variance (from Ada)" in retro
    assert "A private detail" not in retro
    assert second.document().section("Notes") == notes_before

    from mlflow import MlflowClient

    tags = MlflowClient(tracking_uri=second.workspace.tracking_uri).get_experiment(meta["mlflow_experiment_id"]).tags
    assert (tags["sabbatical.status"], tags["sabbatical.answer"]) == ("closed", "partly")

    again = cli("-w", root, "sprint", "close", "02", "--answer", "yes", "--summary", "x")
    assert again.exit_code == ExitCode.ERROR and "already closed" in again.stderr
    listed = json.loads(cli("-w", root, "sprint", "list", "--json").stdout)
    assert (listed[1]["status"], listed[1]["answer"], listed[1]["days_left"]) == ("closed", "partly", None)


def test_reopen_makes_it_active_again(two_sprints, cli):
    first, _ = two_sprints
    root = first.workspace.root
    with track.run("makes the experiment", sprint=first):
        pass
    assert cli("-w", root, "sprint", "close", "1", "--answer", "no", "--summary", "No.").exit_code == 0
    result = cli("-w", root, "sprint", "reopen", "1")
    assert result.exit_code == 0 and "Reopened sprint 01" in result.stdout
    meta = front_matter(first.folder)
    assert meta["status"] == "open" and "answer" not in meta
    assert "the retro below is from the earlier close" in first.document().section("Retro")
    assert [e["text"] for e in journal_lines(first)][-1] == "reopened (it was closed with answer no)"

    from mlflow import MlflowClient

    tags = MlflowClient(tracking_uri=first.workspace.tracking_uri).get_experiment(meta["mlflow_experiment_id"]).tags
    assert tags["sabbatical.status"] == "open"


def test_no_open_sprint_is_a_clear_error(workspace, cli):
    create_sprint(workspace, "Only one")
    assert cli("-w", workspace.root, "sprint", "close", "--answer", "yes", "--summary", "ok").exit_code == 0
    result = cli("-w", workspace.root, "sprint", "log", "note", "hello")
    assert result.exit_code == ExitCode.ERROR and result.stderr.startswith("Error: No open sprint")
    with pytest.raises(NotFound):
        Sprint(workspace)


def test_a_broken_sprint_md_names_the_file(workspace, cli):
    made = create_sprint(workspace, "Fragile").sprint
    made.sprint_md.write_text("---\nid: [unclosed\n---\n")
    result = cli("-w", workspace.root, "sprint", "status", "1")
    assert result.exit_code == ExitCode.ERROR
    assert "sprint.md: the front matter is not valid YAML" in result.stderr and result.stderr.count("\n") == 1


def test_a_piped_list_keeps_each_sprint_on_one_line(workspace):
    import os
    import subprocess
    import sys

    meta = create_sprint(workspace, "Does a cosine learning-rate schedule with warm-up beat a constant rate?").meta
    # An explicit environment: readline (loaded by the test runner) sets COLUMNS in the process's C environ.
    plain = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    command = [sys.executable, "-m", "sabbatical", "-w", str(workspace.root), "sprint", "list"]
    piped = subprocess.run(command, capture_output=True, text=True, check=True, env=plain).stdout.splitlines()
    assert len(piped) == 3  # header, rule, the sprint
    assert piped[2].startswith(" 01 ") and meta.question in piped[2] and f"{meta.start} → {meta.end}" in piped[2]
    narrow = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**plain, "COLUMNS": "60"}
    ).stdout.splitlines()
    assert len(narrow) > 3 and max(len(line) for line in narrow) <= 60
