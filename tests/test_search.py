"""Search: words and meaning fused, every filter, why each hit matched, and any user text is safe."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sabbatical import db
from sabbatical.config import Config, EmbedConfig
from sabbatical.errors import ExitCode, UsageError
from sabbatical.reading import search, search_words, topics, triage
from tests.helpers.organise_pile import add_item, add_items, topic_pile

NASTY_QUERIES = [
    '"',
    '""',
    "'",
    "*",
    "qubit*",
    "NEAR(qubit photon)",
    "qubit AND OR NOT",
    "-photon",
    "a:b",
    "title:qubit",
    "(",
    ")",
    "^qubit",
    "{qubit}",
    "[x]",
    'qubit"photon',
    "\\",
    "%_",
    "🙂 qubit",
    "SELECT * FROM items; --",
    'col:"x" OR',
    "+",
    "qubit NEAR/2 photon",
]


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


@pytest.fixture
def organised(conn):
    pile = topic_pile(conn, per_topic=15)
    topics.organise(conn, Config())
    return pile


def test_a_word_search_finds_the_subject_and_says_why(conn, organised):
    hits = search.search(conn, Config(), "qubit entanglement", limit=10)
    assert len(hits) == 10
    assert all(h.id in organised["quantum"] for h in hits)
    best = hits[0]
    assert set(best.matched_terms) <= {"qubit", "entanglement"} and best.matched_terms
    assert best.similarity is not None and best.similarity > 0.3
    assert best.topic == topics.topic_names(conn)[best.topic_id]
    assert best.why == {"terms": best.matched_terms, "similarity": best.similarity, "topic": best.topic}
    assert "words: " in best.why_text and "similarity" in best.why_text and "topic: " in best.why_text


def test_a_search_without_explanations_finds_the_same_items_in_the_same_order(conn, organised):
    explained = search.search(conn, Config(), "qubit entanglement", limit=10)
    plain = search.search(conn, Config(), "qubit entanglement", limit=10, explain=False)
    assert [h.id for h in plain] == [h.id for h in explained]
    assert all(h.matched_terms == [] for h in plain) and explained[0].matched_terms


def test_meaning_finds_items_that_share_no_query_word(conn):
    """An item about photons and spin, searched for as 'qubit': no shared word, yet found by similarity
    (a 3-dimensional space, so the SVD has to generalise across co-occurring words)."""
    config = Config(embed=EmbedConfig(dimensions=3))
    topic_pile(conn, per_topic=15)
    add_item(conn, "test:no-shared-word", "Photon spin decoherence", "hamiltonian superposition photon spin")
    topics.organise(conn, config)
    hits = search.search(conn, config, "qubit", limit=50)
    found = {h.id: h for h in hits}
    assert "test:no-shared-word" in found
    assert found["test:no-shared-word"].matched_terms == [] and found["test:no-shared-word"].similarity > 0


def test_an_unrelated_item_is_not_found_by_noise_in_a_tiny_pile(conn):
    """Five items give a 4-dimensional space where everything is faintly 'similar': an item sharing no
    word and no meaning with the query must not appear."""
    add_item(conn, "test:warmup", "Learning rate warmup for transformers", "Warmup stabilises transformer training.")
    add_item(conn, "test:post", "Why warmup works", "A blog post on warmup schedules for small transformers.")
    add_item(conn, "test:protein", "Protein folding at scale", "Nothing about the question.")
    add_item(conn, "test:notes", "Secret warmup notes", "warmup transformers")
    add_item(conn, "test:paper", "Dropped warmup paper", "warmup transformers")
    hits = search.search(conn, Config(), "warmup small transformers", limit=10)
    assert "test:protein" not in [h.id for h in hits]
    assert all(h.matched_terms or h.similarity >= search.MIN_SIMILARITY for h in hits)


def test_words_find_what_meaning_does_not_know(conn, organised):
    """A rare word outside the fitted vocabulary is still found by FTS5."""
    add_item(conn, "test:rare", "Zymurgy notes", "zymurgy of lambic beer")
    hits = search.search(conn, Config(), "zymurgy")
    assert [h.id for h in hits] == ["test:rare"] and hits[0].matched_terms == ["zymurgy"]


@pytest.mark.parametrize("query", NASTY_QUERIES)
def test_any_user_text_is_safe(conn, organised, query):
    try:
        hits = search.search(conn, Config(), query)
    except UsageError:
        assert not search.query_words(query)  # only punctuation: asked for words, no crash
        return
    assert isinstance(hits, list)


def test_stemming_matches_word_forms(conn, organised):
    add_item(conn, "test:forms", "Translations everywhere", "translating translated sentences")
    hits = search.search(conn, Config(), "translation", limit=50)
    assert "test:forms" in {h.id for h in hits}


def test_filters_by_kind_topic_state_since_and_source(conn, organised):
    posts = add_items(conn, "quantum", 3, start=200, kind="post", published="2026-06-01")
    topics.organise(conn, Config())
    by_kind = search.search(conn, Config(), "qubit", filters=search.Filters(kind="post"))
    assert {h.id for h in by_kind} == set(posts)
    quantum_topic = topics.topic_of_items(conn)[organised["quantum"][0]]
    by_topic = search.search(
        conn, Config(), "qubit photon image", limit=100, filters=search.Filters(topic=str(quantum_topic))
    )
    assert by_topic and all(h.topic_id == quantum_topic for h in by_topic)
    triage.triage(conn, organised["quantum"][:2], "star")
    starred = search.search(conn, Config(), "qubit", filters=search.Filters(state="starred"))
    assert {h.id for h in starred} == set(organised["quantum"][:2]) and all(h.state == "starred" for h in starred)
    inbox = search.search(conn, Config(), "qubit", limit=100, filters=search.Filters(state="inbox"))
    assert not {h.id for h in inbox} & set(organised["quantum"][:2])
    recent = search.search(conn, Config(), "qubit", filters=search.Filters(since="2026-01-01"))
    assert {h.id for h in recent} == set(posts)
    source = conn.execute(
        "INSERT INTO sources (kind, locator, title) VALUES ('feed', 'https://blog.example/feed', 'Example blog')"
    ).lastrowid
    conn.execute("INSERT INTO item_sources (item_id, source_id) VALUES (?, ?)", (posts[0], source))
    for name in ("blog.example", "Example blog", str(source)):
        assert [h.id for h in search.search(conn, Config(), "qubit", filters=search.Filters(source=name))] == [posts[0]]


def test_since_accepts_spans_and_dates_and_refuses_nonsense():
    assert search.parse_since("2024-03-01") == "2024-03-01"
    assert search.parse_since("7d") < search.parse_since("1d")
    with pytest.raises(UsageError, match="7d, 2w"):
        search.parse_since("last tuesday")


def test_unsorted_is_a_topic_filter(conn, organised):
    stranger = add_item(conn, "test:stranger", "Flemish abbey ledgers", "tithes abbots qubit ledgers")
    topics.organise(conn, Config())
    assert topics.topic_of_items(conn)[stranger] is None
    hits = search.search(conn, Config(), "qubit", filters=search.Filters(topic="unsorted"))
    assert [h.id for h in hits] == [stranger] and hits[0].topic == "unsorted"


def _pile_bytes(path):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(path.parent.glob(path.name + "*"))}


def test_a_search_before_any_organise_answers_by_words_writes_nothing_and_says_so(tmp_path):
    path = tmp_path / "pile.db"
    setup = db.connect(path)
    topic_pile(setup, per_topic=10)
    setup.close()  # the last close checkpoints the WAL: the file is settled
    before = _pile_bytes(path)
    conn, watcher = db.connect(path), db.connect(path)
    seen_by_watcher = watcher.execute("PRAGMA data_version").fetchone()[0]
    changes = conn.total_changes
    hits = search.search(conn, Config(), "pixel segmentation")
    assert hits and all(h.similarity is None and h.matched_terms for h in hits) and hits[0].topic == "unsorted"
    assert hits.words_only and hits.note.startswith("searched by words only") and "pile organise" in hits.note
    related = search.related(conn, Config(), hits[0].id)
    assert related == [] and "no vector yet" in related.note
    from sabbatical.reading import rank

    stats = rank.pile_stats(conn, Config())
    assert "no vectors yet" in stats["taste"]["needs"]
    assert conn.total_changes == changes
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == seen_by_watcher
    assert conn.execute("SELECT COUNT(*) FROM embedders").fetchone()[0] == 0
    conn.close()
    watcher.close()
    assert _pile_bytes(path) == before


def test_items_added_since_the_last_organise_are_found_by_words_and_the_note_counts_them(conn, organised):
    assert search.search(conn, Config(), "qubit").note == ""
    add_item(conn, "test:late", "Qubit error budgets", "qubit error correction thresholds")
    add_item(conn, "test:later", "Photon counting", "photon detectors")
    changes = conn.total_changes
    hits = search.search(conn, Config(), "qubit", limit=50)
    late = next(h for h in hits if h.id == "test:late")
    assert late.similarity is None and late.matched_terms == ["qubit"]
    assert any(h.similarity is not None for h in hits) and not hits.words_only
    assert hits.note.startswith("2 item(s) added since the pile was last organised were searched by words only")
    assert conn.total_changes == changes


def test_two_piles_opened_one_after_another_never_share_a_cached_index(tmp_path):
    """The same path reused, and in-memory piles whose connection ids may be reused: each search sees
    only its own pile's vectors, though both piles' first TF-IDF model is called tfidf-svd/1."""
    for kept in ("quantum", "vision"):
        for target in (tmp_path / "same.db", ":memory:"):
            for leftover in tmp_path.glob("same.db*"):
                leftover.unlink()
            conn = db.connect(target)
            wanted = set(topic_pile(conn, per_topic=10, topics=(kept, "language"))[kept])
            topics.organise(conn, Config())
            hits = search.search(conn, Config(), "qubit photon pixel segmentation", limit=100)
            index = search.stored_index(conn, Config())
            assert index.model == "tfidf-svd/1" and set(index.ids) == {
                r[0] for r in conn.execute("SELECT id FROM items")
            }
            assert {h.id for h in hits} <= set(index.ids) and {h.id for h in hits} & wanted
            conn.close()


def test_related_items_are_near_in_meaning(conn, organised):
    hits = search.related(conn, Config(), organised["vision"][0], limit=5)
    assert len(hits) == 5 and organised["vision"][0] not in {h.id for h in hits}
    assert all(h.id in organised["vision"] for h in hits)
    assert all(h.similarity is not None for h in hits)


def test_related_in_a_pile_smaller_than_the_limit_never_lists_the_item_itself(conn):
    add_item(conn, "test:a", "Warmup for transformers", "Learning rate warmup stabilises transformer training.")
    add_item(conn, "test:b", "Why warmup works", "A post on warmup schedules for small transformers.")
    add_item(conn, "test:c", "Protein folding at scale", "Structure prediction for proteins.")
    topics.organise(conn, Config())
    hits = search.related(conn, Config(), "test:a", limit=10)
    assert sorted(h.id for h in hits) == ["test:b", "test:c"]
    assert all(h.similarity is not None and h.similarity > float("-inf") for h in hits)


def test_the_cli_searches_with_json_and_refuses_an_empty_query(workspace, cli):
    conn = db.connect(workspace.pile_path)
    topic_pile(conn, per_topic=10)
    conn.close()
    words_only = cli("--workspace", workspace.root, "pile", "search", "qubit photon", "-n", "3")
    assert words_only.exit_code == 0 and "qubit" in words_only.stdout
    assert words_only.stderr.count("\n") == 1 and words_only.stderr.startswith("Note: searched by words only")
    answer = json.loads(cli("--workspace", workspace.root, "pile", "search", "qubit", "--json").stdout)
    assert answer["words_only"] is True and "pile organise" in answer["note"]
    assert cli("--workspace", workspace.root, "pile", "organise").exit_code == 0
    result = cli("--workspace", workspace.root, "pile", "search", "qubit photon", "--json", "-n", "3")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"hits", "words_only", "note"} and answer["words_only"] is False and answer["note"] is None
    hits = answer["hits"]
    assert len(hits) == 3
    assert set(hits[0]) == {
        "id",
        "title",
        "kind",
        "url",
        "published",
        "state",
        "topic_id",
        "topic",
        "score",
        "similarity",
        "matched_terms",
        "why",
        "item",
    }
    table = cli("--workspace", workspace.root, "pile", "search", 'qubit" NEAR(', "--kind", "paper")
    assert table.exit_code == 0 and "qubit" in table.stdout
    empty = cli("--workspace", workspace.root, "pile", "search", "  ?! ")
    assert empty.exit_code == ExitCode.USAGE and empty.stderr.startswith("Error: give some words")
    bad_since = cli("--workspace", workspace.root, "pile", "search", "qubit", "--since", "soon")
    assert bad_since.exit_code == ExitCode.USAGE
    related = cli("--workspace", workspace.root, "pile", "related", "test:quantum-0", "--json")
    assert related.exit_code == 0 and len(json.loads(related.stdout)) == 10
    missing = cli("--workspace", workspace.root, "pile", "related", "test:nothing")
    assert missing.exit_code == ExitCode.ERROR and "no item" in missing.stderr


def test_a_word_matching_very_many_items_is_ranked_among_title_matches(conn, organised, monkeypatch):
    """Past MAX_RANKED matches the BM25 ranking is limited to title matches (bounded work), and still
    returns items that hold the word."""
    monkeypatch.setattr(search_words, "MAX_RANKED", 5)
    add_item(conn, "test:titled", "Qubit qubit qubit", "a short note")
    ranked, _ = search_words._fts_ranking(conn, ["qubit"], 100, None)
    assert ranked and ranked[0] == "test:titled"
    titles = dict(conn.execute("SELECT id, title FROM items").fetchall())
    assert all("qubit" in titles[i].lower() for i in ranked)


def test_search_related_inbox_and_stats_work_on_a_pile_that_refuses_every_write(conn, organised):
    """PRAGMA query_only makes SQLite refuse any write: every read still answers, new items included."""
    from sabbatical.reading import rank

    add_item(conn, "test:unembedded", "Qubit readout", "qubit readout fidelity")
    conn.execute("PRAGMA query_only = ON")
    hits = search.search(conn, Config(), "qubit readout", limit=50)
    assert "test:unembedded" in {h.id for h in hits} and hits.note.startswith("1 item(s) added since")
    assert len(search.related(conn, Config(), organised["quantum"][0], limit=3)) == 3
    assert any(r.id == "test:unembedded" for r in rank.rank_items(conn, Config(), state="inbox"))
    assert rank.pile_stats(conn, Config())["items"] == 46


def test_each_mode_searches_by_what_it_names(conn):
    """words: only items holding the words, meaning took no part; meaning: only vectors, so an item sharing
    no word is found and an item added after the last organise is not; hybrid: both."""
    config = Config(embed=EmbedConfig(dimensions=3))
    topic_pile(conn, per_topic=15)
    add_item(conn, "test:no-shared-word", "Photon spin decoherence", "hamiltonian superposition photon spin")
    topics.organise(conn, config)
    add_item(conn, "test:unembedded", "Qubit readout", "qubit readout fidelity")
    words = search.search(conn, config, "qubit", limit=50, mode="words")
    assert words.words_only and words.note == "" and all(h.matched_terms for h in words)
    assert "test:unembedded" in {h.id for h in words} and "test:no-shared-word" not in {h.id for h in words}
    meaning = search.search(conn, config, "qubit", limit=50, mode="meaning")
    assert not meaning.words_only and all(h.similarity is not None for h in meaning)
    assert "test:no-shared-word" in {h.id for h in meaning} and "test:unembedded" not in {h.id for h in meaning}
    assert meaning.note.startswith("1 item(s) added since the pile was last organised were not searched")
    hybrid = {h.id for h in search.search(conn, config, "qubit", limit=50)}
    assert {"test:no-shared-word", "test:unembedded"} <= hybrid
    with pytest.raises(UsageError, match="--mode 'vibes': use one of hybrid, words, meaning"):
        search.search(conn, config, "qubit", mode="vibes")


def test_every_hit_says_how_near_it_is_in_meaning_whichever_side_found_it(conn, organised):
    hits = search.search(conn, Config(), "qubit entanglement", limit=10)
    assert all(h.similarity is not None and h.matched_terms for h in hits)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1, 1, allow_nan=False, width=32), min_size=1, max_size=1_500))
def test_the_similarity_floor_lets_only_outstanding_items_through(values):
    """Above MIN_POPULATION vectors the floor is Z_FLOOR deviations above the mean: by Chebyshev at most
    1/Z_FLOOR² of the items clear it, whatever the embedder's scale; it is never below MIN_SIMILARITY."""
    import numpy as np

    sims = np.array(values, dtype=np.float32)
    floor = search.similarity_floor(sims)
    assert floor >= search.MIN_SIMILARITY
    if len(sims) >= search.MIN_POPULATION:
        assert (sims >= floor).mean() <= 1 / search.Z_FLOOR**2 + 1e-6
    else:
        assert floor == search.MIN_SIMILARITY


