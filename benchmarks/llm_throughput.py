"""Summariser throughput: 500 items through the LLM path against a loopback server, and the offline path.

The loopback OpenAI-compatible server (`python -m tests.helpers.fake_openai`) runs in its own process and
answers every request after 300 ms. With 16 requests in flight the ideal is 16 / 0.3 s = 53.3 items/s;
the goal is at least 0.85 of that. A second run over the same items must make 0 calls (the cache).
Also reported: tokens per item, the share of quotes that verify against the source, and the offline
summariser's rate over 1,000 items (real arXiv abstracts from ../shared/corpus when present, else
synthetic ones). Everything is written to a temporary folder, never into the project.

    python benchmarks/llm_throughput.py [--items 500] [--latency 0.3] [--concurrency 16] [--json]
"""

from __future__ import annotations

import argparse
import csv
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


def endpoint_runs(folder: Path, items: int, latency: float, concurrency: int) -> dict:
    from sabbatical import db
    from sabbatical.config import LLMConfig
    from sabbatical.reading.summarise import choose_producer, summarise_pile
    from tests.helpers.fake_openai import insert_items, sample_documents

    import openai  # noqa: F401  (imported before timing: the import is a one-off cost, not throughput)

    conn = db.connect(folder / "endpoint.db")
    insert_items(conn, sample_documents(items))
    server, url = start_server(latency)
    try:
        producer = choose_producer(LLMConfig(base_url=url, model="loopback", concurrency=concurrency, timeout=30.0))
        started = time.perf_counter()
        first = summarise_pile(conn, producer)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = summarise_pile(conn, producer)
        second_s = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    ideal = concurrency / latency
    rate = first.done / first_s
    return {"items": items, "done": first.done, "failed": first.failed, "seconds": round(first_s, 2),
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
    started = time.perf_counter()
    report = summarise_pile(conn, OFFLINE)
    seconds = time.perf_counter() - started
    return {"items": report.done, "source": source, "seconds": round(seconds, 2),
            "items_per_s": round(report.done / seconds, 1),
            "quotes_verified_share": round(report.quotes_verified / max(1, report.quotes_total), 4)}


def measure(items: int, latency: float, concurrency: int, offline_items: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="sabbatical-bench-llm-") as tmp:
        endpoint = endpoint_runs(Path(tmp), items, latency, concurrency)
        offline = offline_run(Path(tmp), offline_items)
    met = endpoint["ratio"] >= GOAL_RATIO and endpoint["second_run_calls"] == 0
    figures = [
        {"name": f"endpoint: {items} items, {latency * 1000:.0f} ms latency, concurrency {concurrency}",
         "value": endpoint["items_per_s"], "unit": "items/s", "goal": f"≥ {GOAL_RATIO * endpoint['ideal_items_per_s']:.1f}",
         "met": endpoint["ratio"] >= GOAL_RATIO},
        {"name": "ratio to the ideal (concurrency / latency)", "value": endpoint["ratio"], "goal": f"≥ {GOAL_RATIO}",
         "met": endpoint["ratio"] >= GOAL_RATIO},
        {"name": "second run: calls made", "value": endpoint["second_run_calls"], "goal": "0",
         "met": endpoint["second_run_calls"] == 0},
        {"name": "second run: seconds", "value": endpoint["second_run_s"], "unit": "s"},
        {"name": "tokens per item (loopback model)", "value": endpoint["tokens_per_item"]},
        {"name": "quotes that verify (loopback model)", "value": endpoint["quotes_verified_share"]},
        {"name": f"offline summariser, {offline['items']} items ({offline['source']})",
         "value": offline["items_per_s"], "unit": "items/s"},
        {"name": "offline: quotes that verify", "value": offline["quotes_verified_share"]},
    ]
    return {"endpoint": endpoint, "offline": offline, "met": met, "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--offline-items", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.items, args.latency, args.concurrency, args.offline_items)
    emit(result, args.json)


if __name__ == "__main__":
    main()
