"""Run every benchmark in one go and rewrite benchmarks/RESULTS.md.

Each benchmark is a script in this folder that prints one JSON object with `--json`. A benchmark may
describe its own figures as {"figures": [{"name", "value", "unit", "goal", "met"}, …]}; a flat
{name: value} object is shown as it is. Goals met or short are counted at the top, with the machine.

    python benchmarks/run_all.py            # all of them (well under 15 minutes here)
    python benchmarks/run_all.py startup    # just some
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["startup", "ingest", "llm_throughput", "search", "topics", "sprint", "site"]
TITLES = {
    "startup": "Startup (#2)", "ingest": "Ingest (#3)", "llm_throughput": "Summariser throughput (#4)",
    "search": "Hybrid search (#5)", "topics": "Topics (#5)", "sprint": "Sprints (#6)", "site": "Site build (#7)",
}
TIMEOUT_S = 900
# RESULTS.md below this line is written by hand (what the figures mean, where the time goes) and kept.
NOTES_MARKER = "<!-- Written by hand below this line; run_all.py keeps it. -->"


def machine() -> dict[str, str]:
    memory = ""
    if Path("/proc/meminfo").exists():
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{total_kb / 1024 / 1024:.0f} GiB"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {"python": platform.python_version(), "platform": platform.platform(terse=True),
            "cores": str(os.cpu_count()), "memory": memory, "cpu": _cpu_name(),
            "load average at start (1, 5, 15 min)": load,
            "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE") or "unset"}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_one(name: str) -> dict:
    script = HERE / f"{name}.py"
    if not script.exists():
        return {"error": "the benchmark script does not exist yet"}
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True,
                              timeout=TIMEOUT_S, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {TIMEOUT_S} s"}
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {done.returncode}: " + " / ".join(tail), "seconds": elapsed}
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"error": "the last line of output was not JSON", "seconds": elapsed}
    result["_seconds"] = round(elapsed, 1)
    return result


def figures_of(result: dict) -> list[dict]:
    if isinstance(result.get("figures"), list):
        return result["figures"]
    return [{"name": key, "value": value} for key, value in result.items() if not key.startswith("_")]


def heading(name: str) -> str:
    return f"## {TITLES.get(name, name)} — `benchmarks/{name}.py`"


def render(results: dict[str, dict], info: dict[str, str], total_s: float, notes: dict[str, str] | None = None) -> str:
    """The generated part of RESULTS.md; `notes`: hand-written text to keep after each benchmark's table."""
    notes = notes or {}
    met = short = 0
    sections = []
    for name, result in results.items():
        lines = [heading(name), ""]
        if "error" in result:
            lines += [f"Not measured: {result['error']}", ""]
            sections.append("\n".join(lines + ([notes[name]] if notes.get(name) else [])))
            continue
        lines += ["| figure | value | goal | |", "| --- | --- | --- | --- |"]
        for figure in figures_of(result):
            verdict = {True: "met", False: "**short**", None: ""}[figure.get("met")]
            met += figure.get("met") is True
            short += figure.get("met") is False
            value = figure.get("value")
            value = f"{value:,.4g}" if isinstance(value, float) else value
            unit = f" {figure['unit']}" if figure.get("unit") else ""
            lines.append(f"| {figure['name']} | {value}{unit} | {figure.get('goal', '')} | {verdict} |")
        lines += ["", f"({result.get('_seconds', '?')} s)", ""]
        sections.append("\n".join(lines + ([notes[name]] if notes.get(name) else [])))
    head = [
        "# Benchmark results", "",
        f"Written by `python benchmarks/run_all.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"in {total_s:.0f} s. Goals: {met} met, {short} short.", "",
        "| machine | |", "| --- | --- |", *[f"| {k} | {v} |" for k, v in info.items()], "",
    ]
    return "\n".join(head + sections)


def section_notes(path: Path) -> dict[str, str]:
    """The hand-written text inside each generated section of RESULTS.md, by benchmark: what follows its
    table's "(N s)" line (or its "Not measured" line), up to the next generated heading or the marker. A
    section edited by hand throughout (no such line) is kept whole, as earlier figures. A rerun rewrites the
    tables and keeps these, so no hand-written word is lost."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    text = text[: text.index(NOTES_MARKER)] if NOTES_MARKER in text else text
    starts = sorted((text.index(heading(name)), name) for name in TITLES if heading(name) in text)
    notes = {}
    for (start, name), (end, _) in zip(starts, [*starts[1:], (len(text), "")], strict=True):
        lines = text[start:end].split("\n")
        ends = [i for i, line in enumerate(lines) if _ENDS_TABLE.match(line)]
        if ends:
            kept = "\n".join(lines[ends[0] + 1 :]).strip("\n")
        else:
            body = "\n".join(lines[1:]).strip("\n")
            kept = f"Earlier figures and notes, as written before this run:\n\n{body}" if body else ""
        if kept:
            notes[name] = kept + "\n"
    return notes


_ENDS_TABLE = re.compile(r"^(\([0-9.?]+ s\)|Not measured: .*)$")


def kept_notes(path: Path) -> str:
    """The hand-written part of RESULTS.md (from the marker on), or just the marker."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text[text.index(NOTES_MARKER):] if NOTES_MARKER in text else NOTES_MARKER + "\n"


def main(names: list[str]) -> int:
    chosen = names or ORDER
    info = machine()
    start = time.perf_counter()
    results = {}
    for name in chosen:
        print(f"running {name}…", file=sys.stderr, flush=True)
        results[name] = run_one(name)
    results_path = HERE / "RESULTS.md"
    if names:
        print(render(results, info, time.perf_counter() - start))
    else:
        text = render(results, info, time.perf_counter() - start, section_notes(results_path))
        results_path.write_text(text + "\n" + kept_notes(results_path), encoding="utf-8")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
