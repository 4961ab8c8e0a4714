"""`sabbatical new-sprint`: the folder, its experiment's name (not MLflow), dates, slugs, the reading list, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import nbformat
import pytest
import yaml

from sabbatical import db
from sabbatical.errors import ExitCode
from sabbatical.sprints.model import Sprint
from sabbatical.sprints.scaffold import slugify
from sabbatical.sprints.tracking import experiment_name
from sabbatical.workspace import Workspace, init_workspace


def front_matter(folder: Path) -> dict:
    text = (folder / "sprint.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders): 'unchanged' means equal snapshots."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


def experiments(workspace: Workspace) -> list:
    from mlflow import MlflowClient

    if not workspace.mlflow_db_path.exists():
        return []
    return MlflowClient(tracking_uri=workspace.tracking_uri).search_experiments(view_type=3)  # ALL


def test_new_sprint_makes_the_folder_and_its_experiment(workspace, cli):
    result = cli(
        "-w",
        workspace.root,
        "new-sprint",
        "Does warm-up help small transformers learn?",
        "--hypothesis",
        "Yes, below 10M parameters",
        "--start",
        "2030-03-04",
        "--days",
        "10",
    )
    assert result.exit_code == 0, result.stderr
    folder = workspace.sprints_dir / "01-does-warm-up-help-small-transformers-learn"
    assert "Sprint 01 started in sprints/01-does-warm-up-help-small-transformers-learn/" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["artifacts", "journal.jsonl", "notebooks", "sprint.md"]
    assert (folder / "journal.jsonl").read_text() == ""
    meta = front_matter(folder)
    assert meta["id"] == "01" and meta["status"] == "open" and meta["private"] is False
    assert meta["question"] == "Does warm-up help small transformers learn?"
    assert meta["hypothesis"] == "Yes, below 10M parameters"
    assert (meta["start"], meta["end"]) == ("2030-03-04", "2030-03-13")
    text = (folder / "sprint.md").read_text(encoding="utf-8")
    for section in ("Question", "Hypothesis", "Plan", "Reading list", "Notes", "Retro"):
        assert f"\n## {section}\n" in text

    for name in ("01-explore.ipynb", "02-experiment.ipynb"):
        notebook = nbformat.read(folder / "notebooks" / name, as_version=4)
        nbformat.validate(notebook)
        assert "Does warm-up help small transformers learn?" in notebook.cells[0].source
        assert any("from sabbatical import track" in cell.source for cell in notebook.cells)

    assert meta["mlflow_experiment"] == "Sprint 1 · Does warm-up help small transformers learn?"
    assert meta["mlflow_experiment_id"] is None  # made at the first tracked run
    assert 'MLflow    experiment "Sprint 1 · Does warm-up help small transformers learn?"' in result.stdout
    assert not workspace.mlflow_db_path.exists()
    assert not [p for p in workspace.sprints_dir.iterdir() if p.name.startswith(".")]


# A runner that reports, as the process exits, which of MLflow's packages it had imported.
IMPORT_REPORT = """
import atexit, json, runpy, sys
report_path = sys.argv[1]
def report():
    heavy = sorted({name.split(".")[0] for name in sys.modules} & {"mlflow", "sqlalchemy", "alembic"})
    with open(report_path, "w") as out:
        json.dump(heavy, out)
