"""Ingest speed on the shared corpus: the parse floor, a first ingest, and re-ingesting unchanged input.

In one run, over the corpus's arXiv files (OAI-PMH pages, the Kaggle sample, the daily listings, the
recorded Atom answers) and its 179 real feeds:

(a) parse them with feedparser (its defaults) / lxml / json alone — the floor any ingester pays;
(a') the same with feedparser told not to sanitise content or rewrite links, as the product does — a
     stricter floor, since the product saves that work;
(b) ingest them into a fresh pile (identity, dedup, batched writes, FTS; no summaries);
(c) ingest them again unchanged, as `sabbatical read file` does it (unchanged files are skipped by hash);
(c') the same with --force, so every file is parsed again and every entry is checked against the pile.

Goals: (b) ≥ 1,000 items/s, (b)/(a) ≤ 2, (c)/(b) ≤ 0.2. Prints figures; `--json` prints them as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from report import emit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_RATE, GOAL_FLOOR_RATIO, GOAL_REINGEST_RATIO = 1000.0, 2.0, 0.2


def corpus_dir() -> Path:
    from tests.conftest import corpus_dir as located

    return located()


def inputs(corpus: Path) -> tuple[list[Path], list[Path]]:
    """(arXiv files, feed files) of the corpus."""
    arxiv = [*sorted((corpus / "arxiv/oai_pmh_2023-03-07").glob("ListRecords_data_*.xml")),
             *sorted((corpus / "arxiv/kaggle_snapshot_sample").glob("*.jsonl")),
             *sorted((corpus / "arxiv/daily_listings_cs.CV_cs.CL").glob("*.jsonl")),
             *sorted((corpus / "arxiv/arxiv.py_fixtures/atom_xml").glob("*.xml"))]
    feeds_root = corpus / "feeds"
    feeds = sorted(p for p in feeds_root.rglob("*") if p.is_file() and "bad" not in p.relative_to(feeds_root).parts
                   and not p.name.endswith(".serde.json") and p.suffix != ".opml")
    return arxiv, feeds


def parse_only(arxiv: list[Path], feeds: list[Path], product_options: bool = False) -> int:
    """The floor: the third-party parsers alone, counting entries.

    feedparser runs with its defaults (it sanitises content and rewrites relative links), or with the
    options the product uses (neither), which is cheaper: the stricter floor."""
    import feedparser
    from lxml import etree

    count = 0
    for path in arxiv:
        data = path.read_bytes()
        if path.suffix == ".jsonl":
            count += sum(1 for line in data.splitlines() if line.strip() and json.loads(line))
        else:
            root = etree.fromstring(data, etree.XMLParser(huge_tree=True, resolve_entities=False))
            count += sum(1 for _ in root.iter("{http://www.openarchives.org/OAI/2.0/}record",
                                              "{http://www.w3.org/2005/Atom}entry"))
    for path in feeds:
        data = path.read_bytes()
        if path.suffix == ".json":
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            count += len(doc.get("items") or doc.get("rss", {}).get("channel", {}).get("item", []))
        else:
            options = {"sanitize_html": False, "resolve_relative_uris": False} if product_options else {}
            count += len(feedparser.parse(data, **options).entries)
    return count


def ingest(pile, arxiv: list[Path], feeds: list[Path], force: bool = False):
    from sabbatical.config import ReadingConfig
    from sabbatical.reading.ingest import Ingester, read_feeds, read_files

    ingester = Ingester(pile, ReadingConfig(), force=force)
    read_files(ingester, arxiv)
    read_feeds(ingester, [str(p) for p in feeds], follow=False)
    return ingester.report


def timed(work):
    """(result, wall seconds, CPU seconds). The ratios use CPU time: on a shared machine wall time measures
    the neighbours as much as the code (all of this is single-threaded, so CPU time is its whole cost)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def measure() -> dict:
    from sabbatical import db
    from sabbatical.reading.pile import Pile

    corpus = corpus_dir()
    arxiv, feeds = inputs(corpus)
    import feedparser  # noqa: F401 (import costs are not parsing costs: pay them before timing)

    import sabbatical.reading.ingest  # noqa: F401

    parsed, floor_wall, floor_s = timed(lambda: parse_only(arxiv, feeds))
    _, strict_wall, strict_s = timed(lambda: parse_only(arxiv, feeds, product_options=True))
    with tempfile.TemporaryDirectory() as folder:
        pile = Pile(db.connect(Path(folder) / "pile.db"))
        first, first_wall, first_s = timed(lambda: ingest(pile, arxiv, feeds))
        again, again_wall, again_s = timed(lambda: ingest(pile, arxiv, feeds))
        forced, forced_wall, forced_s = timed(lambda: ingest(pile, arxiv, feeds, force=True))
        items = pile.count()
        pile.close()
    entries = first.new + first.updated + first.duplicate
    rate = entries / first_wall
    files = len(arxiv) + len(feeds)
    return {"files": files, "entries_parsed": parsed, "entries_ingested": entries, "items": items,
            "wall_s": {"floor": round(floor_wall, 3), "strict_floor": round(strict_wall, 3), "ingest": round(first_wall, 3), "reingest": round(again_wall, 4),
                       "forced": round(forced_wall, 3)},
            "cpu_s": {"floor": round(floor_s, 3), "strict_floor": round(strict_s, 3), "ingest": round(first_s, 3), "reingest": round(again_s, 4),
                      "forced": round(forced_s, 3)},
            "figures": [
                {"name": f"(b) first ingest: {entries:,} entries from {files} files into {items:,} items (wall clock)",
                 "value": round(rate), "unit": "items/s", "goal": f"≥ {GOAL_RATE:,.0f} items/s", "met": rate >= GOAL_RATE},
                {"name": f"(a) parse floor: {parsed:,} entries with feedparser / lxml / json (CPU; wall)",
                 "value": f"{floor_s:.2f} s; {floor_wall:.2f}", "unit": "s"},
                {"name": "(b) first ingest (CPU; wall)", "value": f"{first_s:.2f} s; {first_wall:.2f}", "unit": "s"},
                {"name": "(b)/(a), CPU time", "value": round(first_s / floor_s, 2), "unit": "×",
                 "goal": f"≤ {GOAL_FLOOR_RATIO:g}", "met": first_s / floor_s <= GOAL_FLOOR_RATIO},
                {"name": "(b)/(a), wall clock (noisy on a shared machine)", "value": round(first_wall / floor_wall, 2),
                 "unit": "×"},
                {"name": "(a') stricter floor: feedparser with the product's options (CPU)", "value": round(strict_s, 2),
                 "unit": "s"},
                {"name": "(b)/(a'), CPU time", "value": round(first_s / strict_s, 2), "unit": "×"},
                {"name": "(c) re-ingest unchanged, files skipped by hash (CPU)", "value": round(again_s * 1000, 1),
                 "unit": "ms"},
                {"name": "(c)/(b), CPU time", "value": round(again_s / first_s, 4), "unit": "×",
                 "goal": f"≤ {GOAL_REINGEST_RATIO:g}", "met": again_s / first_s <= GOAL_REINGEST_RATIO},
                {"name": "(c') re-ingest with --force: every file parsed, every entry checked (CPU)",
                 "value": round(forced_s, 2), "unit": "s"},
                {"name": "(c')/(b), CPU time", "value": round(forced_s / first_s, 2), "unit": "×"},
                {"name": "items new or updated by (c) and (c')", "value": forced.new + forced.updated + again.new + again.updated,
                 "goal": "0", "met": forced.new + forced.updated + again.new + again.updated == 0},
            ]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    result = measure()
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
