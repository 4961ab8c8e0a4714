"""The search dev set against the corpus it was judged on: every judged id is in the collection, the
paraphrases really share no query's words with what they should find, and hybrid search with the default
embedder is never worse than words alone on any kind of query."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sabbatical import db
from sabbatical.config import Config
from sabbatical.reading import embed, search

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def dev_pile(corpus, tmp_path_factory):
    sys.path.insert(0, str(BENCHMARKS))
    import search_collection
    import search_quality

    records = search_collection.collection(corpus)
    conn = db.connect(tmp_path_factory.mktemp("dev") / "pile.db")
    search_collection.insert(conn, records)
    embed.embed_items(conn, embed.fit_tfidf(conn, Config()))
    yield conn, records, search_quality
    conn.close()


def test_every_judged_item_is_in_the_collection_and_each_kind_has_fourteen_queries(dev_pile):
    _, records, quality = dev_pile
    ids = {r["id"] for r in records}
    dev = quality.load_dev_set()
    assert all(item in ids for query in dev for item in query["relevant"])
    assert [sum(q["kind"] == kind for q in dev) for kind in quality.KINDS] == [14, 14, 14]
    assert all(query["relevant"] and set(query["relevant"].values()) <= {1, 2} for query in dev)


def test_no_paraphrase_shares_all_its_words_with_an_item_it_should_find(dev_pile):
    conn, _, quality = dev_pile
    for query in quality.load_dev_set():
        if query["kind"] != "paraphrase":
            continue
        words = search.content_words(search.query_words(query["query"]))
        holding = {
            r[0]
            for r in conn.execute(
                "SELECT i.id FROM items_fts JOIN items i ON i.seq = items_fts.rowid WHERE items_fts MATCH ?",
                (" ".join(f'"{w}"' for w in words),),
            )
        }
        assert not holding & {item for item, grade in query["relevant"].items() if grade == 2}, query["id"]


def test_hybrid_is_never_worse_than_words_alone_on_any_kind(dev_pile):
    conn, _, quality = dev_pile
    scores: dict[tuple[str, str], list[float]] = {}
    for query in quality.load_dev_set():
        for mode in ("words", "hybrid"):
            ranked = [h.id for h in search.search(conn, Config(), query["query"], limit=10, mode=mode)]
            scores.setdefault((query["kind"], mode), []).append(quality.ndcg_at(ranked, query["relevant"]))
    for kind in quality.KINDS:
        words, hybrid = (sum(scores[kind, mode]) / len(scores[kind, mode]) for mode in ("words", "hybrid"))
        assert hybrid >= words, (kind, hybrid, words)
