"""A sprint's record stays honest: numbered entries that can be retracted, re-runs that supersede instead of
doubling, entries after the close marked stale, examples kept off the site, and citations checked both ways.

Real journals, a real MLflow store (for the runs), a real pile database, the real CLI.
"""

from __future__ import annotations

import json
import warnings

import pytest

from sabbatical import db, track
from sabbatical.site.sprint_source import site_sprint_of
from sabbatical.sprints.model import Sprint
from sabbatical.sprints.scaffold import create_sprint
from tests.helpers.organise_pile import add_item


@pytest.fixture
def sprint(workspace, monkeypatch):
    made = create_sprint(workspace, "Does warmup help small transformers?", start="2030-01-01").sprint
    monkeypatch.chdir(made.notebooks_dir)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("SABBATICAL_EXECUTION", raising=False)
    return made


def numbered(cli, *args) -> list[dict]:
    result = cli("sprint", "journal", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def fresh(sprint) -> Sprint:
    return Sprint(sprint.workspace, folder=sprint.folder)


def published(sprint) -> list[str]:
    return [entry.text for entry in site_sprint_of(fresh(sprint)).entries]


def test_entries_are_numbered_and_a_retraction_keeps_the_line(sprint, cli):
    cli("sprint", "log", "finding", "warmup halves the loss spikes")
    cli("sprint", "log", "failure", "cosine schedule diverged")
    before = sprint.journal_path.read_text()
    assert [(e["number"], e["kind"]) for e in numbered(cli)] == [(1, "finding"), (2, "failure")]

    done = cli("sprint", "log", "--retract", "1", "--why", "the spikes came from a bad batch")
    assert done.exit_code == 0 and "Retracted entry 1" in done.stdout
    # Editing is a retraction plus a new entry; nothing written before is changed.
    cli("sprint", "log", "finding", "warmup does not change the loss spikes")
    assert sprint.journal_path.read_text().startswith(before)
    assert [(e["number"], e["text"]) for e in numbered(cli)] == [
        (2, "cosine schedule diverged"),
        (3, "warmup does not change the loss spikes"),
    ]
    everything = numbered(cli, "--all")
    assert everything[0]["retracted"] == "the spikes came from a bad batch" and not everything[0]["current"]
    assert "warmup halves" not in " ".join(published(sprint))
    listed = json.loads(cli("sprint", "list", "--json").stdout)[0]
    assert (listed["findings"], listed["failures"]) == (1, 1)

    assert cli("sprint", "close", "--answer", "no", "--summary", "It does not.").exit_code == 0
    retro = fresh(sprint).document().section("Retro")
    assert "does not change the loss spikes" in retro and "halves" not in retro


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--retract", "1"], 2, "say why"),
        (["--retract", "9", "--why", "typo"], 1, "no journal entry 9"),
        (["--retract", "1", "--why", "x", "finding", "new"], 2, "stand alone"),
        (["--keep", "1"], 2, "neither an example"),
    ],
)
def test_a_bad_correction_is_one_line_and_changes_nothing(sprint, cli, args, code, message):
    cli("sprint", "log", "finding", "something")
    before = sprint.journal_path.read_text()
    result = cli("sprint", "log", *args)
    assert result.exit_code == code and message in result.stderr
    assert sprint.journal_path.read_text() == before


def test_a_failed_run_says_its_error_once(sprint):
    with pytest.raises(FloatingPointError), track.run("blow-up"):
        raise FloatingPointError("loss blew up at step 3")
    with pytest.raises(ValueError), track.run("long error"):
        raise ValueError("bad shape\nexpected (3, 4)\ngot (4, 3)")
    first, second = [entry for entry in fresh(sprint).journal() if entry.kind == "failure"]
    assert first.text == "run 'blow-up' failed with FloatingPointError: loss blew up at step 3"
    assert "why" not in first.extra
    assert second.text == "run 'long error' failed with ValueError: bad shape"
    assert second.extra["why"] == "expected (3, 4)\ngot (4, 3)"


@pytest.fixture
def three_sprints(workspace):
    made = [
        create_sprint(workspace, question, start=start).sprint
        for question, start in (
            ("Does warmup help small transformers?", "2030-01-01"),
            ("Is dropout needed below a million parameters?", "2030-01-15"),
            ("Does warmup length matter for dropout-free models?", "2030-02-01"),
        )
    ]
    return made


@pytest.mark.parametrize(
    ("name", "index"),
    [("does-warmup-h", 0), ("is-d", 1), ("dropout needed", 1), ("MILLION", 1), ("length", 2), ("03-does", 2)],
)
def test_a_sprint_is_named_by_a_unique_prefix_or_words_of_its_question(three_sprints, name, index):
    assert Sprint(three_sprints[0].workspace, name).folder == three_sprints[index].folder


