"""Sprints: wall time of `sabbatical new-sprint` and of running the template notebooks.

Measured as a user meets them, with `sabbatical` run as a subprocess:
- new-sprint on a fresh workspace, the very first time on the machine (an empty user cache);
- new-sprint on a fresh workspace, later (new-sprint never loads MLflow: the experiment is made at the
  first tracked run);
- new-sprint on a workspace that already has 12 sprints;
- new-sprint on a workspace whose pile holds the shared corpus's arXiv papers (when it is there), so the
  reading list is a real search;
- `sabbatical sprint list` on 12 sprints;
- executing each template notebook headless on a real kernel (in-process, as the tour does);
- the first tracked run's extra cost: in a fresh Python process on a new sprint, importing MLflow, the
  first `track.run` (which makes the MLflow store and the sprint's experiment) and a second one.

Goal: new-sprint ≤ 0.5 s, the first ever included. Prints figures; `--json` prints them as JSON for run_all.py.
Everything happens in a temporary folder, with its own cache folder; nothing outside it is touched.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import emit

GOAL_S = 0.5
RUNS = 5
SABBATICAL = [sys.executable, "-m", "sabbatical"]


CPU: dict[str, list[float]] = {}


def timed(command: list[str], env: dict[str, str], label: str | None = None) -> float:
    """Wall time of one command; its CPU time (user + system) is kept under `label` too, because on a
    shared machine wall time also counts the wait for a free core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:
        CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def new_sprint(root: Path, env: dict[str, str], question: str, label: str | None = None) -> float:
    return timed([*SABBATICAL, "-w", str(root), "new-sprint", question], env, label)


def fresh_workspace(base: Path, name: str, env: dict[str, str]) -> Path:
    root = base / name
    subprocess.run([*SABBATICAL, "init", str(root)], env=env, check=True, capture_output=True)
    return root


def measure_new_sprint(base: Path, env: dict[str, str]) -> dict[str, float]:
    cold = []
    for run in range(2):  # each with an empty cache: the first-ever new-sprint on a machine
        env_cold = {**env, "XDG_CACHE_HOME": str(base / f"cold-cache-{run}")}
        cold.append(new_sprint(fresh_workspace(base, f"cold-{run}", env_cold), env_cold, "Does warm-up help?",
                               "cold"))
    warm = [new_sprint(fresh_workspace(base, f"fresh-{run}", env), env, "Does warm-up help?", "fresh")
            for run in range(RUNS)]
    busy = fresh_workspace(base, "busy", env)
    for number in range(12):
        new_sprint(busy, env, f"Question number {number} about learning")
    with_twelve = []
    for run in range(RUNS):
        copy = base / f"busy-{run}"
        shutil.copytree(busy, copy)
        with_twelve.append(new_sprint(copy, env, "The thirteenth question", "twelve"))
    listing = [timed([*SABBATICAL, "-w", str(busy), "sprint", "list", "--json"], env) for _ in range(3)]
    return {"cold": statistics.median(cold), "fresh": statistics.median(warm),
            "twelve": statistics.median(with_twelve), "list": statistics.median(listing)}


def measure_with_pile(base: Path, env: dict[str, str]) -> dict[str, float] | None:
    """new-sprint where the reading list is searched in a pile of the corpus's arXiv records (organised)."""
    import corpus_pile

    corpus = corpus_pile.corpus_dir()
    if not corpus.is_dir():
        return None
    from sabbatical import db
    from sabbatical.config import Config
    from sabbatical.reading import topics
    from sabbatical.workspace import find_workspace

    root = fresh_workspace(base, "with-pile", env)
    conn = db.connect(find_workspace(root).pile_path)
    corpus_pile.insert_records(conn, corpus_pile.all_records(corpus))
    topics.organise(conn, Config())
    items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    conn.close()
    times = []
    for run in range(RUNS):
        copy = base / f"with-pile-{run}"
        shutil.copytree(root, copy)
        times.append(new_sprint(copy, env, "Does learning rate warmup help small transformers?", "pile"))
    return {"items": items, "seconds": statistics.median(times)}