atexit.register(report)
sys.argv = ["sabbatical", *sys.argv[2:]]
runpy.run_module("sabbatical", run_name="__main__")
"""


def test_new_sprint_never_imports_mlflow(workspace, tmp_path):
    report = tmp_path / "imported.json"
    env = {**os.environ, "SABBATICAL_WORKSPACE": str(workspace.root)}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_REPORT, str(report), "new-sprint", "Is MLflow loaded?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Sprint 01 started" in done.stdout
    assert json.loads(report.read_text()) == []
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_REPORT, str(report), "sprint", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and "Is MLflow loaded?" in done.stdout, done.stderr
    assert json.loads(report.read_text()) == []


@pytest.mark.parametrize(
    ("number", "question", "name"),
    [
        (
            3,
            "Do induction heads form at the same step across seeds and model widths in small transformers?",
            "Sprint 3 · Do induction heads form at the same step across seeds and…",
        ),
        (12, "Short?", "Sprint 12 · Short?"),
        (1, "  Spaces \n and\tnewlines   collapse ", "Sprint 1 · Spaces and newlines collapse"),
        (2, "x" * 100, "Sprint 2 · " + "x" * 60 + "…"),
        (4, "a" * 55 + ", then more words", "Sprint 4 · " + "a" * 55 + "…"),  # no comma before the ellipsis
    ],
)
def test_the_experiment_name_is_the_number_and_the_question_cut_between_words(number, question, name):
    assert experiment_name(number, question) == name
    assert len(name) <= 80


def test_sprints_number_on_and_start_after_the_previous_one(workspace, cli):
    assert cli("-w", workspace.root, "new-sprint", "First question", "--start", "2030-01-01").exit_code == 0
    second = cli("-w", workspace.root, "new-sprint", "Second question", "--days", "7")
    assert second.exit_code == 0, second.stderr
    meta = front_matter(workspace.sprints_dir / "02-second-question")
    assert (meta["start"], meta["end"]) == ("2030-01-15", "2030-01-21")
    assert second.stderr == ""


def test_after_a_closed_sprint_the_next_starts_today(workspace, cli):
    assert cli("-w", workspace.root, "new-sprint", "First question", "--start", "2030-01-01").exit_code == 0
    assert cli("-w", workspace.root, "sprint", "close", "--answer", "no", "--summary", "It did not").exit_code == 0
    assert cli("-w", workspace.root, "new-sprint", "Second question").exit_code == 0
    meta = front_matter(workspace.sprints_dir / "02-second-question")
    assert meta["start"] == date.today().isoformat()
    assert meta["end"] == (date.today() + timedelta(days=13)).isoformat()


def test_an_overlapping_open_sprint_is_a_warning(workspace, cli):
    assert cli("-w", workspace.root, "new-sprint", "First question", "--start", "2030-01-01").exit_code == 0
    result = cli("-w", workspace.root, "new-sprint", "Second question", "--start", "2030-01-10")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: the new sprint overlaps open sprint 01 (2030-01-01 → 2030-01-14)")
    assert (workspace.sprints_dir / "02-second-question").is_dir()


def test_a_private_sprint_says_so(workspace, cli):
    assert cli("-w", workspace.root, "new-sprint", "A secret question", "--private").exit_code == 0
    assert front_matter(workspace.sprints_dir / "01-a-secret-question")["private"] is True


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Können Übersetzungen helfen?", "konnen-ubersetzungen-helfen"),
        ("日本語の質問は大丈夫？", "日本語の質問は大丈夫"),
        ("../../etc/passwd", "etc-passwd"),
        ("  --weird__ name.. ", "weird-name"),
        ("What is " + "very " * 20 + "long?", "what-is-very-very-very-very-very-very-very-very"),
    ],
)
def test_slugs_are_safe_folder_names(text, slug):
    assert slugify(text) == slug
    assert "/" not in slug and ".." not in slug


def test_a_path_in_the_slug_stays_inside_sprints(workspace, cli):
    result = cli("-w", workspace.root, "new-sprint", "Where does it go?", "--slug", "../../../outside")
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in workspace.sprints_dir.iterdir()] == ["01-outside"]
    assert not (workspace.root.parent / "outside").exists()


def test_a_unicode_question_makes_a_unicode_folder(workspace, cli):
    result = cli("-w", workspace.root, "new-sprint", "Lernen Modelle schneller mit Übung?")
    assert result.exit_code == 0, result.stderr
    sprint = Sprint(workspace, "lernen-modelle-schneller-mit-ubung")
    assert sprint.meta.question == "Lernen Modelle schneller mit Übung?"


@pytest.fixture(scope="module")
def busy_workspace(tmp_path_factory):
    """A workspace with one sprint already, shared by the bad-input cases (none of them changes it)."""
    root = tmp_path_factory.mktemp("busy")
    workspace, _ = init_workspace(root / "ws")
    from sabbatical.sprints.scaffold import create_sprint

    create_sprint(workspace, "Existing question", start="2030-01-01")
    return workspace


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["   "], ExitCode.USAGE, "Error: the question is empty"),
        (["Q", "--days", "0"], ExitCode.USAGE, "Error: --days must be at least 1"),
        (["Q", "--start", "2030-02-10", "--end", "2030-02-01"], ExitCode.USAGE, "Error: the end 2030-02-01 is before"),
        (["Q", "--start", "2030-13-01"], ExitCode.USAGE, "Error: --start '2030-13-01' is not a date"),
        (["Q", "--end", "soon"], ExitCode.USAGE, "Error: --end 'soon' is not a date"),
        (["Q", "--days", "3", "--end", "2030-02-01"], ExitCode.USAGE, "Error: give --days or --end, not both"),
        (["Q", "--slug", "///"], ExitCode.USAGE, "Error: --slug '///' has no letters or digits"),
        (["Existing question!"], ExitCode.ERROR, "Error: a sprint with the slug 'existing-question' already exists"),
        (["Q", "--slug", "Existing-Question"], ExitCode.ERROR, "Error: a sprint with the slug 'existing-question'"),
    ],
    ids=[
        "empty",
        "zero-days",
        "end-before-start",
        "bad-start",
        "bad-end",
        "days-and-end",
        "empty-slug",
        "same-slug",
        "same-slug-given",
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(busy_workspace, cli, args, code, message):
    before = snapshot(busy_workspace.sprints_dir)
    experiments_before = [e.experiment_id for e in experiments(busy_workspace)]
    result = cli("-w", busy_workspace.root, "new-sprint", *args)
    assert result.exit_code == code
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert snapshot(busy_workspace.sprints_dir) == before
    assert [e.experiment_id for e in experiments(busy_workspace)] == experiments_before


# -- the reading list -------------------------------------------------------------------------------------
def add_items(workspace: Workspace, items: list[dict]) -> None:
    conn = db.connect(workspace.pile_path)
    add_items_to(conn, items)
    conn.close()


def add_items_to(conn, items: list[dict]) -> None:
    with db.transaction(conn):
        for item in items:
            conn.execute(
                "INSERT INTO items (id, kind, title, abstract, url, content_hash, private) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    item["id"],
                    item.get("kind", "paper"),
                    item["title"],
                    item.get("abstract", ""),
                    item.get("url"),
                    "hash-" + item["id"],
                    int(item.get("private", False)),
                ),
            )
            if item.get("tldr"):
                conn.execute(
                    "INSERT INTO summaries (item_id, content_hash, prompt_version, model, producer, status, "
                    "tldr, contribution) VALUES (?, ?, 'v1', 'offline-extractive', 'offline', 'ok', ?, ?)",
                    (item["id"], "hash-" + item["id"], item["tldr"], item.get("contribution")),
                )
        for item in items:
            if item.get("dropped"):
                conn.execute("INSERT INTO events (subject, action) VALUES (?, 'drop')", (item["id"],))


PILE = [
    {
        "id": "arxiv:2001.00001",
        "title": "Learning rate warmup for transformers",
        "url": "https://arxiv.org/abs/2001.00001",
        "abstract": "Warmup stabilises transformer training.",
        "tldr": "Warmup avoids early divergence.",
        "contribution": "new_insight",
    },
    {
        "id": "https://blog.example/warmup",
        "kind": "post",
        "title": "Why warmup works",
        "url": "https://blog.example/warmup",
        "abstract": "A blog post on warmup schedules for small transformers.",
    },
    {"id": "arxiv:2001.00002", "title": "Protein folding at scale", "abstract": "Nothing about the question."},
    {"id": "arxiv:2001.00003", "title": "Secret warmup notes", "abstract": "warmup transformers", "private": True},
    {"id": "arxiv:2001.00004", "title": "Dropped warmup paper", "abstract": "warmup transformers", "dropped": True},
]


def test_the_reading_list_comes_from_the_pile(workspace, cli):
    add_items(workspace, PILE)
    result = cli("-w", workspace.root, "new-sprint", "Does warmup help small transformers?")
    assert result.exit_code == 0, result.stderr
    assert "reading   2 items from the pile" in result.stdout
    section = (workspace.sprints_dir / "01-does-warmup-help-small-transformers" / "sprint.md").read_text()
    section = section.split("## Reading list\n", 1)[1].split("\n## ", 1)[0]
    lines = sorted(line.split(". ", 1)[1] for line in section.splitlines() if line[:1].isdigit())
    assert lines == [
        "**[Learning rate warmup for transformers](https://arxiv.org/abs/2001.00001)** (paper, new insight): "
        "Warmup avoids early divergence. `arxiv:2001.00001`",
        "**[Why warmup works](https://blog.example/warmup)** (post): not summarised yet `https://blog.example/warmup`",
    ]
    assert "Protein" not in section and "Secret" not in section and "Dropped" not in section


def test_a_private_sprint_may_list_private_items(workspace, cli):
    add_items(workspace, PILE)
    assert cli("-w", workspace.root, "new-sprint", "Warmup for transformers?", "--private").exit_code == 0
    listed = json.loads(cli("-w", workspace.root, "sprint", "reading", "--json").stdout)
    assert "arxiv:2001.00003" in [entry["item_id"] for entry in listed["entries"]]


def test_without_a_pile_the_reading_list_says_so_and_makes_none(workspace, cli):
    assert cli("-w", workspace.root, "new-sprint", "Does warmup help?").exit_code == 0
    text = (workspace.sprints_dir / "01-does-warmup-help" / "sprint.md").read_text()
    assert "No pile yet (reading/pile.db does not exist)" in text
    assert not workspace.pile_path.exists()


def test_reading_refresh_rewrites_only_its_section(workspace, cli):
    assert cli("-w", workspace.root, "new-sprint", "Does warmup help small transformers?").exit_code == 0
    sprint_md = workspace.sprints_dir / "01-does-warmup-help-small-transformers" / "sprint.md"
    edited = sprint_md.read_text().replace(
        "## Notes\n", "## Notes\n\nMy own notes, with a `## fake` heading in code:\n```\n## not a section\n```\n"
    )
    sprint_md.write_text(edited)
    add_items(workspace, PILE)

    shown = cli("-w", workspace.root, "sprint", "reading", "01", "--json")
    assert sorted(entry["item_id"] for entry in json.loads(shown.stdout)["entries"]) == [
        "arxiv:2001.00001",
        "https://blog.example/warmup",
    ]
    assert sprint_md.read_text() == edited  # showing does not write

    refreshed = cli("-w", workspace.root, "sprint", "reading", "--refresh")
    assert refreshed.exit_code == 0, refreshed.stderr
    after = sprint_md.read_text()
    assert "Learning rate warmup for transformers" in after and "No pile yet" not in after
    assert "My own notes, with a `## fake` heading in code:\n```\n## not a section\n```\n" in after
    assert after.split("## Reading list")[0] == edited.split("## Reading list")[0]


def test_the_reading_list_is_searched_in_the_pile_it_is_handed(workspace):
    from sabbatical.sprints.scaffold import create_sprint

    conn = db.connect(":memory:")
    add_items_to(conn, PILE)
    made = create_sprint(workspace, "Does warmup help small transformers?", conn=conn)
    assert sorted(entry.item_id for entry in made.reading.entries) == [
        "arxiv:2001.00001",
        "https://blog.example/warmup",
    ]
    assert not workspace.pile_path.exists()  # the workspace's own pile was neither read nor made
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == len(PILE)  # and the handed one stays open


def test_a_damaged_pile_still_starts_the_sprint_and_says_why_the_list_is_empty(workspace, cli):
    workspace.pile_path.parent.mkdir(parents=True, exist_ok=True)
    workspace.pile_path.write_bytes(b"not a database at all" * 100)
    result = cli("-w", workspace.root, "new-sprint", "Does warmup help?")
    assert result.exit_code == 0, result.stderr
    assert "Warning: the reading list is empty because the pile" in result.stderr and "damaged" in result.stderr
    assert (workspace.sprints_dir / "01-does-warmup-help" / "sprint.md").exists()
    assert workspace.pile_path.read_bytes() == b"not a database at all" * 100
