"""Search's second meaning side: with the default TF-IDF vectors, `pile organise` also embeds every item with
WordLlama's packaged weights, and hybrid search blends the two similarities. Topics never read those
vectors; a read never embeds them; a pile without them answers by TF-IDF alone and says so."""

from __future__ import annotations

import pytest

from sabbatical import db
from sabbatical.config import Config, EmbedConfig
from sabbatical.reading import embed, search, topics
from tests.helpers.organise_pile import add_item, topic_pile

pytest.importorskip("wordllama")  # a default dependency; a broken install says so here, not as failures below


def companion_vectors(conn) -> int:
    return conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (embed.COMPANION_MODEL,)).fetchone()[0]


@pytest.fixture(scope="module")
def organised(tmp_path_factory):
    """One organised pile of three subjects (quantum, vision, language), shared by the tests that only read."""
    conn = db.connect(tmp_path_factory.mktemp("companion") / "pile.db")
    ids = topic_pile(conn, per_topic=12)
    topics.organise(conn, Config())
    yield conn, ids
    conn.close()


def test_organise_embeds_the_companion_and_topics_keep_tfidf(organised):
    conn, ids = organised
    items = sum(len(group) for group in ids.values())
    assert companion_vectors(conn) == items
    models = {r[0] for r in conn.execute("SELECT DISTINCT model FROM topics")}
    assert models and all(model.startswith("tfidf-svd/") for model in models)


def test_a_query_tfidf_never_saw_is_found_by_the_companion(organised):
    """'photograph' and 'picture' are in no item of the pile, so TF-IDF cannot place the query; WordLlama
    knows they are near images and cameras."""
    conn, ids = organised
    hits = search.search(conn, Config(), "photograph picture", limit=5, mode="meaning")
    assert hits and {h.id for h in hits} <= set(ids["vision"])
    assert hits.note == ""


def test_without_the_companion_the_same_query_finds_nothing_by_meaning(organised, monkeypatch):
    conn, _ = organised
    monkeypatch.setattr(search, "companion_index", lambda conn, config: None)
    assert list(search.search(conn, Config(), "photograph picture", limit=5, mode="meaning")) == []


def test_a_keyword_query_still_ranks_the_items_holding_the_word_first(organised):
    conn, ids = organised
    hits = search.search(conn, Config(), "qubit", limit=len(ids["quantum"]))
    holding = {r[0] for r in conn.execute("SELECT id FROM items WHERE title LIKE '%qubit%' OR abstract LIKE '%qubit%'")}
    assert [h.id for h in hits][: len(holding)] and {h.id for h in hits[: len(holding)]} == holding