def measure_notebooks(base: Path, env: dict[str, str]) -> dict[str, float]:
    os.environ.update({key: env[key] for key in ("XDG_CACHE_HOME", "MPLBACKEND")})
    from sabbatical.sprints.notebooks import execute_notebook
    from sabbatical.sprints.scaffold import create_sprint
    from sabbatical.workspace import init_workspace

    workspace, _ = init_workspace(base / "notebooks")
    sprint = create_sprint(workspace, "How long do the templates take?").sprint
    times = {}
    for name in ("01-explore.ipynb", "02-experiment.ipynb"):
        times[name] = execute_notebook(workspace, sprint.notebooks_dir / name).seconds
    return times


FIRST_RUN = """
import sys, time
from pathlib import Path
from sabbatical.sprints.scaffold import create_sprint
from sabbatical.workspace import init_workspace
workspace, _ = init_workspace(Path(sys.argv[1]))
sprint = create_sprint(workspace, "What does the first tracked run cost?").sprint
start = time.perf_counter()
import mlflow  # noqa: F401
imported = time.perf_counter()
from sabbatical import track
times = []
for name in ("first", "second"):
    began = time.perf_counter()
    with track.run(name, {"lr": 0.1}, sprint=sprint) as opened:
        opened.metric("loss", 1.0)
    times.append(time.perf_counter() - began)
print(imported - start, times[0], times[1])
"""


def measure_first_run(base: Path, env: dict[str, str]) -> dict[str, float]:
    """Seconds to import MLflow, of the first tracked run (store and experiment made) and of the second."""
    done = subprocess.run([sys.executable, "-c", FIRST_RUN, str(base / "first-run")], env=env, check=True,
                          capture_output=True, text=True)
    imported, first, second = (float(value) for value in done.stdout.split()[-3:])
    return {"import": imported, "first": first, "second": second}


def measure() -> dict:
    with tempfile.TemporaryDirectory(prefix="sabbatical-bench-sprint-") as folder:
        base = Path(folder)
        env = {**os.environ, "XDG_CACHE_HOME": str(base / "cache"), "MPLBACKEND": "Agg"}
        env.pop("SABBATICAL_WORKSPACE", None)
        env.pop("MLFLOW_TRACKING_URI", None)
        sprint = measure_new_sprint(base, env)
        with_pile = measure_with_pile(base, env)
        notebooks = measure_notebooks(base, env)
        first_run = measure_first_run(base, env)
    figure = lambda name, value, goal=None: {  # noqa: E731
        "name": name, "value": round(value, 2), "unit": "s",
        **({"goal": f"≤ {goal} s", "met": value <= goal} if goal else {})}
    cpu = {label: statistics.median(values) for label, values in CPU.items()}
    return {"load_average_1min": round(os.getloadavg()[0], 2), "figures": [
        figure("new-sprint, fresh workspace, first ever on the machine (empty user cache)",
               sprint["cold"], GOAL_S),
        figure(f"new-sprint, fresh workspace (median of {RUNS})", sprint["fresh"], GOAL_S),
        figure(f"new-sprint on a workspace with 12 sprints (median of {RUNS})", sprint["twelve"], GOAL_S),
        *([figure(f"new-sprint on a workspace whose pile holds {with_pile['items']:,} papers (median of {RUNS})",
                  with_pile["seconds"], GOAL_S)] if with_pile else []),
        figure("  CPU time of the first-ever new-sprint (user + system)", cpu["cold"]),
        figure("  CPU time of new-sprint, fresh workspace", cpu["fresh"]),
        figure("  CPU time of new-sprint with 12 sprints", cpu["twelve"]),
        figure("sprint list --json, 12 sprints", sprint["list"]),
        figure("run 01-explore.ipynb headless (kernel start included)", notebooks["01-explore.ipynb"]),
        figure("run 02-experiment.ipynb headless (kernel start included)", notebooks["02-experiment.ipynb"]),
        figure("import mlflow (once per process, at the first tracked run)", first_run["import"]),
        figure("first track.run of a new sprint (makes the MLflow store and experiment)", first_run["first"]),
        figure("a later track.run", first_run["second"]),
    ]}


if __name__ == "__main__":
    results = measure()
    emit(results, "--json" in sys.argv)
    if "--json" not in sys.argv:
        print(f"(1-minute load average at the end: {results['load_average_1min']} on {os.cpu_count()} cores)")
