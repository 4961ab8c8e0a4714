"""A sprint's reading list: the question searched as phrases, the researcher's stars weighted up, a
relevance floor instead of ten filled slots, and pins that survive a refresh."""

from __future__ import annotations

import json

import pytest

from sabbatical import db
from sabbatical.config import Config
from sabbatical.reading import triage
from sabbatical.sprints.reading_list import (
    combined_relevance,
    question_acronyms,
    question_phrases,
    reading_list,
    relevance_of,
    search_pile,
    split_where_the_pile_does,
    word_share,
)
from tests.helpers.organise_pile import add_item, topic_pile

QUESTION = "Do induction heads form at the same step as the in-context learning bump?"
ON_TOPIC = {
    "test:heads": (
        "Induction heads and the in-context learning bump",
        "Induction heads form in a phase change that coincides with the in-context learning bump.",
    ),
    "test:icl": (
        "When does in-context learning emerge?",
        "We track in-context learning during training and find induction heads appear at one step.",
    ),
}
BAG_OF_WORDS = {  # every word of the question somewhere, none of its phrases
    "test:bag1": (
        "Learning to step over heads",
        "A robot learning context for the bump in the road; induction of motors.",
    ),
    "test:bag2": ("Heads of state form a learning council", "Context: the same step, in a bump year."),
    "test:one": ("Machine learning for crops", "Learning yields from soil."),
}


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    topic_pile(connection, per_topic=10)
    for item_id, (title, abstract) in {**ON_TOPIC, **BAG_OF_WORDS}.items():
        add_item(connection, item_id, title, abstract)
    yield connection
    connection.close()


def test_the_question_is_searched_as_its_phrases():
    assert question_phrases(QUESTION) == ["induction heads form", "step", "in-context learning bump"]
    weights = {
        "induction": 2.0,
        "head": 2.0,
        "form": 1.0,
        "step": 1.0,
        "in": 0.5,
        "context": 1.0,
        "learning": 0.3,
        "bump": 2.0,
    }
    whole, matched = relevance_of("In-context learning bumps and induction heads", question_phrases(QUESTION), weights)
    scattered, _ = relevance_of("learning heads in context, bump, induction", question_phrases(QUESTION), weights)
    assert "in context learning bump" in matched and whole > scattered


def test_initials_stand_for_their_words_and_capitals_for_what_they_abbreviate():
    phrases = question_phrases("Does retrieval-augmented generation reduce hallucinations of LLMs?")
    assert phrases == ["retrieval-augmented generation reduce hallucinations", "llms"]
    acronyms = question_acronyms("Does retrieval-augmented generation reduce hallucinations of LLMs?")
    assert acronyms == {"llm"}
    weights = dict.fromkeys(["retrieval", "augmented", "generation", "reduce", "hallucination", "llm"], 1.0)
    abbreviated, matched = relevance_of("RAG cuts hallucinations of large language models", phrases, weights, acronyms)
    unrelated, _ = relevance_of("A rag doll; language games of large models", phrases, weights, acronyms)
    assert "retrieval augmented generation" in matched and abbreviated == 0.75 and unrelated < 0.3
    assert word_share("GNNs over-smooth", ["graph neural networks"], {}) == 1.0


def test_a_hyphenated_compound_counts_only_whole():
    phrases = ["graph neural networks", "over-smoothing"]
    weights = dict.fromkeys(["graph", "neural", "network", "over", "smoothing"], 1.0)
    assert word_share("Label smoothing for neural networks over graphs", phrases, weights) == 0.6
    assert word_share("Oversmoothing in graph neural networks", phrases, weights) == 1.0
    assert word_share("Over smoothing in GNNs", phrases, weights) == 1.0
    assert word_share("Federated learning on non-i.i.d. data", ["non-iid data"], {}) == 1.0


def test_the_title_counts_and_a_phrase_is_cut_where_the_pile_never_joins_its_words(conn):
    phrases = question_phrases(QUESTION)
    subject = "Induction heads and the in-context learning bump"
    titled, _ = combined_relevance(subject, f"{subject}. A study.", phrases, {})
    untitled, _ = combined_relevance("A study", f"A study. {subject}.", phrases, {})
    assert titled > untitled
    assert split_where_the_pile_does(conn, ["induction heads form", "bump induction heads"]) == [
        "induction heads form",
        "bump",
        "induction heads",
    ]


def test_phrases_beat_a_bag_of_words_and_the_floor_leaves_the_rest_out(conn):
    found = reading_list(conn, Config(), QUESTION)
    assert [e.item_id for e in found.entries] == ["test:heads", "test:icl"]  # two relevant, not ten slots
    assert found.below_floor >= 2
    assert all("phrases:" in e.why for e in found.entries)


def test_a_starred_item_ranks_above_an_equally_relevant_one_and_dropped_is_left_out(conn):
    triage.triage(conn, ["test:icl"], "star")
    assert [e.item_id for e in reading_list(conn, Config(), QUESTION).entries] == ["test:icl", "test:heads"]
    assert reading_list(conn, Config(), QUESTION).entries[0].why.startswith("starred")
    triage.triage(conn, ["test:heads"], "drop")
    assert [e.item_id for e in reading_list(conn, Config(), QUESTION).entries] == ["test:icl"]


def test_without_a_pile_none_is_made_and_a_handed_pile_is_searched_and_left_open(workspace, conn):
    assert not search_pile(workspace, QUESTION).pile_exists and not workspace.pile_path.exists()
    handed = search_pile(workspace, QUESTION, conn=conn)
    assert [e.item_id for e in handed.entries] == ["test:heads", "test:icl"] and not workspace.pile_path.exists()
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] > 0  # still open


def test_pins_survive_a_refresh_and_remove_keeps_an_item_off(workspace, cli):
    conn = db.connect(workspace.pile_path)
    for item_id, (title, abstract) in {**ON_TOPIC, **BAG_OF_WORDS}.items():
        add_item(conn, item_id, title, abstract)
    conn.close()
    assert cli("-w", workspace.root, "new-sprint", QUESTION).exit_code == 0
    pinned = cli("-w", workspace.root, "sprint", "reading", "add", "test:one")
    assert pinned.exit_code == 0, pinned.stderr
    assert "Pinned test:one" in pinned.stdout
    removed = cli("-w", workspace.root, "sprint", "reading", "remove", "test:icl", "--refresh")
    assert removed.exit_code == 0, removed.stderr
    shown = json.loads(cli("-w", workspace.root, "sprint", "reading", "--json").stdout)
    listed = [(e["item_id"], e["pinned"]) for e in shown["entries"]]
    assert listed == [("test:one", True), ("test:heads", False)]
    sprint_md = next(workspace.sprints_dir.glob("01-*/sprint.md")).read_text()
    assert "(pinned)" in sprint_md and "test:one" in sprint_md and "test:icl" not in sprint_md
    assert cli("-w", workspace.root, "sprint", "reading", "add").exit_code != 0  # an id is needed
    unknown = cli("-w", workspace.root, "sprint", "reading", "add", "arxiv:9999.99999")
    assert unknown.exit_code != 0 and "9999.99999" in unknown.stderr
