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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import emit

import corpus_pile

GOALS = {"pile inbox": 0.5, "pile stats": 0.5, "pile list --tag": 0.5, "triage first screen": 1.0}
RUNS = 3


def build(root: Path) -> int:
    from sabbatical import db
    from sabbatical.reading import triage, topics
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


def timed(root: Path, args: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sabbatical", "-w", str(root), *args], check=True,
                       capture_output=True, env={**os.environ, "COLUMNS": "160"})
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


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

        async def drive(app: triage_ui.TriageApp = app) -> None:
            async with app.run_test(size=(160, 50)) as pilot:
                await pilot.pause()
                assert app.query_one(DataTable).row_count == len(rows)
                drawn.append(time.perf_counter())

        asyncio.run(drive())
        samples.append(drawn[0] - started)
        conn.close()
    return statistics.median(samples)


def measure() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        items = build(root)
        seconds = {"pile inbox": timed(root, ["pile", "inbox"]), "pile stats": timed(root, ["pile", "stats"]),
                   "pile list --tag": timed(root, ["pile", "list", "--tag", "reading-group"]),
                   "triage first screen": first_screen(root)}
    figures = [{"name": f"{name} on {items:,} items (median of {RUNS})", "value": round(value, 3), "unit": "s",
                "goal": f"≤ {GOALS[name]} s", "met": value <= GOALS[name]} for name, value in seconds.items()]
    return {"figures": figures, "items": items}


if __name__ == "__main__":
    emit(measure(), "--json" in sys.argv)