def test_meaning_weighs_less_once_the_words_have_found_the_subject(conn):
    """A query whose words many items hold is ranked by the words first; meaning reorders them and adds
    what they missed below them: an item near in meaning that lacks the word comes after those holding it."""
    config = Config(embed=EmbedConfig(dimensions=3))
    holding = topic_pile(conn, per_topic=15)["quantum"]
    add_item(conn, "test:no-shared-word", "Photon spin decoherence", "hamiltonian superposition photon spin")
    topics.organise(conn, config)
    assert "test:no-shared-word" in {h.id for h in search.search(conn, config, "qubit", limit=20, mode="meaning")}
    hits = search.search(conn, config, "qubit", limit=len(holding))
    assert {h.id for h in hits} == set(holding) and all(h.matched_terms == ["qubit"] for h in hits)


def test_the_cli_takes_a_mode_and_refuses_an_unknown_one(workspace, cli):
    conn = db.connect(workspace.pile_path)
    topic_pile(conn, per_topic=10)
    conn.close()
    assert cli("--workspace", workspace.root, "pile", "organise").exit_code == 0
    words = json.loads(
        cli("--workspace", workspace.root, "pile", "search", "qubit", "--mode", "words", "--json").stdout
    )
    assert words["words_only"] is True and all(h["matched_terms"] for h in words["hits"])
    meaning = json.loads(
        cli("--workspace", workspace.root, "pile", "search", "qubit", "--mode", "meaning", "--json").stdout
    )
    assert meaning["words_only"] is False and meaning["hits"]
    bad = cli("--workspace", workspace.root, "pile", "search", "qubit", "--mode", "vibes")
    assert bad.exit_code == ExitCode.USAGE and "use one of hybrid, words, meaning" in bad.stderr


