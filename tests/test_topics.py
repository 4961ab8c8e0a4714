"""Topics: a first fit finds the pile's subjects; ids stay put as items arrive and across refits;
nothing close means unsorted; renames, pins and merges are events that survive refits."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from sabbatical import db
from sabbatical.config import Config
from sabbatical.errors import ExitCode, NotFound, UsageError
from sabbatical.reading import topics
from sabbatical.tour import organise_stage
from tests.helpers.organise_pile import add_item, add_items, event_count, topic_pile


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


def _topic_of(conn) -> dict[str, int | None]:
    return topics.topic_of_items(conn)


def _dominant(conn, ids: list[str]) -> tuple[int | None, float]:
    """The topic most of `ids` sit in, and the share that do."""
    placed = Counter(_topic_of(conn)[i] for i in ids)
    topic_id, count = placed.most_common(1)[0]
    return topic_id, count / len(ids)


def test_a_first_organise_finds_the_subjects_and_labels_them_by_their_words(conn):
    pile = topic_pile(conn, per_topic=20)
    report = topics.organise(conn, Config())
    assert report.mode == "fit" and report.placed == 60 and report.topics >= 3
    dominant = {subject: _dominant(conn, ids) for subject, ids in pile.items()}
    assert len({topic_id for topic_id, _ in dominant.values()}) == 3  # three subjects, three topics
    assert all(share >= 0.6 for _, share in dominant.values())
    names = {t.id: " ".join(t.keywords) for t in topics.list_topics(conn)}
    assert any(w in names[dominant["quantum"][0]] for w in ("quantum", "qubit", "entanglement", "photon", "spin"))
    run = conn.execute("SELECT mode, items_placed, topics FROM organise_runs").fetchone()
    assert tuple(run) == ("fit", 60, report.topics)


def test_later_items_join_the_nearest_topic_and_earlier_places_never_move(conn):
    pile = topic_pile(conn, per_topic=20)
    topics.organise(conn, Config())
    before = _topic_of(conn)
    ids_before = {t.id for t in topics.list_topics(conn)}
    newcomers = add_items(conn, "quantum", 5, start=100)
    report = topics.organise(conn, Config())
    assert report.mode == "increment" and report.placed == 5 and report.new_topics == 0
    after = _topic_of(conn)
    assert all(after[i] == before[i] for i in before)
    quantum_topics = {before[i] for i in pile["quantum"]} - {None}
    assert all(after[i] in quantum_topics for i in newcomers)
    assert {t.id for t in topics.list_topics(conn)} == ids_before
    assert conn.execute("SELECT how FROM item_topics WHERE item_id = ?", (newcomers[0],)).fetchone()[0] == "join"


def test_an_item_close_to_no_topic_stays_unsorted_instead_of_being_forced(conn):
    topic_pile(conn, per_topic=20)
    topics.organise(conn, Config())
    stranger = add_item(
        conn,
        "test:stranger",
        "Medieval tax records of Flemish abbeys",
        "Ledgers, tithes and abbots in the twelfth century",
    )
    topics.organise(conn, Config())
    assert _topic_of(conn)[stranger] is None
    unsorted = [t for t in topics.list_topics(conn) if t.id == 0]
    assert unsorted and unsorted[0].name == "unsorted" and unsorted[0].size >= 1


def test_a_refit_keeps_ids_renames_and_pins(conn):
    pile = topic_pile(conn, per_topic=20)
    topics.organise(conn, Config())
    quantum, _ = _dominant(conn, pile["quantum"])
    vision, _ = _dominant(conn, pile["vision"])
    topics.rename_topic(conn, str(quantum), "Quantum things")
    topics.pin_topic(conn, f"topic:{vision}")
    pinned_centroid = conn.execute("SELECT centroid FROM topics WHERE id = ?", (vision,)).fetchone()[0]
    add_items(conn, "biology", 20)
    add_items(conn, "quantum", 10, start=100)
    report = topics.organise(conn, Config(), refit=True)
    assert report.mode == "refit" and report.reason == "asked for" and report.new_topics >= 1
    assert _dominant(conn, pile["quantum"])[0] == quantum
    assert _dominant(conn, pile["vision"])[0] == vision
    listed = {t.id: t for t in topics.list_topics(conn)}
    assert listed[quantum].name == "Quantum things" and listed[quantum].renamed
    assert listed[vision].pinned
    # The pinned topic's centre was recomputed in the new space from its members, then held fixed;
    # it is in the new model's space now.
    row = conn.execute("SELECT model, centroid FROM topics WHERE id = ?", (vision,)).fetchone()
    assert row["model"] == report.model and row["centroid"] != pinned_centroid


def test_a_pinned_topic_keeps_its_centre_through_a_refit_in_the_same_space(conn):
    pile = topic_pile(conn, per_topic=20)
    topics.organise(conn, Config())
    vision, _ = _dominant(conn, pile["vision"])
    topics.pin_topic(conn, str(vision))
    add_items(conn, "vision", 3, start=100)
    topics.organise(conn, Config())  # increment: same space
    member_vectors = _member_mean(conn, vision)
    topics._cluster(
        conn, _index(conn), topics._active_topic_rows(conn), topics._content(conn), mode="refit", labeller=None
    )
    centroid = np.frombuffer(
        conn.execute("SELECT centroid FROM topics WHERE id = ?", (vision,)).fetchone()[0], dtype=np.float32
    )
    assert np.allclose(centroid, member_vectors, atol=1e-5)


def _index(conn):
    from sabbatical.reading import embed

    return embed.vector_index(conn, embed.latest_tfidf(conn).model)


def _member_mean(conn, topic_id):
    from sabbatical.reading import clustering

    index = _index(conn)
    rows = [index.row_of[i] for i, t in _topic_of(conn).items() if t == topic_id]
    return clustering.normalised_mean(index.matrix[rows])


def test_merge_moves_items_and_is_an_event_and_survives_a_refit(conn):
    pile = topic_pile(conn, per_topic=20)
    topics.organise(conn, Config())
    quantum, _ = _dominant(conn, pile["quantum"])
    language, _ = _dominant(conn, pile["language"])
    sizes = Counter(_topic_of(conn).values())
    were_language = [i for i, t in _topic_of(conn).items() if t == language]
    events = event_count(conn)
    merged = topics.merge_topics(conn, str(quantum), [str(language)])
    assert event_count(conn) == events + 1
    event = conn.execute("SELECT subject, action, value FROM events ORDER BY id DESC LIMIT 1").fetchone()
    assert (event["subject"], event["action"], json.loads(event["value"])) == (
        f"topic:{language}",
        "topic_merge",
        {"into": quantum},
    )
    assert merged.size == sizes[quantum] + sizes[language]
    assert all(_topic_of(conn)[i] == quantum for i in were_language)
    status = conn.execute("SELECT status, merged_into FROM topics WHERE id = ?", (language,)).fetchone()
    assert tuple(status) == ("merged", quantum)
    assert topics.resolve_topic(conn, str(language)) == quantum  # the old id leads to where it went
    topics.organise(conn, Config(), refit=True)
    assert language not in {t.id for t in topics.list_topics(conn)}


def test_topic_events_only_ever_add_rows(conn):
    topic_pile(conn, per_topic=10)
    topics.organise(conn, Config())
    first = topics.list_topics(conn)[0]
    counts = [event_count(conn)]
    for action in (
        lambda: topics.rename_topic(conn, str(first.id), "One"),
        lambda: topics.rename_topic(conn, str(first.id), ""),
        lambda: topics.pin_topic(conn, str(first.id)),
        lambda: topics.pin_topic(conn, str(first.id), False),
    ):
        action()
        counts.append(event_count(conn))
    assert counts == sorted(counts) and counts[-1] == counts[0] + 4
    now = {t.id: t for t in topics.list_topics(conn)}[first.id]
    assert now.name == first.name and not now.renamed and not now.pinned  # back to the machine's label
    with pytest.raises(Exception, match="append-only"):
        conn.execute("DELETE FROM events")


def test_topics_are_found_by_number_or_name(conn):
    topic_pile(conn, per_topic=10)
    topics.organise(conn, Config())
    some = topics.list_topics(conn)[0]
    topics.rename_topic(conn, str(some.id), "Reading group picks")
    assert topics.resolve_topic(conn, "reading group") == some.id
    assert topics.resolve_topic(conn, "unsorted") is None
    with pytest.raises(NotFound, match="pile topics"):
        topics.resolve_topic(conn, "999")
    with pytest.raises(UsageError):
        topics.merge_topics(conn, str(some.id), [str(some.id)])


def test_growth_counts_items_new_this_week(conn):
    add_items(conn, "quantum", 12, first_seen="2020-01-01T00:00:00Z")
    add_items(conn, "vision", 12, first_seen="2020-01-01T00:00:00Z")
    topics.organise(conn, Config())
    fresh = add_items(conn, "quantum", 3, start=100, first_seen="2099-01-01T00:00:00Z")
    topics.organise(conn, Config())
    home = _topic_of(conn)[fresh[0]]
    listed = {t.id: t for t in topics.list_topics(conn)}
    assert listed[home].new_this_week >= 1
    assert sum(t.new_this_week for t in listed.values()) == 3


def test_an_outgrown_embedder_is_refitted_and_topic_ids_carry_over(conn):
    pile = topic_pile(conn, per_topic=10)
    topics.organise(conn, Config())
    quantum, _ = _dominant(conn, pile["quantum"])
    add_items(conn, "quantum", 20, start=100)
    add_items(conn, "biology", 20)
    report = topics.organise(conn, Config())
    assert report.mode == "refit" and "grew" in report.reason and report.model == "tfidf-svd/2"
    assert _dominant(conn, pile["quantum"])[0] == quantum


def test_an_llm_labels_topics_when_an_endpoint_is_configured(conn, http_server):
    from sabbatical.config import LLMConfig

    answer = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": json.dumps({"label": "Qubits and light"})},
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    http_server.route("/v1/chat/completions", body=json.dumps(answer), headers={"Content-Type": "application/json"})
    topic_pile(conn, per_topic=10)
    topics.organise(conn, Config(llm=LLMConfig(base_url=http_server.url + "/v1", max_retries=0)))
    listed = [t for t in topics.list_topics(conn) if t.id]
    assert listed and all(t.name == "Qubits and light" and t.label_source == "llm" for t in listed)
    assert all(t.keywords for t in listed)  # keywords are still kept
    sent = http_server.requests_to("/v1/chat/completions")
    assert len(sent) == len(listed)
    assert conn.execute("SELECT COUNT(*) FROM llm_calls WHERE purpose = 'topic_label'").fetchone()[0] == len(listed)


def test_a_failing_llm_falls_back_to_keyword_labels(conn, http_server):
    from sabbatical.config import LLMConfig

    http_server.route(
        "/v1/chat/completions",
        status=400,
        body='{"error": {"message": "bad request"}}',
        headers={"Content-Type": "application/json"},
    )
    topic_pile(conn, per_topic=10)
    report = topics.organise(conn, Config(llm=LLMConfig(base_url=http_server.url + "/v1", max_retries=0)))
    assert all(t.label_source == "keywords" for t in topics.list_topics(conn) if t.id)
    assert report.keyword_labels_after_llm_failed == report.topics > 0


def test_the_cli_organises_lists_and_renames(workspace, cli):
    conn = db.connect(workspace.pile_path)
    topic_pile(conn, per_topic=12)
    conn.close()
    first = cli("--workspace", workspace.root, "pile", "organise")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("fit: 36 item(s) placed")
    listed = json.loads(cli("--workspace", workspace.root, "pile", "topics", "--json").stdout)
    assert listed[0].keys() >= {"id", "name", "keywords", "size", "new_this_week", "pinned"}
    renamed = cli("--workspace", workspace.root, "pile", "topic", "rename", str(listed[0]["id"]), "My topic")
    assert renamed.exit_code == 0 and "My topic" in renamed.stdout
    pinned = cli("--workspace", workspace.root, "pile", "topic", "pin", "My topic")
    assert pinned.exit_code == 0 and "pinned" in pinned.stdout
    missing = cli("--workspace", workspace.root, "pile", "topic", "pin", "4242")
    assert missing.exit_code == ExitCode.ERROR and missing.stderr.startswith("Error: no topic 4242")
    again = cli("--workspace", workspace.root, "pile", "organise", "--json")
    assert json.loads(again.stdout)["mode"] == "increment"


def test_organising_an_empty_pile_says_so(workspace, cli):
    result = cli("--workspace", workspace.root, "pile", "organise")
    assert result.exit_code == 0 and result.stdout.startswith("empty")


def test_the_tour_stage_organises_searches_and_writes_the_digest_again_and_again(workspace):
    conn = db.connect(workspace.pile_path)
    topic_pile(conn, per_topic=8)
    conn.close()
    first = organise_stage(workspace)
    assert first.startswith("24 items in ") and "search '" in first and "→ '" in first
    assert f"digest written to {workspace.reading_dir / 'digest.md'}" in first
    assert (workspace.reading_dir / "digest.md").read_text().startswith("# Reading digest")
    second = organise_stage(workspace)
    assert second.split(";")[0] == first.split(";")[0]  # the same topics, nothing moved


def test_the_tour_stage_on_an_empty_pile_says_so(workspace):
    assert organise_stage(workspace) == "the pile is empty, nothing to organise"


# -- class-based keywords ------------------------------------------------------------------------------
def test_keywords_are_what_sets_a_topic_apart_from_the_others():
    from sabbatical.reading.clustering import class_keywords

    shared = "We propose a model and report results on the data."
    quantum = [f"Qubit error correction with surface codes, run {n}. {shared}" for n in range(5)]
    proteins = [f"Protein folding of the enzyme backbone, sample {n}. {shared}" for n in range(5)]
    empty = ["the and of", ""]
    first, second, third = class_keywords([quantum, proteins, empty], top=4)

    def words_of(terms):
        return {word for term in terms for word in term.split()}

    assert {"qubit", "surface", "codes"} <= words_of(first) and "protein" not in words_of(first)
    assert {"protein", "folding"} <= words_of(second) and "qubit" not in words_of(second)
    assert not {"data", "propose", "results"} & words_of(first + second)  # shared and stop words name nothing
    assert third == []
    assert class_keywords([]) == []


def test_keywords_skip_maths():
    """Inline maths ($…$) and LaTeX commands are not words; the topic's own words are."""
    from sabbatical.reading.clustering import class_keywords

    gauge = ["Breaking of gauge symmetry in $\\mathcal{G}$ lattices \\mathcal"] * 3
    other = ["Protein folding in enzymes"] * 3
    words, _ = class_keywords([gauge, other], top=8)
    assert {"gauge", "symmetry", "lattices"} <= {word for term in words for word in term.split()}
    assert not any("mathcal" in w for w in words)


