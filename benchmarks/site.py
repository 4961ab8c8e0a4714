"""Site build: wall time and size of `sabbatical site build` on a full sabbatical, next to plain mkdocs.

The workspace: 12 sprints on a two-week cadence, each with 3 MLflow runs (one FAILED, 50 metric steps),
2 executed notebooks (a real kernel ran them once; copies carry the outputs) and 5 artifacts, plus a
1,000-item pile, summarised offline and organised into topics. Preparing it is not timed and is cached
in benchmarks/.work/site/ (`--fresh` rebuilds it).

Timed, each as a fresh process: `sabbatical site build` with no caches (gathering from sprints, MLflow
and the pile, rendering notebooks and charts, the engine, two secret scans, publishing), the same build
again with nothing changed (median), and `mkdocs build` of the very pages that build generated (the
engine alone, median). Goals: the first build ≤ 15 s, the site ≤ 30 MB. Each also reports its CPU time (user + system)
of the child process, which a machine shared with other work inflates far less than wall time, and the load.
Prints figures; `--json` prints them as JSON for run_all.py.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.helpers: the sample pile items

from report import emit  # noqa: E402

WORK = HERE / ".work" / "site"
SPRINTS, RUNS_PER_SPRINT, NOTEBOOKS_PER_SPRINT, ARTIFACTS_PER_SPRINT, PILE_ITEMS = 12, 3, 2, 5, 1000
RUNS = 3
GOAL_SECONDS, GOAL_MB = 15.0, 30.0
FIXTURE_VERSION = f"v1-{SPRINTS}-{RUNS_PER_SPRINT}-{NOTEBOOKS_PER_SPRINT}-{ARTIFACTS_PER_SPRINT}-{PILE_ITEMS}"

NOTEBOOK_CELLS = [
    ("markdown", "# Sweep {n}\n\nA learning-rate sweep on a toy regression, with a figure and a table."),
    ("code", "import numpy as np\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
             "rng = np.random.default_rng(0)\nx = rng.uniform(-1, 1, 200)\ny = 3 * x + rng.normal(0, 0.3, 200)"),
    ("code", "losses = {}\nfor rate in (0.05, 0.2, 0.8):\n    w, hist = 0.0, []\n    for _ in range(40):\n"
             "        g = np.mean((w * x - y) * x)\n        w -= rate * 2 * g\n        hist.append(float(np.mean((w * x - y) ** 2)))\n"
             "    losses[rate] = hist\nprint({k: round(v[-1], 4) for k, v in losses.items()})"),
    ("code", "fig, ax = plt.subplots(figsize=(5, 3))\nfor rate, hist in losses.items():\n"
             "    ax.plot(hist, label=f'lr={rate}')\nax.set(xlabel='step', ylabel='loss', yscale='log')\nax.legend()\nplt.show()"),
    ("code", "from IPython.display import HTML\nHTML('<table><tr><th>rate</th><th>final loss</th></tr>' + ''.join("
             "f'<tr><td>{k}</td><td>{v[-1]:.4f}</td></tr>' for k, v in losses.items()) + '</table>')"),
]


def _executed_notebook(folder: Path) -> Path:
    """One notebook run on a real kernel; its saved outputs are what every copy shows."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    path = folder / "executed.ipynb"
    if path.exists():
        return path
    cells = [new_markdown_cell(text) if kind == "markdown" else new_code_cell(text) for kind, text in NOTEBOOK_CELLS]
    notebook = new_notebook(cells=cells)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    nbformat.write(notebook, str(path))
    return path