def test_notes_and_tags_find_the_items_they_were_written_on_until_undone(conn, organised):
    """The researcher's own words: a note or a tag holding a query word finds its item (which holds no
    such word itself) and says so; a removed tag or an undone note no longer does."""
    target, other = organised["vision"][0], organised["language"][0]
    triage.add_note(conn, target, "My advisor's favourite counterexample")
    triage.tag(conn, other, ["advisor-pick", "reread"])
    hits = {h.id: h for h in search.search(conn, Config(), "advisor", limit=10)}
    assert {target, other} <= set(hits)
    assert hits[target].why["your_words"] == ["advisor"] and "your notes/tags: advisor" in hits[target].why_text
    assert hits[target].matched_terms == []
    assert target in {h.id for h in search.search(conn, Config(), "counterexamples advisor", limit=10, mode="words")}
    assert target not in {h.id for h in search.search(conn, Config(), "advisor", limit=10, mode="meaning")}
    triage.tag(conn, other, ["advisor-pick"], remove=True)
    triage.undo(conn, [target])
    assert not {target, other} & {h.id for h in search.search(conn, Config(), "advisor", limit=10)}


def test_meaning_alone_on_a_pile_with_no_vectors_finds_nothing_and_says_why(conn):
    topic_pile(conn, per_topic=3)
    hits = search.search(conn, Config(), "qubit", mode="meaning")
    assert list(hits) == [] and hits.note.startswith("nothing was searched: the pile's 9 item(s) have no vectors")


