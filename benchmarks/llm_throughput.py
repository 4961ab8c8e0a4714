"""Summariser throughput: 500 items through the LLM path against a loopback server, and the offline path.

The loopback OpenAI-compatible server (`python -m tests.helpers.fake_openai`) runs in its own process and
answers every request after 300 ms. With 16 requests in flight the ideal is 16 / 0.3 s = 53.3 items/s;
the goal is at least 0.85 of that. A second run over the same items must make 0 calls (the cache).
Also reported: tokens per item, the share of quotes that verify against the source, and the offline
summariser's rate over 1,000 items (real arXiv abstracts from ../shared/corpus when present, else
synthetic ones). Everything is written to a temporary folder, never into the project.

    python benchmarks/llm_throughput.py [--items 500] [--latency 0.3] [--concurrency 16] [--prompt v3] [--json]
    python benchmarks/llm_throughput.py --compare v1,v3 --rounds 2    (the prompts in turn, at the same moment)
    python benchmarks/llm_throughput.py --corpus --offline-items 1000  (corpus abstracts, endpoint and offline)
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the loopback server and sample pile items

from report import emit  # noqa: E402

CORPUS_CSV = ROOT.parent / "shared" / "corpus" / "arxiv" / "keras_arxiv_abstracts" / "arxiv_data.1000.csv"
GOAL_RATIO = 0.85


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.helpers.fake_openai", "--latency", str(latency)],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    url = process.stdout.readline().strip()   # the server prints its base URL once it listens
    if not url.startswith("http"):
        process.kill()
        raise RuntimeError("the loopback server did not start")
    return process, url


def cpu_seconds() -> float:
    """User + system CPU of this process (the client; the loopback server is another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def endpoint_runs(folder: Path, items: int, latency: float, concurrency: int, prompt: str | None = None,
                  documents: list[dict] | None = None, name: str = "endpoint") -> dict:
    import openai  # noqa: F401  (imported before timing: the import is a one-off cost, not throughput)

    from sabbatical import db
    from sabbatical.config import LLMConfig
    from sabbatical.reading.summarise import choose_producer, summarise_pile
    from tests.helpers.fake_openai import insert_items, sample_documents

    conn = db.connect(folder / f"{name}.db")
    insert_items(conn, documents if documents is not None else sample_documents(items))
    server, url = start_server(latency)
    try:
        config = LLMConfig(base_url=url, model="loopback", concurrency=concurrency, timeout=30.0)
        producer = choose_producer(config, prompt)
        load = load_average()
        started, cpu = time.perf_counter(), cpu_seconds()
        first = summarise_pile(conn, producer)
        first_s, first_cpu = time.perf_counter() - started, cpu_seconds() - cpu
        started = time.perf_counter()
        second = summarise_pile(conn, producer)
        second_s = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
        conn.close()
    ideal = concurrency / latency
    rate = first.done / first_s
    return {"items": first.selected, "done": first.done, "failed": first.failed, "seconds": round(first_s, 2),
            "prompt": producer.prompt_version, "cpu_s": round(first_cpu, 2), "load": load,
            "items_per_s": round(rate, 2), "ideal_items_per_s": round(ideal, 2), "ratio": round(rate / ideal, 3),
            "calls": first.calls, "second_run_calls": second.calls, "second_run_cached": second.cached,
            "second_run_s": round(second_s, 3),
            "tokens_per_item": round((first.tokens_in + first.tokens_out) / max(1, first.done), 1),
            "quotes_verified_share": round(first.quotes_verified / max(1, first.quotes_total), 4)}


def offline_documents(count: int) -> tuple[list[dict], str]:
    if CORPUS_CSV.exists():
        with CORPUS_CSV.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))[:count]
        documents = [{"id": f"bench:{i}", "kind": "paper", "title": row["titles"], "abstract": row["summaries"],
                      "content": ""} for i, row in enumerate(rows)]
        return documents, "arXiv abstracts from the shared corpus"
    from tests.helpers.fake_openai import sample_documents

    return sample_documents(count), "synthetic abstracts (the shared corpus is absent)"


def offline_run(folder: Path, count: int) -> dict:
    from sabbatical import db
    from sabbatical.reading.summarise import OFFLINE, summarise_pile
    from tests.helpers.fake_openai import insert_items

    documents, source = offline_documents(count)
    conn = db.connect(folder / "offline.db")
    insert_items(conn, documents)
    load = load_average()
    started, cpu = time.perf_counter(), cpu_seconds()
    report = summarise_pile(conn, OFFLINE)
    seconds, spent = time.perf_counter() - started, cpu_seconds() - cpu
    conn.close()
    return {"items": report.done, "source": source, "seconds": round(seconds, 2), "cpu_s": round(spent, 2),
            "load": load, "items_per_s": round(report.done / seconds, 1),
            "quotes_verified_share": round(report.quotes_verified / max(1, report.quotes_total), 4)}