def _png(seed: int) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(seed)
    figure, axes = plt.subplots(figsize=(5, 3.2))
    axes.plot(np.cumsum(rng.normal(size=200)))
    axes.set_title(f"artifact {seed}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def prepare(fresh: bool = False) -> Path:
    """The benchmark workspace (cached between runs unless `fresh`)."""
    marker = WORK / "ws" / ".fixture"
    if not fresh and marker.exists() and marker.read_text() == FIXTURE_VERSION:
        return WORK / "ws"
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    from sabbatical.workspace import init_workspace

    workspace, _ = init_workspace(WORK / "ws", title="A benchmark sabbatical")
    _pile(workspace)
    executed = _executed_notebook(WORK)
    start = date.today() - timedelta(days=14 * SPRINTS)
    for number in range(SPRINTS):
        _sprint(workspace, number, start + timedelta(days=14 * number), executed)
    marker.write_text(FIXTURE_VERSION)
    return workspace.root


def _pile(workspace) -> None:
    from sabbatical import db
    from sabbatical.reading import summarise, topics
    from tests.helpers.fake_openai import insert_items, sample_documents

    conn = db.connect(workspace.pile_path)
    try:
        insert_items(conn, sample_documents(PILE_ITEMS))
    finally:
        conn.close()
    summarise.summarise_workspace(workspace)
    conn = db.connect(workspace.pile_path)
    try:
        topics.organise(conn, workspace.config)
    finally:
        conn.close()


def _sprint(workspace, number: int, start: date, executed: Path) -> None:
    from mlflow import MlflowClient

    from sabbatical.sprints.lifecycle import close_sprint
    from sabbatical.sprints.scaffold import create_sprint
    from sabbatical.sprints.tracking import ensure_sprint_experiment

    sprint = create_sprint(workspace, f"Question {number + 1}: does schedule {number} beat the baseline?",
                           hypothesis="It converges faster.", start=start, slug=f"question-{number + 1}").sprint
    for old in sprint.notebooks_dir.glob("*.ipynb"):
        old.unlink()
    for index in range(NOTEBOOKS_PER_SPRINT):
        shutil.copyfile(executed, sprint.notebooks_dir / f"0{index + 1}-sweep.ipynb")
    for index in range(ARTIFACTS_PER_SPRINT):
        (sprint.artifacts_dir / f"figure-{index + 1}.png").write_bytes(_png(number * 10 + index))
    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    experiment_id = ensure_sprint_experiment(sprint, client)
    for index in range(RUNS_PER_SPRINT):
        run = client.create_run(experiment_id, run_name=f"lr-{index}")
        client.log_param(run.info.run_id, "learning_rate", 0.05 * (index + 1))
        for step in range(50):
            client.log_metric(run.info.run_id, "loss", 3.0 / (1 + step * (index + 1)), step=step)
        client.set_terminated(run.info.run_id, status="FAILED" if index == RUNS_PER_SPRINT - 1 else "FINISHED")
    sprint.log("failure", f"the largest rate diverged in sprint {number + 1}", why="too large a step")
    sprint.log("finding", f"a warm-up halves the steps needed in sprint {number + 1}")
    sprint.log("feedback", "Try it on a real dataset.", source="a reader")
    if number < SPRINTS - 1:
        close_sprint(sprint, "partly", "It helps on the toy problem only.", today=start + timedelta(days=13))


CPU: dict[str, list[float]] = {}  # command label → CPU seconds (user + system) of each run


def _timed(command: list[str], cwd: Path, label: str = "") -> float:
    """Wall seconds of one run; its CPU seconds (which a busy machine inflates least) go to CPU[label]."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=_env())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


def measure(fresh: bool = False) -> dict:
    root = prepare(fresh)
    bin_dir = Path(sys.executable).parent
    build = [str(bin_dir / "sabbatical"), "site", "build"]
    shutil.rmtree(root / ".sabbatical", ignore_errors=True)  # the first build starts with no caches at all
    cold = _timed(build, root, "cold")
    warm = statistics.median(_timed(build, root, "rebuild") for _ in range(RUNS - 1))
    site = root / "site"
    size_mb = sum(path.stat().st_size for path in site.rglob("*") if path.is_file()) / 1024 / 1024
    pages = len(list(site.rglob("*.html")))
    plain_build = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                   str(root / ".sabbatical" / "site-src" / "mkdocs.yml"), "-d", str(WORK / "plain-site")]
    plain = statistics.median(_timed(plain_build, root, "plain") for _ in range(RUNS))
    cpu = {label: round(statistics.median(values), 2) for label, values in CPU.items()}
    load = round(os.getloadavg()[0], 1)
    return {
        "build_s": round(cold, 2), "rebuild_s": round(warm, 2), "plain_mkdocs_s": round(plain, 2),
        "ratio": round(cold / plain, 2), "site_mb": round(size_mb, 2), "pages": pages,
        "figures": [
            {"name": f"`site build`, {SPRINTS} sprints + {PILE_ITEMS}-item pile, no caches", "value": round(cold, 2),
             "unit": "s", "goal": f"≤ {GOAL_SECONDS:g} s", "met": cold <= GOAL_SECONDS},
            {"name": f"rebuild with nothing changed, median of {RUNS - 1}", "value": round(warm, 2), "unit": "s"},
            {"name": f"plain `mkdocs build` of the same pages, median of {RUNS}", "value": round(plain, 2), "unit": "s"},
            {"name": "ratio of the build to plain mkdocs", "value": round(cold / plain, 1), "unit": "×"},
            {"name": "ratio of the rebuild to plain mkdocs", "value": round(warm / plain, 1), "unit": "×"},
            {"name": "site size", "value": round(size_mb, 1), "unit": "MB", "goal": f"≤ {GOAL_MB:g} MB",
             "met": size_mb <= GOAL_MB},
            {"name": "HTML pages", "value": pages},
            {"name": "CPU (user + system): build, rebuild, plain mkdocs", "unit": "s",
             "value": f"{cpu['cold']} / {cpu['rebuild']} / {cpu['plain']}"},
            {"name": "CPU ratios to plain mkdocs: build, rebuild", "unit": "×",
             "value": f"{cpu['cold'] / cpu['plain']:.1f} / {cpu['rebuild'] / cpu['plain']:.1f}"},
            {"name": "load average (1 min) at the end, on this machine's cores", "value": f"{load} on {os.cpu_count()}"},
        ],
    }


if __name__ == "__main__":
    emit(measure(fresh="--fresh" in sys.argv), "--json" in sys.argv)
