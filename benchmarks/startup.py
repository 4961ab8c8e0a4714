"""Startup time: median wall time of `sabbatical --help` next to `python -c pass` and a peer CLI.

The peer is simonw's `llm` CLI (`llm --help`), installed into a benchmark-only virtual environment under
benchmarks/.work/ (never into the project's). Goal: `sabbatical --help` ≤ 0.25 s. Prints figures;
`--json` prints them as JSON for run_all.py.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15
GOAL_SECONDS = 0.25


def median_wall(command: list[str], runs: int = RUNS) -> float:
    subprocess.run(command, capture_output=True, check=True)  # warm the OS caches once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


PEER_VENV = Path(__file__).resolve().parent / ".work" / "peer-llm"


def peer_llm() -> Path | None:
    """The `llm` CLI in its own venv, installed on first use; None when it cannot be installed."""
    executable = PEER_VENV / "bin" / "llm"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True, capture_output=True)
        done = subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", "llm"], capture_output=True)
        if done.returncode != 0:
            return None
    return executable


def measure() -> dict:
    entry = shutil.which("sabbatical", path=str(Path(sys.executable).parent)) or "sabbatical"
    ours = median_wall([entry, "--help"])
    floor = median_wall([sys.executable, "-c", "pass"])
    peer_path = peer_llm()
    peer = median_wall([str(peer_path), "--help"]) if peer_path else None
    return {"runs": RUNS, "sabbatical_help_s": round(ours, 4), "python_pass_s": round(floor, 4),
            "ratio": round(ours / floor, 2), "goal_s": GOAL_SECONDS, "met": ours <= GOAL_SECONDS,
            "figures": [
                {"name": f"`sabbatical --help`, median of {RUNS}", "value": round(ours * 1000), "unit": "ms",
                 "goal": f"≤ {GOAL_SECONDS * 1000:.0f} ms", "met": ours <= GOAL_SECONDS},
                {"name": "`python -c pass` (floor)", "value": round(floor * 1000), "unit": "ms"},
                {"name": "ratio to the floor", "value": round(ours / floor, 1), "unit": "×"},
                {"name": "peer: `llm --help`, median", "value": round(peer * 1000) if peer else "not installable",
                 "unit": "ms" if peer else ""},
            ]}


if __name__ == "__main__":
    figures = measure()
    if "--json" in sys.argv:
        print(json.dumps(figures))
    else:
        print(f"sabbatical --help  median {figures['sabbatical_help_s'] * 1000:.0f} ms over {RUNS} runs")
        print(f"python -c pass     median {figures['python_pass_s'] * 1000:.0f} ms")
        print(f"peer llm --help    {figures['figures'][3]['value']} {figures['figures'][3]['unit']}")
        print(f"ratio {figures['ratio']}x; goal ≤ {GOAL_SECONDS * 1000:.0f} ms: {'met' if figures['met'] else 'SHORT'}")