def test_hybrid_fuses_scores_so_an_item_strong_on_both_sides_leads_and_a_clear_winner_stays_ahead():
    """Score fusion: how much an item won by counts, not only its place. An item first by words and
    second by meaning beats one first by meaning alone; a words score far above the rest is not
    overtaken by an item that is merely a little nearer in meaning."""
    both = search._combine({"a": 0.9, "b": 1.0}, {"a": 10.0, "c": 9.0}, 0.6, {}, 2)
    assert both[0][0] == "a"
    clear = search._combine({"x": 1.0, "y": 0.9}, {"y": 20.0, "x": 2.0}, 0.6, {}, 2)
    assert [item_id for item_id, _ in clear] == ["y", "x"]
    meaning_heavy = search._combine({"x": 1.0, "y": 0.9}, {"y": 20.0, "x": 2.0}, 0.05, {}, 2)
    assert [item_id for item_id, _ in meaning_heavy] == ["x", "y"]


def test_your_notes_add_to_a_hybrid_score_as_much_as_the_item_s_own_words_would():
    scores = dict(search._combine({}, {"a": 4.0}, 0.6, {"b": ["advisor"]}, 1))
    assert scores["b"] == pytest.approx(scores["a"]) and scores["b"] > 0


def test_feedback_moves_the_query_toward_what_the_first_fusion_found():
    """Pseudo-relevance feedback: the query's vector moves toward the first fused top's mean vector, so
    an item near those (but not near the query itself) rises; the similarity a hit reports stays the
    query's own cosine."""
    import numpy as np

    from sabbatical.reading import embed

    matrix = embed.normalise_rows(np.array([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32))
    ids = ["query-like", "found", "near-found", "unrelated"]
    index = embed.VectorIndex("test", ids, matrix, {i: n for n, i in enumerate(ids)})
    vector = np.array([1, 0, 0], dtype=np.float32)
    meaning = search._Meaning(index, None, vector, matrix @ vector)
    moved = meaning.fed_back(["found"])
    assert moved is not None
    assert moved.sims[2] > meaning.sims[2] and moved.sims[3] == pytest.approx(0)
    assert meaning.similarity([], 10)["near-found"] == pytest.approx(0)
    assert meaning.fed_back(["no-vector"]) is None


def test_feedback_respects_the_filters(conn, organised):
    """The fed-back query is matched only against the items the filters allow."""
    posts = add_items(conn, "quantum", 3, start=300, kind="post")
    topics.organise(conn, Config())
    hits = search.search(conn, Config(), "qubit entanglement photon", limit=50, filters=search.Filters(kind="post"))
    assert hits and {h.id for h in hits} <= set(posts)


def _rows_holding(conn, word):
    return {r[0] for r in conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH ?", (f'"{word}"',))}


@pytest.mark.parametrize("query", ["we qubit photon", "qubit telescope study", "image lidar"])
def test_each_hit_names_the_query_words_it_holds_however_it_was_found(conn, organised, query):
    """Hits the all-words or phrase query found are known to hold every content word, so only their
    other words are looked up; every hit still names exactly the query words FTS5 finds in it."""
    hits = search.search(conn, Config(), query, limit=30)
    words = search.query_words(query)
    holding = {w: _rows_holding(conn, w) for w in words}
    seqs = dict(conn.execute("SELECT id, seq FROM items").fetchall())
    assert hits
    for hit in hits:
        assert hit.matched_terms == [w for w in words if seqs[hit.id] in holding[w]], hit.id
    assert {len(h.matched_terms) for h in hits} - {len(words)}, "some hits hold only some of the words"


@pytest.mark.parametrize("max_ranked", [search_words.MAX_RANKED, 1])
def test_items_holding_the_words_as_a_phrase_come_first(conn, max_ranked, monkeypatch):
    """The phrase query's matches are a part of the all-words query's: when those are few it is not
    counted again, and when they are many it is counted (and ranked) on its own; phrase matches lead."""
    monkeypatch.setattr(search_words, "MAX_RANKED", max_ranked)
    apart = add_item(conn, "test:apart", "Photon sources and the qubit", "qubit and then a photon, " * 5)
    together = add_item(conn, "test:together", "A note", "a qubit photon pair")
    add_item(conn, "test:neither", "Lidar scenes", "depth from a camera")
    ranked, _ = search_words._fts_ranking(conn, ["qubit", "photon"], 100, None)
    assert ranked == [together, apart]


def test_a_search_leaves_the_connection_a_page_cache_for_the_next_one(conn, organised):
    conn.execute("PRAGMA cache_size = -1000")
    search.search(conn, Config(), "qubit")
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -search.SEARCH_CACHE_KIB
    conn.execute(f"PRAGMA cache_size = -{4 * search.SEARCH_CACHE_KIB}")
    search.search(conn, Config(), "qubit")
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -4 * search.SEARCH_CACHE_KIB