def test_a_pile_not_yet_embedded_by_the_companion_answers_without_it_and_says_so(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    ids = topic_pile(conn, per_topic=12)
    topics.organise(conn, Config())
    with db.transaction(conn):
        conn.execute("DELETE FROM embeddings WHERE model = ?", (embed.COMPANION_MODEL,))
    hits = search.search(conn, Config(), "qubit entanglement", limit=5)
    assert hits and {h.id for h in hits} <= set(ids["quantum"])
    assert "no WordLlama vectors yet" in hits.note and "pile organise" in hits.note
    assert companion_vectors(conn) == 0  # a read never embeds
    topics.organise(conn, Config())
    assert companion_vectors(conn) == 36
    assert search.search(conn, Config(), "qubit entanglement", limit=5).note == ""


def test_an_item_added_since_organise_is_named_in_the_note_and_found_by_words(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    topic_pile(conn, per_topic=12)
    topics.organise(conn, Config())
    add_item(conn, "test:new", "Zebrafish telomere study", "zebrafish telomere length")
    hits = search.search(conn, Config(), "zebrafish", limit=5)
    assert [h.id for h in hits] == ["test:new"]
    assert "1 item(s) have no WordLlama vectors yet" in hits.note
    assert companion_vectors(conn) == 36


def test_other_backends_have_no_companion(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    topic_pile(conn, per_topic=4)
    config = Config(embed=EmbedConfig(backend="wordllama"))
    topics.organise(conn, config)
    assert embed.companion_model(config) is None
    # The wordllama backend's own vectors are the same model, stored once, not twice.
    assert companion_vectors(conn) == 12
    assert search.search(conn, config, "qubit", limit=3).note == ""


def test_in_a_large_pile_feedback_matches_the_first_pass_best_only_and_finds_the_same_top(monkeypatch):
    """Above PRF_EXACT_BELOW vectors the fed-back query is matched against the first pass's best PRF_POOL
    items with a floor estimated on a sample: the same top items as the pass over every vector."""
    import numpy as np

    rng = np.random.default_rng(0)
    centres = embed.normalise_rows(rng.normal(size=(40, 32)))
    matrix = embed.normalise_rows(centres[rng.integers(0, 40, 12_000)] + 0.6 * rng.normal(size=(12_000, 32)))
    ids = [f"item-{n}" for n in range(len(matrix))]
    index = embed.VectorIndex("test", ids, matrix, {item_id: n for n, item_id in enumerate(ids)})
    vector = embed.normalise_rows(centres[:1] + 0.3 * rng.normal(size=(1, 32)))[0]
    meaning = search._Meaning(index, None, vector, matrix @ vector)
    seeds = [ids[p] for p in search._top(meaning.sims, 5)]
    pooled = meaning.fed_back(seeds)
    monkeypatch.setattr(search, "PRF_EXACT_BELOW", 10**9)
    exact = meaning.fed_back(seeds)
    assert pooled is not None and exact is not None
    assert pooled.floor is not None and exact.floor is None
    assert np.isneginf(pooled.sims).sum() == len(ids) - search.PRF_POOL
    assert pooled.floor == pytest.approx(search.similarity_floor(exact.sims), abs=0.02)
    assert list(meaning.scores(10, pooled)) == list(meaning.scores(10, exact))


def test_organise_counts_the_companion_on_the_same_progress_bar(tmp_path):
    """The bar goes on from the TF-IDF items to the companion's: its total grows by what the companion
    embeds, and every advance lands within it."""
    conn = db.connect(tmp_path / "pile.db")
    topic_pile(conn, per_topic=4)
    bar = {"done": 0, "total": 0, "descriptions": []}

    def report(advance=1, total=None, description=None):
        bar["done"] += advance
        if total is not None:
            bar["total"] = total
        if description is not None:
            bar["descriptions"].append(description)
        assert bar["done"] <= bar["total"]

    topics.organise(conn, Config(), on_progress=report)
    assert bar["total"] == bar["done"] == 24
    assert bar["descriptions"] == ["embedding", "embedding for search"]


def test_a_companion_that_lacks_some_items_is_matched_to_the_index_by_item(tmp_path):
    """With every item embedded the companion's rows are the index's own; with some missing they are
    matched by item id: the same items found either way, none of them one without a companion vector."""
    conn = db.connect(tmp_path / "pile.db")
    ids = topic_pile(conn, per_topic=12)
    topics.organise(conn, Config())
    before = [h.id for h in search.search(conn, Config(), "photograph picture", limit=6, mode="meaning")]
    dropped = ids["quantum"][::2]
    with db.transaction(conn):
        conn.executemany(
            "DELETE FROM embeddings WHERE model = ? AND item_id = ?", [(embed.COMPANION_MODEL, i) for i in dropped]
        )
    conn.close()  # a fresh connection: the product never drops one item's vector, so no cache watches for it
    conn = db.connect(tmp_path / "pile.db")
    second, index = search.companion_index(conn, Config()), search.stored_index(conn, Config())
    assert second is not None and index is not None and second.ids != index.ids
    hits = search.search(conn, Config(), "photograph picture", limit=6, mode="meaning")
    assert [h.id for h in hits] == before and set(before) <= set(ids["vision"])
    assert f"{len(dropped)} item(s) have no WordLlama vectors yet" in hits.note
