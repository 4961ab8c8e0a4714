"""Three writers in one workspace at once: an ingest, a notebook logging through sabbatical.track, a site build.

The notebook runs on a real Jupyter kernel and logs run after run (params, a metric per step, a journal
note per run) until the test tells it to stop, so it is writing for the whole time the other two run.
The ingest (the real CLI, in a subprocess) reads 18,000 generated entries from loopback feeds; its last
feed is held back until the site build has finished, so the ingest is still running when the site build
ends. The site build (the real CLI too) reads the pile and the MLflow store while both are being written.

Nothing may say "database is locked", every command succeeds, and nothing is lost: every entry is in the
pile, every run the notebook logged is in MLflow with every metric step, every note is in the journal,
and the site is published.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sabbatical.sprints.model import Sprint
from tests.faults.feeds import atom_feed, write_feeds
from tests.faults.piles import assert_intact, count
from tests.faults.processes import cli_env, start_cli, wait_until
from tests.faults.sprints import sprint_workspace

pytestmark = pytest.mark.slow

FEEDS, ENTRIES, HELD_ENTRIES = 12, 1500, 10
STEPS = 20

NOTEBOOK_CODE = """\
import json, pathlib
from sabbatical import track

keep_going = pathlib.Path({keep_going!r})
ledger = pathlib.Path({ledger!r})
number = 0
while number < 3 or (keep_going.exists() and number < 500):
    with track.run(f"concurrent-{{number}}", params={{"number": number}}) as run:
        for step in range({steps}):
            track.metric("loss", 1.0 / (step + 1 + number), step=step)
        track.note(f"run {{number}} logged {steps} steps")
    with ledger.open("a") as handle:
        handle.write(json.dumps({{"id": run.id, "number": number}}) + "\\n")
    number += 1
print(f"logged {{number}} runs")
"""


def write_logging_notebook(path, keep_going, ledger) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    code = NOTEBOOK_CODE.format(keep_going=str(keep_going), ledger=str(ledger), steps=STEPS)
    nbformat.write(new_notebook(cells=[new_code_cell(code)]), str(path))


def start_notebook(workspace, path) -> subprocess.Popen:
    """Execute the notebook on a real kernel, as the sprint tooling does (sabbatical.sprints.notebooks)."""
    script = (
        "import sys; from sabbatical.workspace import Workspace; "
        "from sabbatical.sprints.notebooks import execute_notebook; "
        "execute_notebook(Workspace(sys.argv[1]), sys.argv[2], timeout=600)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", script, str(workspace.root), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


def logged_runs(ledger) -> list[dict]:
    """The runs the notebook has finished (a line being written as we read is left for the next look)."""
    complete = ledger.read_text().split("\n")[:-1] if ledger.exists() else []
    return [json.loads(line) for line in complete]


def test_an_ingest_a_tracked_notebook_and_a_site_build_at_once_lose_nothing(feed_server, tmp_path):
    workspace = sprint_workspace(tmp_path / "ws", sprints=1)
    sprint = Sprint(workspace, "01")
    urls = [f"{feed_server.url}/{name}" for name in write_feeds(feed_server.root, FEEDS, ENTRIES)]
    (feed_server.root / "held.atom").write_text(atom_feed(FEEDS, HELD_ENTRIES), encoding="utf-8")
    feed_server.hold("/held.atom")
    keep_going, ledger = tmp_path / "keep-going", tmp_path / "ledger.jsonl"
    keep_going.touch()
    notebook_path = sprint.notebooks_dir / "05-concurrent.ipynb"
    write_logging_notebook(notebook_path, keep_going, ledger)

    notebook = start_notebook(workspace, notebook_path)
    wait_until(lambda: logged_runs(ledger) or notebook.poll() is not None, "the notebook's first run")
    ingest = start_cli(workspace, "read", "feed", *urls, f"{feed_server.url}/held.atom")
    site = start_cli(workspace, "site", "build")
    site_out, site_err = site.communicate(timeout=600)
    runs_during_site_build = len(logged_runs(ledger))
    items_after_site_build = count(workspace.pile_path, "items")
    feed_server.release("/held.atom")
    ingest_out, ingest_err = ingest.communicate(timeout=600)
    keep_going.unlink()
    notebook_out, notebook_err = notebook.communicate(timeout=600)

    cells = notebook_path.read_text()
    said = "\n".join([site_out, site_err, ingest_out, ingest_err, notebook_out, notebook_err, cells])
    assert "database is locked" not in said.lower(), said
    # The kernel's own stderr is left out here: ipykernel can log a ZMQ error while it shuts down.
    assert "Traceback" not in site_err + ingest_err and '"output_type": "error"' not in cells, said
    assert notebook.returncode == 0, notebook_err
    assert ingest.returncode == 0, ingest_err
    assert site.returncode == 0, site_err

    assert_intact(workspace.pile_path)
    assert count(workspace.pile_path, "items") == FEEDS * ENTRIES + HELD_ENTRIES

    runs = logged_runs(ledger)
    assert len(runs) > runs_during_site_build >= 1
    check_runs_in_mlflow(workspace, sprint, runs)
    notes = [e for e in sprint.journal() if e.kind == "note" and e.text.startswith("run ")]
    assert sorted(e.text for e in notes) == sorted(f"run {r['number']} logged {STEPS} steps" for r in runs)

    page = workspace.site_dir / "sprints" / sprint.name / "index.html"
    assert page.is_file() and sprint.meta.question in page.read_text()
    print(
        f"\nthe notebook logged {len(runs)} runs ({runs_during_site_build} by the end of the site build); "
        f"the pile held {items_after_site_build} items when the site build ended"
    )


def check_runs_in_mlflow(workspace, sprint, runs) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    for logged in runs:
        run = client.get_run(logged["id"])
        assert run.info.status == "FINISHED" and run.data.params == {"number": str(logged["number"])}
        history = sorted((m.step, m.value) for m in client.get_metric_history(logged["id"], "loss"))
        assert history == [(step, 1.0 / (step + 1 + logged["number"])) for step in range(STEPS)]
    names = {r.info.run_name for r in client.search_runs([sprint.meta.mlflow_experiment_id], max_results=1000)}
    assert names == {"baseline"} | {f"concurrent-{r['number']}" for r in runs}