# -- labels name the subject -------------------------------------------------------------------------
def _feed_items(conn, source_title: str, locator: str, items: list[tuple[str, str]], prefix: str) -> list[str]:
    """Items that arrived through one feed (so its template can be learnt from them)."""
    with db.transaction(conn):
        source_id = conn.execute(
            "INSERT INTO sources (kind, locator, title) VALUES ('feed', ?, ?)", (locator, source_title)
        ).lastrowid
    ids = []
    for n, (title, body) in enumerate(items):
        item_id = add_item(conn, f"test:{prefix}-{n}", title, "", content=body, kind="post")
        with db.transaction(conn):
            conn.execute("INSERT INTO item_sources (item_id, source_id) VALUES (?, ?)", (item_id, source_id))
        ids.append(item_id)
    return ids


def test_labels_never_hold_stop_words_of_other_languages_feed_templates_or_links(conn):
    from sabbatical.reading.stopwords import LABEL_STOP_WORDS

    topic_pile(conn, per_topic=15)
    subjects = ["quantum qubit photon", "protein enzyme genome", "image pixel camera", "token grammar parser"]
    news = [
        (
            f"Story {n} about {subjects[n % 4]}",
            f"{subjects[n % 4]} {subjects[n % 4]}\n\nScore: {100 + n}\n\nComments: {n * 3}\n\n"
            f"Discussion: https://news.ycombinator.com/item?id={4000 + n}",
        )
        for n in range(24)
    ]
    _feed_items(conn, "Hackernews Best Stories", "https://example.org/hn.xml", news, "hn")
    german = [
        (
            f"Die neue KI und der Server {n}",
            "Die Firma hat mit der KI und den Kunden über die Server "
            "gesprochen, wie es bei der Cloud und dem Netz ist, und das ist nicht neu.",
        )
        for n in range(12)
    ]
    _feed_items(conn, "heise online News", "https://example.org/heise.rdf", german, "heise")
    topics.organise(conn, Config())
    template = {
        "score",
        "comments",
        "discussion",
        "ycombinator",
        "news",
        "https",
        "com",
        "item",
        "hackernews",
        "heise",
        "online",
    }
    for topic in topics.list_topics(conn):
        words = {w for term in topic.keywords for w in term.split()}
        assert not words & LABEL_STOP_WORDS, (topic.name, words & LABEL_STOP_WORDS)
        assert not words & template, (topic.name, words & template)
    labelled = " ".join(" ".join(t.keywords) for t in topics.list_topics(conn))
    assert "qubit" in labelled or "quantum" in labelled


