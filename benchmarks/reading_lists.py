"""Sprint reading lists on the whole corpus pile: how many of each list's items are relevant.

The pile is every arXiv file and feed of the shared corpus through the real ingester, organised (so the
meaning side of search takes part). Ten sprint questions with judged items are in
`benchmarks/data/reading-lists.jsonl` (ids and judgements only; the text is read from the corpus). Each
question's list is made the way `sprint reading` makes it (phrases, relevance floor, at most ten items);
for comparison, the list as it was made before: the pile's search with the question's words as a bag,
ten slots filled.

An item the list holds that was never judged counts as not relevant (and is shown, so the judgements
can be extended). Goal: at least 8 of 10 relevant for each question; a list the floor cut shorter meets
it when at least 80% of what it holds is relevant; lists holding at least 8 relevant items are counted
too, as "8 of 10" also reads, and the relevant items listed in all (a list of one item would meet 80%).

Eight more questions, judged the same way (each one's list as first made plus its top search hits), are
held out in `benchmarks/data/reading-lists-holdout.jsonl`: they check the method, never tune it, and
their figures are printed next to the dev set's. `--json` prints the figures as JSON; `--pile DIR`
builds the corpus pile in DIR once and reuses it on later runs (building takes about a minute and a half).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from report import emit  # noqa: E402

DEV_SET = HERE / "data" / "reading-lists.jsonl"
HOLDOUT = HERE / "data" / "reading-lists-holdout.jsonl"
SETS = {"dev": DEV_SET, "held out": HOLDOUT}


def corpus_pile(folder: Path):
    import ingest as ingest_benchmark

    from sabbatical import db
    from sabbatical.config import Config
    from sabbatical.reading import topics
    from sabbatical.reading.pile import Pile

    arxiv, feeds = ingest_benchmark.inputs(ingest_benchmark.corpus_dir())
    conn = db.connect(folder / "pile.db")
    ingest_benchmark.ingest(Pile(conn), arxiv, feeds)
    topics.organise(conn, Config())
    return conn


def bag_of_words_list(conn, question: str) -> list[str]:
    """The list as it was made before: the question's words searched as one bag, ten slots filled."""
    from sabbatical.config import Config
    from sabbatical.reading.search import search
    from sabbatical.sprints.reading_list import significant_words

    return [hit.id for hit in search(conn, Config(), " ".join(significant_words(question)), limit=10)][:10]


def judge(listed: list[str], judged: dict[str, int]) -> dict:
    relevant = sum(judged.get(i, 0) for i in listed)
    return {
        "listed": len(listed),
        "relevant": relevant,
        "unjudged": [i for i in listed if i not in judged],
        "met": relevant >= 8 or (0 < len(listed) < 10 and relevant >= 0.8 * len(listed)),
    }


def measure(pile_dir: Path | None = None) -> dict:
    if pile_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            return measure(Path(tmp))
    from sabbatical import db

    built = (pile_dir / "pile.db").exists()
    conn = db.connect(pile_dir / "pile.db") if built else corpus_pile(pile_dir)
    try:
        results = {name: measure_set(conn, path) for name, path in SETS.items()}
    finally:
        conn.close()
    return {"questions": results, "figures": [row for name, rows in results.items() for row in figures(name, rows)]}


def measure_set(conn, path: Path) -> list[dict]:
    from sabbatical.config import Config
    from sabbatical.sprints.reading_list import reading_list

    results = []
    for q in [json.loads(line) for line in path.read_text().splitlines() if line.strip()]:
        made = reading_list(conn, Config(), q["question"])
        results.append(
            {
                "id": q["id"],
                "question": q["question"],
                "judged_relevant": sum(q["judged"].values()),
                "phrases": judge([e.item_id for e in made.entries], q["judged"]),
                "bag_of_words": judge(bag_of_words_list(conn, q["question"]), q["judged"]),
            }
        )
    return results


def figures(name: str, results: list[dict]) -> list[dict]:
    rows = []
    for r in results:
        now, before = r["phrases"], r["bag_of_words"]
        rows.append(
            {
                "name": f"{name} {r['id']} {r['question']}",
                "value": f"{now['relevant']} of {now['listed']} relevant (before: {before['relevant']} of "
                f"{before['listed']}; {r['judged_relevant']} judged relevant in all)"
                + (f"; unjudged: {', '.join(now['unjudged'])}" if now["unjudged"] else ""),
                "goal": "≥ 8 of 10",
                "met": now["met"],
            }
        )
    met = sum(r["phrases"]["met"] for r in results)
    eight = sum(r["phrases"]["relevant"] >= 8 for r in results)
    listed = sum(r["phrases"]["listed"] for r in results)
    relevant = sum(r["phrases"]["relevant"] for r in results)
    judged = sum(r["judged_relevant"] for r in results)
    before = sum(r["bag_of_words"]["relevant"] for r in results)
    rows += [
        {"name": f"{name}: questions whose list is at least 80% relevant", "value": f"{met} of {len(results)}"},
        {
            "name": f"{name}: questions whose list holds at least 8 relevant items",
            "value": f"{eight} of {len(results)}",
        },
        {
            "name": f"{name}: relevant of listed, all questions",
            "value": f"{relevant} of {listed} ({relevant / max(listed, 1):.0%}); {judged} judged relevant in all",
        },
        {
            "name": f"{name}: relevant of the ten before (bag of words), all questions",
            "value": f"{before} of {10 * len(results)}",
        },
    ]
    return rows


def timed(pile_dir: Path | None) -> dict:
    """The figures, with the run's wall and CPU time (user + system) and the load average at its end: the
    machine is shared, and CPU time is what a busy machine inflates least."""
    wall, cpu = time.perf_counter(), os.times()
    result = measure(pile_dir)
    after = os.times()
    spent = (after.user - cpu.user) + (after.system - cpu.system)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
    result["figures"].append(
        {
            "name": "run (lists for every question, both sets)",
            "value": f"{time.perf_counter() - wall:.1f} s wall, {spent:.1f} s CPU (user + system), "
            f"load average {' '.join(load)}",
        }
    )
    return result


def main(argv: list[str]) -> int:
    pile_dir = Path(argv[argv.index("--pile") + 1]) if "--pile" in argv else None
    if pile_dir is not None:
        pile_dir.mkdir(parents=True, exist_ok=True)
    emit(timed(pile_dir), "--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
