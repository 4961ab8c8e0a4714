"""Hybrid search latency and memory: the corpus pile (≈5k arXiv records) and a 50k-item pile.

The corpus pile holds every arXiv record of ../shared/corpus (OAI-PMH harvest, daily listings, Kaggle
sample, keras CSV), loaded with plain SQL and organised with `pile organise`. The 50k pile is that
corpus replicated ten times with perturbed ids and text (a word dropped from the title, the abstract's
sentences rotated), organised the same way.

Each pile is searched in a fresh process that does nothing else, so its peak RSS is what searching
costs: one warm-up query (it loads the vector matrix and the embedder), then 60 queries twice (phrases
cut from titles, topical phrases, and text full of FTS5 syntax). Reported: p50/p95 per query (wall
time, and the worker's CPU time beside it with the load average while it searched: on a shared machine
the wall time measures the load), the warm-up, and peak RSS; in the same process, the peer floor: a full-scan substring search (SQLite LIKE
'%word%' over title and abstract) for the same queries. Goals at 50k: p95 ≤ 30 ms, RSS ≤ 1 GB.
`--json` prints the figures as JSON. `--keep DIR` keeps the two piles in DIR and reuses them on the next
run (building and organising the 50k pile takes minutes), with the figures of their first build.

    python benchmarks/search.py [--keep DIR] [--json]
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import emit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

REPLICAS = 10
QUERIES = 60
TOPICAL = [
    "sparse attention",
    "graph neural network",
    "quantum error correction",
    "dark matter halo",
    "language model evaluation",
    "diffusion image generation",
    "reinforcement learning robot",
    "stochastic differential equations",
    "federated learning privacy",
    "protein structure",
]
UNSAFE = [
    'attention" OR',
    "NEAR(graph network)",
    "title:quantum",
    "robot*",
    "-noise (",
    "C++ compiler",
    "{x} [y]",
    "^start",
    "SELECT * FROM items",
    "a AND OR NOT b",
]


# -- building piles ---------------------------------------------------------------------------------------
def replicate(records: list[dict], copies: int) -> list[dict]:
    rng = random.Random(0)
    out = list(records)
    for copy in range(1, copies):
        for record in records:
            words = record["title"].split()
            if len(words) > 3:
                del words[rng.randrange(len(words))]
            sentences = record["abstract"].split(". ")
            shift = rng.randrange(len(sentences)) if sentences else 0
            out.append(
                {
                    **record,
                    "id": f"{record['id']}~{copy}",
                    "title": " ".join(words),
                    "abstract": ". ".join(sentences[shift:] + sentences[:shift]),
                }
            )
    return out


def build_pile(path: Path, records: list[dict]) -> dict:
    import corpus_pile

    from sabbatical import db
    from sabbatical.config import Config
    from sabbatical.reading import topics

    conn = db.connect(path)
    start = time.perf_counter()
    for offset in range(0, len(records), 5_000):
        corpus_pile.insert_records(conn, records[offset : offset + 5_000])
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    report = topics.organise(conn, Config())
    organised = time.perf_counter() - start
    count = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    conn.close()
    return {"items": count, "load_s": round(loaded, 1), "organise_s": round(organised, 1), "topics": report.topics}


def queries_for(records: list[dict]) -> list[str]:
    rng = random.Random(1)
    cut = []
    while len(cut) < QUERIES - len(TOPICAL) - len(UNSAFE):
        words = rng.choice(records)["title"].split()
        if len(words) >= 3:
            start = rng.randrange(len(words) - 2)
            cut.append(" ".join(words[start : start + rng.choice((2, 3))]))
    return cut + TOPICAL + UNSAFE


# -- searching, in a process of its own ----------------------------------------------------------------------
def search_worker(pile_path: str, queries_path: str) -> None:
    from sabbatical import db
    from sabbatical.config import Config
    from sabbatical.reading import search

    queries = json.loads(Path(queries_path).read_text())
    conn = db.connect(pile_path)
    config = Config()
    start = time.perf_counter()
    search.search(conn, config, "warm up the index")
    warm_up = time.perf_counter() - start
    timings, cpu, hits = [], [], 0
    for _ in range(2):
        for query in queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            hits += len(search.search(conn, config, query, limit=20))
            cpu.append(time.process_time() - start_cpu)
            timings.append(time.perf_counter() - start)
    load = os.getloadavg()[0]
    substring = []
    for query in queries:
        word = max(search.query_words(query) or ["x"], key=len)
        start = time.perf_counter()
        conn.execute(
            "SELECT id FROM items WHERE title LIKE ? OR abstract LIKE ? LIMIT 20", (f"%{word}%", f"%{word}%")
        ).fetchall()
        substring.append(time.perf_counter() - start)
    rss_mb = peak_rss_mb()
    print(
        json.dumps(
            {
                "timings": timings,
                "cpu": cpu,
                "load": load,
                "substring": substring,
                "warm_up_s": warm_up,
                "rss_mb": rss_mb,
                "hits": hits,
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec,
    so a worker forked from the process that built the pile would report the builder's size."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pile(path: Path, queries: list[str]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(queries, handle)
    done = subprocess.run(
        [sys.executable, __file__, "--search-worker", str(path), handle.name],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(handle.name).unlink()
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "p50_ms": round(_percentile(raw["timings"], 50) * 1000, 2),
        "p95_ms": round(_percentile(raw["timings"], 95) * 1000, 2),
        "max_ms": round(max(raw["timings"]) * 1000, 2),
        "cpu_p50_ms": round(_percentile(raw["cpu"], 50) * 1000, 2),
        "cpu_p95_ms": round(_percentile(raw["cpu"], 95) * 1000, 2),
        "load": round(raw["load"], 2),
        "substring_p50_ms": round(_percentile(raw["substring"], 50) * 1000, 2),
        "substring_p95_ms": round(_percentile(raw["substring"], 95) * 1000, 2),
        "warm_up_ms": round(raw["warm_up_s"] * 1000, 1),
        "rss_mb": round(raw["rss_mb"], 1),
        "searches": len(raw["timings"]),
        "hits": raw["hits"],
    }


def _percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def kept_or_built(path: Path, records: list[dict]) -> dict:
    """The pile at `path`, built unless an earlier run kept it there; the figures of its build."""
    stats = path.with_suffix(".json")
    if path.exists() and stats.exists():
        return json.loads(stats.read_text())
    path.unlink(missing_ok=True)
    built = build_pile(path, records)
    stats.write_text(json.dumps(built))
    return built


def measure(keep: Path | None = None) -> dict:
    import corpus_pile

    records = corpus_pile.all_records(corpus_pile.corpus_dir())
    queries = queries_for(records)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, copies in (("corpus", 1), ("50k", REPLICAS)):
            path = folder / f"{name}.db"
            built = kept_or_built(path, replicate(records, copies))
            result[name] = {**built, **measure_pile(path, queries)}
    result["figures"] = figures(result)
    return result


def figures(r: dict) -> list[dict]:
    rows = []
    for name in ("corpus", "50k"):
        p = r[name]
        at_scale = name == "50k"
        label = f"{p['items']:,} items"
        rows += [
            {"name": f"{label}: hybrid search p50", "value": p["p50_ms"], "unit": "ms"},
            {
                "name": f"{label}: hybrid search p95",
                "value": p["p95_ms"],
                "unit": "ms",
                **({"goal": "≤ 30 ms", "met": p["p95_ms"] <= 30} if at_scale else {}),
            },
            {
                "name": f"{label}: hybrid search CPU time p50 / p95 (load average while searching)",
                "value": f"{p['cpu_p50_ms']} / {p['cpu_p95_ms']} ms ({p['load']})",
            },
            {
                "name": f"{label}: peak RSS of the searching process",
                "value": p["rss_mb"],
                "unit": "MB",
                **({"goal": "≤ 1024 MB", "met": p["rss_mb"] <= 1024} if at_scale else {}),
            },
            {"name": f"{label}: first search (loads vectors and embedder)", "value": p["warm_up_ms"], "unit": "ms"},
            {
                "name": f"{label}: peer floor, full-scan substring p50 / p95",
                "value": f"{p['substring_p50_ms']} / {p['substring_p95_ms']}",
                "unit": "ms",
            },
            {"name": f"{label}: organise (embed + topics) once", "value": p["organise_s"], "unit": "s"},
        ]
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["--search-worker"]:
        search_worker(argv[1], argv[2])
        return 0
    keep = Path(argv[argv.index("--keep") + 1]) if "--keep" in argv else None
    result = measure(keep)
    emit(result, "--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