def test_a_name_that_fits_two_sprints_says_which(three_sprints, cli):
    result = cli("-w", three_sprints[0].workspace.root, "sprint", "status", "warmup")
    assert result.exit_code == 2
    assert "01-does-warmup-help-small-transformers" in result.stderr and "03-" in result.stderr


def test_with_every_sprint_closed_log_says_how_to_name_one_and_reopen_warns_of_overlap(three_sprints, cli):
    root = three_sprints[0].workspace.root
    for number in ("1", "2", "3"):
        assert cli("-w", root, "sprint", "close", number, "--answer", "partly", "--summary", "Done.").exit_code == 0
    result = cli("-w", root, "sprint", "log", "note", "one more thing")
    assert result.exit_code == 1 and "--sprint 03" in result.stderr and "sprint reopen 03" in result.stderr

    assert cli("-w", root, "sprint", "reopen", "2").exit_code == 0
    result = cli("-w", root, "sprint", "reopen", "1")
    assert result.exit_code == 0 and "sprint 02" in result.stderr and "open too" in result.stderr
    assert "overlaps" not in result.stderr  # sprint 1 ends on 2030-01-14, the day before sprint 2 starts


def test_reopen_warns_when_dates_overlap(workspace, cli):
    create_sprint(workspace, "First question here", start="2030-01-01", days=20)
    create_sprint(workspace, "Second question here", start="2030-01-10")
    cli("-w", workspace.root, "sprint", "close", "1", "--answer", "yes", "--summary", "Yes.")
    result = cli("-w", workspace.root, "sprint", "reopen", "1")
    assert result.exit_code == 0 and "overlaps this sprint's dates" in result.stderr
    assert "sprint 02" in result.stderr


def test_an_entry_after_the_close_warns_and_leaves_the_retro_stale_until_kept(sprint, cli):
    cli("sprint", "log", "finding", "warmup helps")
    cli("sprint", "close", "--answer", "yes", "--summary", "It helps.")
    result = cli("sprint", "log", "feedback", "the plot axis is unlabelled", "--sprint", "01")
    assert result.exit_code == 0 and "is closed" in result.stderr and "--keep" in result.stderr
    with pytest.warns(track.SprintClosedWarning, match="logged after the close"):
        track.note("re-ran the notebook after closing")

    entries = fresh(sprint).journal()
    late = [entry for entry in entries if entry.after_close]
    assert [entry.number for entry in late] == [3, 4] and all(entry.stale for entry in late)
    retro = fresh(sprint).document().section("Retro")
    assert retro.strip().startswith("_Stale: 2 journal entries (3, 4) came after the close")
    details = {entry.text: entry.details for entry in site_sprint_of(fresh(sprint)).entries}
    assert details["the plot axis is unlabelled"]["after_close"] == "stale"

    assert cli("sprint", "log", "--keep", "3", "--sprint", "01").exit_code == 0
    assert fresh(sprint).document().section("Retro").strip().startswith("_Stale: 1 journal entry (4)")
    assert cli("sprint", "reopen", "01").exit_code == 0
    assert not any(entry.stale for entry in fresh(sprint).journal())
    assert "_Stale" not in fresh(sprint).document().section("Retro")


def test_examples_are_not_published_unless_kept(sprint, cli):
    track.finding("learning rate 0.4 reaches the lowest loss", example=True)
    track.finding("warmup helps at 10M parameters")
    assert published(sprint) == ["warmup helps at 10M parameters"]
    status = cli("sprint", "status")
    assert "example, not published" in status.stdout
    cli("sprint", "log", "--keep", "1")
    assert published(sprint) == ["learning rate 0.4 reaches the lowest loss", "warmup helps at 10M parameters"]


