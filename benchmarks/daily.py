"""The daily loop on the corpus pile: wall time of `pile inbox`, `pile stats` and `pile list --tag` as a
user meets them (`sabbatical` run as a subprocess, Python start-up included), and the triage screen's
first screen (ranking + the list drawn, headless through Textual's test pilot).

The pile holds the shared corpus's arXiv papers (benchmarks/corpus_pile.py), organised into topics, with
300 triage decisions and 100 tags so the folded state has work to do. Goals (issue 17): inbox and stats
≤ 0.5 s, the triage screen's first screen ≤ 1 s. Prints figures; `--json` for run_all.py. Everything
happens in a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import corpus_pile
from report import emit

GOALS = {"pile inbox": 0.5, "pile stats": 0.5, "pile list --tag": 0.5, "triage first screen": 1.0}
RUNS = 3


def build(root: Path) -> int:
    from sabbatical import db
    from sabbatical.reading import topics, triage
    from sabbatical.workspace import init_workspace

    workspace, _ = init_workspace(root, title="Daily benchmark")
    conn = db.connect(workspace.pile_path)
    corpus_pile.insert_records(conn, corpus_pile.all_records(corpus_pile.corpus_dir()))
    topics.organise(conn, workspace.config)
    ids = [r[0] for r in conn.execute("SELECT id FROM items ORDER BY id")]
    for n, action in enumerate(("keep", "star", "drop")):
        triage.triage(conn, ids[n * 100:(n + 1) * 100], action)
    for item_id in ids[300:400]:
        triage.tag(conn, item_id, ["reading-group", "later"])
    conn.close()
    return len(ids)


def timed(root: Path, args: list[str]) -> tuple[float, float]:
    """Median wall seconds, and median CPU seconds (user + system: what a busy machine inflates least)."""
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sabbatical", "-w", str(root), *args], check=True,
                       capture_output=True, env={**os.environ, "COLUMNS": "160"})
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def first_screen(root: Path) -> float:
    """Seconds from opening the pile to the triage list drawn (as `pile triage` does it)."""
    from textual.widgets import DataTable

    from sabbatical import db
    from sabbatical.cli import triage_ui
    from sabbatical.workspace import find_workspace

    workspace = find_workspace(root)
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        conn = db.connect(workspace.pile_path)
        rows = triage_ui.ranked_rows(conn, workspace.config, state="inbox", filters=None,
                                     sprints_dir=workspace.sprints_dir)
        app = triage_ui.TriageApp(conn, workspace.config, rows, open_url=lambda url: None)
        drawn: list[float] = []

        async def drive(app: triage_ui.TriageApp = app, shown: int = len(rows), drawn: list[float] = drawn) -> None:
            async with app.run_test(size=(160, 50)) as pilot:
                await pilot.pause()
                assert app.query_one(DataTable).row_count == shown
                drawn.append(time.perf_counter())

        asyncio.run(drive())
        samples.append(drawn[0] - started)
        conn.close()
    return statistics.median(samples)


def measure() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        items = build(root)
        commands = {"pile inbox": ["pile", "inbox"], "pile stats": ["pile", "stats"],
                    "pile list --tag": ["pile", "list", "--tag", "reading-group"]}
        measured = {name: timed(root, args) for name, args in commands.items()}
        screen = first_screen(root)
    figures = []
    for name, (wall, cpu) in measured.items():
        figures.append({"name": f"{name} on {items:,} items (median of {RUNS})", "value": round(wall, 3),
                        "unit": "s", "goal": f"≤ {GOALS[name]} s", "met": wall <= GOALS[name]})
        figures.append({"name": f"{name}, CPU time (user + system)", "value": round(cpu, 3), "unit": "s"})
    figures.append({"name": f"triage first screen on {items:,} items (median of {RUNS})", "value": round(screen, 3),
                    "unit": "s", "goal": "≤ 1.0 s", "met": screen <= 1.0})
    return {"figures": figures, "items": items, "load_average": os.getloadavg()}


if __name__ == "__main__":
    emit(measure(), "--json" in sys.argv)
