"""The daily loop on the corpus pile: wall time of `pile inbox`, `pile stats`, `pile list --tag` and
`sprint status` as a user meets them (`sabbatical` run as a subprocess, Python start-up included), and the
triage screen's first screen (ranking + the list drawn, headless through Textual's test pilot).

The pile holds the shared corpus's arXiv papers (benchmarks/corpus_pile.py), organised into topics and
summarised (offline), with 300 triage decisions and 100 tags so the folded state has work to do, and an open sprint with three
tracked MLflow runs, so the inbox measures relevance against the sprint question and `sprint status` has
runs to read. Each command runs once untimed first (a user runs them every day: the cache of embedded
aims is then warm), then RUNS times. Python writes its bytecode to a temporary folder for these runs, as
an installed package has it (this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise recompile
every module edited since its last .pyc on every run). Goals (issue 17): inbox, stats and sprint status
≤ 0.5 s, the triage screen's first screen ≤ 1 s. Prints figures; `--json` for run_all.py. Everything
happens in a temporary folder.
"""

from __future__ import annotations

import asyncio
import json
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

GOALS = {"pile inbox": 0.5, "pile stats": 0.5, "pile list --tag": 0.5, "sprint status": 0.5, "triage first screen": 1.0}
QUESTION = "Do sparse attention models generalise better than dense ones?"
RUNS = 3


def build(root: Path) -> int:
    from sabbatical import db
    from sabbatical.reading import topics, triage
    from sabbatical.reading.summarise import SummariseRequest, summarise_workspace
    from sabbatical.workspace import init_workspace

    workspace, _ = init_workspace(root, title="Daily benchmark")
    conn = db.connect(workspace.pile_path)
    corpus_pile.insert_records(conn, corpus_pile.all_records(corpus_pile.corpus_dir()))
    topics.organise(conn, workspace.config)
    conn.close()
    # Offline: every item has a summary, as on a pile in use.
    summarise_workspace(workspace, SummariseRequest(selection="all"))
    conn = db.connect(workspace.pile_path)
    ids = [r[0] for r in conn.execute("SELECT id FROM items ORDER BY id")]
    for n, action in enumerate(("keep", "star", "drop")):
        triage.triage(conn, ids[n * 100 : (n + 1) * 100], action)
    for item_id in ids[300:400]:
        triage.tag(conn, item_id, ["reading-group", "later"])
    conn.close()
    track_runs(workspace)
    return len(ids)


def track_runs(workspace) -> None:
    """An open sprint with three tracked runs (MLflow is imported here, in the build, once)."""
    from sabbatical import track
    from sabbatical.sprints.scaffold import create_sprint

    sprint = create_sprint(workspace, QUESTION).sprint
    for n in range(3):
        with track.run(f"run-{n}", {"lr": 0.1 * (n + 1)}, sprint=sprint) as run:
            for step in range(20):
                run.metric("loss", 1.0 / (step + n + 1), goal="min")
            run.metric("accuracy", 0.7 + n / 10, goal="max")