def test_a_new_execution_of_a_notebook_supersedes_what_the_last_one_logged(sprint, cli, monkeypatch):
    notebook = sprint.notebooks_dir / "02-experiment.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    for execution, slope in (("first", "3.1"), ("second", "2.9")):
        monkeypatch.setenv("SABBATICAL_EXECUTION", execution)
        track.finding("warmup halves the spikes")
        track.note(f"fitted slope {slope}")
    monkeypatch.delenv("JPY_SESSION_NAME")
    track.note("written from a script, in no notebook")  # never superseded by a notebook's re-run

    entries = fresh(sprint).journal()
    assert [(e.number, e.current) for e in entries] == [(1, False), (2, False), (3, True), (4, True), (5, True)]
    assert entries[2].seen_before == 1 and entries[3].seen_before == 0
    lines = [json.loads(line) for line in sprint.journal_path.read_text().splitlines()]
    events = [{key: value for key, value in line.items() if key != "time"} for line in lines if "kind" not in line]
    assert events == [
        {"event": "superseded", "entries": [1, 2], "notebook": "02-experiment.ipynb", "execution": "second"}
    ]
    assert published(sprint) == [
        "warmup halves the spikes",
        "fitted slope 2.9",
        "written from a script, in no notebook",
    ]
    status = cli("sprint", "status")
    assert "warmup halves the spikes  [also seen in 1 earlier run]" in status.stdout
    assert "fitted slope 3.1" not in status.stdout and "2 retracted or superseded" in status.stdout
    assert json.loads(cli("sprint", "list", "--json").stdout)[0]["findings"] == 1


@pytest.fixture
def pile_item(workspace):
    conn = db.connect(workspace.pile_path)
    add_item(
        conn,
        "arxiv:2209.11895",
        "In-context Learning and Induction Heads",
        "Induction heads ...",
        authors='["Catherine Olsson"]',
        published="2022-09-24",
        url="https://arxiv.org/abs/2209.11895",
    )
    add_item(conn, "arxiv:2401.00001", "A paper on the reading list", "Warmup ...", published="2024-01-01")
    conn.close()
    return "arxiv:2209.11895"


def test_citations_are_checked_and_lead_back_from_the_pile(sprint, pile_item, cli):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with track.run("baseline"):
        fig, ax = plt.subplots()
        ax.plot([1, 2])
        track.figure(fig, "loss-curve")
        plt.close(fig)
    before = sprint.journal_path.read_text()
    for bad, message in (
        (["--cite", "arxiv:9999.99999"], "cannot cite arxiv:9999.99999"),
        (["--run", "nonexistent"], "no run 'nonexistent'"),
        (["--figure", "missing-plot"], "no figure 'missing-plot'"),
    ):
        result = cli("sprint", "log", "finding", "induction heads form early", *bad)
        assert result.exit_code == 1 and message in result.stderr
    assert sprint.journal_path.read_text() == before

    result = cli(
        "sprint",
        "log",
        "finding",
        "induction heads form early",
        "--cite",
        "https://arxiv.org/abs/2209.11895v2",
        "--run",
        "baseline",
        "--figure",
        "loss-curve",
    )
    assert result.exit_code == 0, result.stderr
    entry = fresh(sprint).journal()[-1]
    assert entry.cites == [pile_item] and entry.extra["evidence_figures"] == ["loss-curve.png"]
    assert entry.extra["evidence_runs"] == [json.loads(before.splitlines()[0])["run_id"]]
    with pytest.raises(Exception, match="cannot cite"):
        track.finding("a typo in a notebook", cites=["arxiv:0000.0000"])
    track.failure("copying their setup failed", cites=pile_item)
    track.note("[bold red]not markup[/bold red] <script>alert(1)</script>", cites=[pile_item])

    shown = cli("pile", "show", pile_item)
    assert shown.exit_code == 0
    assert "Cited by sprints" in shown.stdout and "finding #1 induction heads form early" in shown.stdout
    assert "failure #2 copying their setup failed" in shown.stdout and "loss-curve.png" in shown.stdout
    assert "note #3 [bold red]not markup[/bold red] <script>alert(1)</script>" in shown.stdout  # printed, not styled
    details = site_sprint_of(fresh(sprint)).entries[0].details
    assert details["cites"] == pile_item and details["evidence_figures"] == "loss-curve.png"
    from sabbatical.site.build import build_site

    build_site(sprint.workspace)  # on the published page a citation is a link to the item
    page = (sprint.workspace.site_dir / "sprints" / sprint.folder.name / "index.html").read_text()
    assert page.count('href="https://arxiv.org/abs/2209.11895"') >= 2  # the finding and the failure
    assert "loss-curve.png" in page and "runs:" in page

    document = fresh(sprint).document()
    document.replace_section("Reading list", "1. **A paper on the reading list** (paper): x `arxiv:2401.00001`")
    fresh(sprint).save(document)
    result = cli("sprint", "bib")
    assert result.exit_code == 0 and "Wrote 2 BibTeX entries" in result.stdout
    bib = (sprint.folder / "references.bib").read_text()
    assert "eprint = {2209.11895}" in bib and "A paper on the reading list" in bib
    assert "on the reading list" in cli("pile", "show", "arxiv:2401.00001").stdout


def test_warnings_from_an_open_sprint_are_silent(sprint):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        track.note("an ordinary note")