def test_a_feed_template_is_learnt_from_its_items_not_from_a_list():
    from sabbatical.reading import boilerplate

    texts = [(f"i{n}", 1, f"Post {n} on topic {n}\nsubmitted by /u/someone{n}\n[link] [comments]") for n in range(10)]
    texts += [(f"p{n}", 2, f"A paper on subject {n} with its own words") for n in range(3)]
    templates = boilerplate.learn(texts, {1: "Homelab Reddit"})
    cleaned = templates.clean(1, "Racks and switches\nsubmitted by /u/x\n[link] [comments]")
    assert "comments" not in cleaned and "submitted" not in cleaned and "Racks and switches" in cleaned
    assert templates.clean(1, "My homelab rack").split() == ["My", "rack"]  # the feed's name is not content
    assert templates.clean(2, "see https://example.com/x for code").split() == ["see", "for", "code"]
    assert templates.clean(None, "subject words stay") == "subject words stay"  # too few items to judge


def _framed_posts(topic: str, frame: str, count: int, seed: int) -> list[tuple[str, str]]:
    """Posts about `topic`, each wrapped in a feed's long frame (the same lines around every entry)."""
    import random

    from tests.helpers.organise_pile import item_text

    rng = random.Random(f"{topic}-{frame}-{seed}")
    posts = []
    for _ in range(count):
        title, body = item_text(topic, rng, words=14)
        posts.append((title, f"{frame}\n{body}\n{frame} weekly roundup sponsors mailbag listeners patreon"))
    return posts


