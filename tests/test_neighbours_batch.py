"""Neighbours found for many items at once: the same answer as one at a time, never the item's own copies."""

from __future__ import annotations

import pytest

from sabbatical import db
from sabbatical.config import Config
from sabbatical.reading import embed
from sabbatical.reading.neighbours import NeighbourFinder, neighbours_of, pile_neighbours
from sabbatical.reading.summarise import _document
from tests.helpers.fake_openai import insert_items, sample_documents

COPIES = [
    {**sample_documents(1)[0], "id": "copy:same-text"},  # the same text under another identity
    {**sample_documents(1)[0], "id": "copy:same-title", "abstract": "Another text entirely, words differ here."},
]


@pytest.fixture(params=["words", "vectors"])
def conn(tmp_path, request):
    connection = db.connect(tmp_path / "pile.db")
    insert_items(connection, sample_documents(30) + COPIES)
    if request.param == "vectors":
        embed.embed_items(connection, embed.fit_tfidf(connection, Config()))
    yield connection
    connection.close()


def documents(conn):
    return [_document(r) for r in conn.execute("SELECT i.*, NULL AS status FROM items i ORDER BY seq")]


def test_an_item_never_lists_itself_or_its_copies(conn):
    first = documents(conn)[0]
    found = {n.item_id for n in pile_neighbours(conn, Config(), first, 5)}
    assert len(found) == 5 and not found & {first.id, "copy:same-text", "copy:same-title"}


def test_a_batch_and_the_look_ahead_give_each_item_its_own_answer(conn):
    docs = documents(conn)
    one_by_one = [pile_neighbours(conn, Config(), d, 5) for d in docs]
    assert neighbours_of(conn, Config(), docs, 5) == one_by_one
    finder = NeighbourFinder(conn, Config(), 5)
    finder.run_ahead(docs)
    try:
        assert [finder(d) for d in reversed(docs)] == list(reversed(one_by_one))
    finally:
        finder.close()