def timed(root: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Median wall seconds, and median CPU seconds (user + system: what a busy machine inflates least)."""
    command = [sys.executable, "-m", "sabbatical", "-w", str(root), *args]
    subprocess.run(command, check=True, capture_output=True, env=env)  # untimed: bytecode and caches as a user has them
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def first_screen(root: Path) -> tuple[float, float]:
    """Median wall and CPU seconds from opening the pile to the triage list drawn (as `pile triage` does it;
    the interpreter, Textual and the screen's module already imported)."""
    from textual.widgets import DataTable

    from sabbatical import db
    from sabbatical.cli import triage_ui
    from sabbatical.workspace import find_workspace

    workspace = find_workspace(root)
    samples, cpus = [], []
    for _ in range(RUNS):
        started, cpu_started = time.perf_counter(), time.process_time()
        conn = db.connect(workspace.pile_path)
        rows = triage_ui.ranked_rows(
            conn,
            workspace.config,
            state="inbox",
            filters=None,
            sprints_dir=workspace.sprints_dir,
            cache_dir=workspace.cache_dir,
        )
        app = triage_ui.TriageApp(conn, workspace.config, rows, open_url=lambda url: None)
        drawn: list[float] = []

        async def drive(app: triage_ui.TriageApp = app, shown: int = len(rows), drawn: list[float] = drawn) -> None:
            async with app.run_test(size=(160, 50)) as pilot:
                await pilot.pause()
                assert app.query_one(DataTable).row_count == shown
                drawn.extend((time.perf_counter(), time.process_time()))

        asyncio.run(drive())
        samples.append(drawn[0] - started)
        cpus.append(drawn[1] - cpu_started)
        conn.close()
    return statistics.median(samples), statistics.median(cpus)


def measure() -> dict:
    os.environ.pop("OPENAI_BASE_URL", None)  # the offline summariser, whatever this shell points at
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        items = build(root)
        commands = {
            "pile inbox": ["pile", "inbox"],
            "pile stats": ["pile", "stats"],
            "pile list --tag": ["pile", "list", "--tag", "reading-group"],
            "sprint status": ["sprint", "status"],
        }
        env = {**os.environ, "COLUMNS": "160", "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("MLFLOW_TRACKING_URI", None)
        measured = {name: timed(root, args, env) for name, args in commands.items()}
        screen, screen_cpu = first_screen(root)
    figures = []
    for name, (wall, cpu) in measured.items():
        figures.append(
            {
                "name": f"{name} on {items:,} items (median of {RUNS})",
                "value": round(wall, 3),
                "unit": "s",
                "goal": f"≤ {GOALS[name]} s",
                "met": wall <= GOALS[name],
            }
        )
        figures.append({"name": f"{name}, CPU time (user + system)", "value": round(cpu, 3), "unit": "s"})
    figures.append(
        {
            "name": f"triage first screen on {items:,} items (median of {RUNS})",
            "value": round(screen, 3),
            "unit": "s",
            "goal": "≤ 1.0 s",
            "met": screen <= 1.0,
        }
    )
    figures.append(
        {"name": "triage first screen, CPU time (user + system)", "value": round(screen_cpu, 3), "unit": "s"}
    )
    return {"figures": figures, "items": items, "load_average": os.getloadavg()}


def export_tree(rev: str, into: Path) -> Path:
    """The package as it was at `rev`, from `git archive`, in a folder that goes first on PYTHONPATH."""
    into.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "sabbatical"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def cpu_and_wall(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """One run's CPU (user + system) and wall seconds; from a neutral folder, since `python -m` puts the
    current folder first on the path (run from the checkout, it would shadow an exported tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def in_turn(root: Path, versions: dict[str, Path | None], rounds: int, runs: int) -> dict:
    """Each command under each code version, the versions alternating run by run, `rounds` blocks of `runs`
    timed runs (one untimed run per version first); the median CPU and wall of each block, and the load.

    Each version runs on its own copy of the workspace (the pile given is never written): what one version
    keeps in the cache folder is never read, nor overwritten, by the other, whose files may differ."""
    import shutil

    tmp = Path(tempfile.mkdtemp(prefix="daily-in-turn-"))
    envs, roots = {}, {}
    for n, (name, tree) in enumerate(versions.items()):
        roots[name] = tmp / f"ws-{n}"
        shutil.copytree(root, roots[name], symlinks=True)
        env = {**os.environ, "COLUMNS": "160", "PYTHONPYCACHEPREFIX": str(tmp / f"pycache-{name}")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("MLFLOW_TRACKING_URI", None)
        env.pop("OPENAI_BASE_URL", None)
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        envs[name] = env
    commands = {
        "pile inbox": ["pile", "inbox"],
        "pile stats": ["pile", "stats"],
        "pile list --tag": ["pile", "list", "--tag", "reading-group"],
        "sprint status": ["sprint", "status"],
        "--help": ["--help"],
    }
    results: dict = {}
    # A fresh copy is checked on every open until its times are 2 s old (sabbatical writes down a passing
    # integrity check only for files that settled): let them, as a pile in daily use has.
    time.sleep(3)
    for label, args in commands.items():
        command = {name: [sys.executable, "-m", "sabbatical", "-w", str(roots[name]), *args] for name in versions}
        for name, env in envs.items():
            cpu_and_wall(command[name], env)  # untimed: bytecode and caches as a user has them
        for _ in range(rounds):
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
            for _ in range(runs):
                for name, env in envs.items():
                    samples[name].append(cpu_and_wall(command[name], env))
            for name, got in samples.items():
                results.setdefault(label, {}).setdefault(name, []).append(
                    {
                        "cpu": round(statistics.median(c for c, _ in got), 3),
                        "wall": round(statistics.median(w for _, w in got), 3),
                        "load": round(os.getloadavg()[0], 2),
                    }
                )
    results["triage first screen"] = screens_in_turn(roots, envs, rounds)
    results["inbox after a decision"] = inbox_after_decisions(roots, envs, rounds * runs)
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def inbox_after_decisions(roots: dict[str, Path], envs: dict[str, dict[str, str]], decisions: int) -> dict:
    """The first `pile inbox` after a `pile keep` or `pile drop` (whatever was kept from the decisions is stale
    then), each version in turn, each on a copy of its own workspace (which is never written); one block."""
    import shutil

    copies = Path(tempfile.mkdtemp(prefix="daily-decisions-"))
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
    bases = {}
    for name, root in roots.items():
        shutil.copytree(root, copies / root.name, symlinks=True)
        bases[name] = [sys.executable, "-m", "sabbatical", "-w", str(copies / root.name)]
    for n in range(decisions):
        for name, env in envs.items():
            base = bases[name]
            listed = subprocess.run(
                [*base, "pile", "inbox", "--json", "-n", "40"],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=tempfile.gettempdir(),
            ).stdout
            item = json.loads(listed)[-1 - n % 40]["id"]
            subprocess.run(
                [*base, "pile", "drop" if n % 2 else "keep", item],
                check=True,
                capture_output=True,
                env=env,
                cwd=tempfile.gettempdir(),
            )
            samples[name].append(cpu_and_wall([*base, "pile", "inbox"], env))
    shutil.rmtree(copies, ignore_errors=True)
    return {
        name: [
            {
                "cpu": round(statistics.median(c for c, _ in got), 3),
                "wall": round(statistics.median(w for _, w in got), 3),
                "load": round(os.getloadavg()[0], 2),
            }
        ]
        for name, got in samples.items()
    }


def screens_in_turn(roots: dict[str, Path], envs: dict[str, dict[str, str]], rounds: int) -> dict:
    """The triage first screen under each version (on its own workspace), `rounds` interpreters each (median
    of RUNS inside each)."""
    results: dict = {}
    for _ in range(rounds):
        for name, env in envs.items():
            command = [sys.executable, str(Path(__file__).resolve()), "screen", str(roots[name])]
            done = subprocess.run(
                command, check=True, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir()
            )
            wall, cpu = json.loads(done.stdout.strip().splitlines()[-1])
            results.setdefault(name, []).append(
                {"cpu": round(cpu, 3), "wall": round(wall, 3), "load": round(os.getloadavg()[0], 2)}
            )
    return results


def print_in_turn(results: dict) -> None:
    for label, by_version in results.items():
        for name, blocks in by_version.items():
            cpu = " / ".join(f"{b['cpu']:.2f}" for b in blocks)
            wall = " / ".join(f"{b['wall']:.2f}" for b in blocks)
            load = " / ".join(f"{b['load']:.1f}" for b in blocks)
            print(f"{label:12} {name:28} CPU {cpu} s   wall {wall} s   load {load}")


def _option(name: str, default: str | None = None) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    """`build DIR`: make the pile and keep it. `--before REV [--after REV] [--pile DIR] [--rounds N] [--runs N]`:
    both code versions in turn on one pile (the after version defaults to this working tree). Else: the
    figures for run_all.py, on a pile built in a temporary folder."""
    if sys.argv[1:2] == ["build"]:
        print(f"built {build(Path(sys.argv[2]))} items in {sys.argv[2]}")
        return
    if sys.argv[1:2] == ["screen"]:  # one version's first screen, for in_turn: `[wall, cpu]` as JSON
        print(json.dumps(first_screen(Path(sys.argv[2]))))
        return
    before = _option("--before")
    if before is None:
        emit(measure(), "--json" in sys.argv)
        return
    after = _option("--after")
    trees = Path(tempfile.mkdtemp(prefix="daily-trees-"))
    versions = {
        f"before ({before})": export_tree(before, trees / "before"),
        f"after ({after or 'working tree'})": export_tree(after, trees / "after") if after else None,
    }
    pile = _option("--pile")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(pile) if pile else Path(tmp) / "ws"
        if not pile:
            build(root)
        print(f"load average at the start: {os.getloadavg()}")
        results = in_turn(root, versions, int(_option("--rounds", "3") or 3), int(_option("--runs", "5") or 5))
    print_in_turn(results)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