def test_a_feeds_frame_does_not_make_a_topic_its_items_gather_by_subject(conn):
    """Two feeds wrap every post in their own long frame, each covering the same two subjects: the topics
    follow the subjects across both feeds, not the feeds."""
    topic_pile(conn, per_topic=15, topics=("vision", "language"))
    frames = {
        "alpha": "Alpha Cast episode show notes hosted by Marco and John recorded live in the studio",
        "beta": "Beta Digest newsletter issue curated links from our editors read the archive subscribe",
    }
    post: dict[str, tuple[str, str]] = {}  # item id → (feed, subject)
    for feed, frame in frames.items():
        posts = _framed_posts("quantum", frame, 10, 0) + _framed_posts("biology", frame, 10, 1)
        made = _feed_items(conn, f"{feed} feed", f"https://example.org/{feed}.xml", posts, feed)
        post.update({item_id: (feed, "quantum" if n < 10 else "biology") for n, item_id in enumerate(made)})
    topics.organise(conn, Config())
    held: dict[int | None, set[tuple[str, str]]] = {}
    for item_id, topic_id in _topic_of(conn).items():
        if item_id in post:
            held.setdefault(topic_id, set()).add(post[item_id])
    assert None not in held
    assert all(len({subject for _, subject in found}) == 1 for found in held.values()), held  # never by feed
    for subject in ("quantum", "biology"):  # each subject gathers both feeds
        assert any(found == {("alpha", subject), ("beta", subject)} for found in held.values()), held
    stored = topics.content_index(conn, None, _index(conn), topics._content(conn))
    assert stored is _index(conn)  # without an embedder the stored vectors are used, never changed