def measure(items: int, latency: float, concurrency: int, offline_items: int, prompt: str | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="sabbatical-bench-llm-") as tmp:
        endpoint = endpoint_runs(Path(tmp), items, latency, concurrency, prompt)
        offline = offline_run(Path(tmp), offline_items)
    met = endpoint["ratio"] >= GOAL_RATIO and endpoint["second_run_calls"] == 0
    figures = [
        {"name": f"endpoint: {items} items, {latency * 1000:.0f} ms latency, concurrency {concurrency}, "
                 f"prompt {endpoint['prompt']} (CPU {endpoint['cpu_s']} s, load {endpoint['load']})",
         "value": endpoint["items_per_s"], "unit": "items/s", "goal": f"≥ {GOAL_RATIO * endpoint['ideal_items_per_s']:.1f}",
         "met": endpoint["ratio"] >= GOAL_RATIO},
        {"name": "ratio to the ideal (concurrency / latency)", "value": endpoint["ratio"], "goal": f"≥ {GOAL_RATIO}",
         "met": endpoint["ratio"] >= GOAL_RATIO},
        {"name": "second run: calls made", "value": endpoint["second_run_calls"], "goal": "0",
         "met": endpoint["second_run_calls"] == 0},
        {"name": "second run: seconds", "value": endpoint["second_run_s"], "unit": "s"},
        {"name": "tokens per item (loopback model)", "value": endpoint["tokens_per_item"]},
        {"name": "quotes that verify (loopback model)", "value": endpoint["quotes_verified_share"]},
        {"name": f"offline summariser, {offline['items']} items ({offline['source']}; CPU {offline['cpu_s']} s, "
                 f"load {offline['load']})", "value": offline["items_per_s"], "unit": "items/s"},
        {"name": "offline: quotes that verify", "value": offline["quotes_verified_share"]},
    ]
    return {"endpoint": endpoint, "offline": offline, "met": met, "figures": figures}


def compare(prompts: list[str], rounds: int, items: int, latency: float, concurrency: int) -> dict:
    """The prompts in turn, `rounds` times, so each is measured at the same moment (a shared machine's
    load changes by the minute): one figure per run, with its CPU time and the load."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="sabbatical-bench-llm-") as tmp:
        for n in range(rounds):
            for prompt in prompts:
                runs.append(endpoint_runs(Path(tmp), items, latency, concurrency, prompt, name=f"{prompt}-{n}"))
    figures = [
        {"name": f"round {n // len(prompts) + 1}, prompt {run['prompt']}, {items} items "
                 f"(CPU {run['cpu_s']} s in {run['seconds']} s, load {run['load']})",
         "value": f"{run['items_per_s']} items/s, ratio {run['ratio']}", "met": run["ratio"] >= GOAL_RATIO,
         "goal": f"≥ {GOAL_RATIO}"}
        for n, run in enumerate(runs)
    ]
    return {"runs": runs, "figures": figures}


def corpus_run(count: int, latency: float, concurrency: int, prompt: str | None = None) -> dict:
    """What the neighbours cost a researcher's run: `count` corpus abstracts through the loopback endpoint
    (the pile's own abstracts as neighbours, found by words), and offline."""
    documents, source = offline_documents(count)
    with tempfile.TemporaryDirectory(prefix="sabbatical-bench-llm-") as tmp:
        endpoint = endpoint_runs(Path(tmp), count, latency, concurrency, prompt, documents, name="corpus")
        offline = offline_run(Path(tmp), count)
    figures = [
        {"name": f"{endpoint['items']} items ({source}), endpoint, prompt {endpoint['prompt']} "
                 f"(CPU {endpoint['cpu_s']} s in {endpoint['seconds']} s, load {endpoint['load']})",
         "value": f"{endpoint['items_per_s']} items/s, ratio {endpoint['ratio']}"},
        {"name": f"{offline['items']} items ({source}), offline (CPU {offline['cpu_s']} s, load {offline['load']})",
         "value": offline["items_per_s"], "unit": "items/s"},
    ]
    return {"endpoint": endpoint, "offline": offline, "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--offline-items", type=int, default=1000)
    parser.add_argument("--prompt", help="prompt version (default: the configured default)")
    parser.add_argument("--compare", help="prompt versions to measure in turn, e.g. v1,v3")
    parser.add_argument("--rounds", type=int, default=2, help="with --compare: how many times each")
    parser.add_argument("--corpus", action="store_true", help="a researcher's run: --offline-items corpus "
                        "abstracts through the endpoint (with --prompt) and offline")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.compare:
        result = compare(args.compare.split(","), args.rounds, args.items, args.latency, args.concurrency)
    elif args.corpus:
        result = corpus_run(args.offline_items, args.latency, args.concurrency, args.prompt)
    else:
        result = measure(args.items, args.latency, args.concurrency, args.offline_items, args.prompt)
    emit(result, args.json)


if __name__ == "__main__":
    main()
