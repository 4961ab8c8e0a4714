"""Sprint reading lists on the whole corpus pile: how many of each list's items are relevant.

The pile is every arXiv file and feed of the shared corpus through the real ingester, organised (so the
meaning side of search takes part). Ten sprint questions with judged items are in
`benchmarks/data/reading-lists.jsonl` (ids and judgements only; the text is read from the corpus). Each
question's list is made the way `sprint reading` makes it (phrases, relevance floor, at most ten items);
for comparison, the list as it was made before: the pile's search with the question's words as a bag,
ten slots filled.

An item the list holds that was never judged counts as not relevant (and is shown, so the judgements
can be extended). Goal: at least 8 of 10 relevant for each question; a list the floor cut shorter meets
it when at least 80% of what it holds is relevant. `--json` prints the figures as JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from report import emit  # noqa: E402

DEV_SET = HERE / "data" / "reading-lists.jsonl"


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
    return {"listed": len(listed), "relevant": relevant, "unjudged": [i for i in listed if i not in judged],
            "met": relevant >= 8 or (0 < len(listed) < 10 and relevant >= 0.8 * len(listed))}


def measure() -> dict:
    from sabbatical.config import Config
    from sabbatical.sprints.reading_list import reading_list

    questions = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        conn = corpus_pile(Path(tmp))
        for q in questions:
            made = reading_list(conn, Config(), q["question"])
            results.append({"id": q["id"], "question": q["question"],
                            "phrases": judge([e.item_id for e in made.entries], q["judged"]),
                            "bag_of_words": judge(bag_of_words_list(conn, q["question"]), q["judged"])})
        conn.close()
    return {"questions": results, "figures": figures(results)}


def figures(results: list[dict]) -> list[dict]:
    rows = []
    for r in results:
        now, before = r["phrases"], r["bag_of_words"]
        rows.append({"name": f"{r['id']} {r['question']}",
                     "value": f"{now['relevant']} of {now['listed']} relevant (before: {before['relevant']} of "
                              f"{before['listed']})" + (f"; unjudged: {', '.join(now['unjudged'])}"
                                                        if now["unjudged"] else ""),
                     "goal": "≥ 8 of 10", "met": now["met"]})
    met = sum(r["phrases"]["met"] for r in results)
    listed = sum(r["phrases"]["listed"] for r in results)
    relevant = sum(r["phrases"]["relevant"] for r in results)
    before = sum(r["bag_of_words"]["relevant"] for r in results)
    rows += [{"name": "questions whose list meets the goal", "value": f"{met} of {len(results)}"},
             {"name": "relevant of listed, all questions", "value": f"{relevant} of {listed}"},
             {"name": "relevant of the ten before (bag of words), all questions",
              "value": f"{before} of {10 * len(results)}"}]
    return rows


def main(argv: list[str]) -> int:
    emit(measure(), "--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