def test_labels_use_a_phrase_where_the_words_stand_together():
    from sabbatical.reading.clustering import class_keywords

    sae = [
        f"Sparse autoencoders find features in layer {n}; sparse autoencoders scale. In-context learning "
        "emerges as in-context learning heads form."
        for n in range(6)
    ]
    other = [f"Protein folding of the enzyme backbone, sample {n}." for n in range(6)]
    first, _ = class_keywords([sae, other], top=4)
    assert "sparse autoencoders" in first and "in-context learning" in first
    assert "sparse" not in first and "autoencoders" not in first  # the phrase, not its words again
    split = [f"Correction with surface codes, run {n}." for n in range(6)]
    words, _ = class_keywords([split, other], top=6)
    assert "correction surface" not in words  # a stop word between: no phrase
    assert not any(w.endswith("-") for w in class_keywords([["GPT-4 and GPT-4o beat GPT-3"] * 4, other])[0])


def test_a_fresh_fit_seeds_the_same_way_whatever_order_or_extra_items_the_pile_holds(monkeypatch):
    import hashlib

    from sabbatical.reading import clustering

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 16))
    vectors = np.vstack([c + 0.3 * rng.normal(size=(40, 16)) for c in centres]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"test:{i}" for i in range(len(vectors))]
    seeds = clustering.agglomerative_seeds(vectors, 6, ids)
    order = rng.permutation(len(vectors))
    shuffled = clustering.agglomerative_seeds(vectors[order], 6, [ids[i] for i in order])
    assert np.allclose(sorted(map(tuple, seeds.round(5))), sorted(map(tuple, shuffled.round(5))), atol=1e-4)
    assert np.allclose(np.linalg.norm(seeds, axis=1), 1.0, atol=1e-5)
    # Above the sample size the sample is chosen by id, so items outside it change nothing.
    monkeypatch.setattr(clustering, "SEED_SAMPLE", 120)
    sampled = clustering.agglomerative_seeds(vectors, 6, ids)
    chosen = set(sorted(ids, key=lambda i: hashlib.sha1(i.encode()).digest()[:8])[:120])
    kept = [k for k, i in enumerate(ids) if i in chosen]
    alone = clustering.agglomerative_seeds(vectors[kept], 6, [ids[k] for k in kept])
    assert np.allclose(sorted(map(tuple, sampled.round(5))), sorted(map(tuple, alone.round(5))), atol=1e-4)
