"""The pile keeps what it holds: a later feed cannot overwrite a kept item's text (every replaced text is a
version), a read-only workspace still answers reads and refuses writes in one line, a damaged pile is
refused for writing with a way to recover, a private item is never published, and every command names
items through one resolver."""

from __future__ import annotations

import pytest

from sabbatical import db
from sabbatical.errors import NotFound
from sabbatical.reading import identity, pile, search, triage
from sabbatical.reading.pile import Entry, Pile


# -- one resolver, one id kind ---------------------------------------------------------------------------
def test_every_command_names_items_through_one_resolver(tmp_path):
    assert triage.resolve_item is pile.resolve_item and search.triage.resolve_item is pile.resolve_item
    assert not hasattr(pile, "_alias_kind")
    with Pile(db.connect(tmp_path / "pile.db")) as opened:
        opened.add([Entry(ids=["arxiv:2601.01466"], kind="paper", title="A paper", version=2)], None, "arxiv")
        for ref in ("arxiv:2601.01466", "2601.01466v1", "https://arxiv.org/pdf/2601.01466v2.pdf", "2601.0146",
                    "1"):
            assert opened.resolve(ref) == pile.resolve_item(opened.conn, ref) == "arxiv:2601.01466", ref
        with pytest.raises(NotFound, match="no item 'nope' in the pile"):
            triage.resolve_item(opened.conn, "nope")


@pytest.mark.parametrize(("name", "kind"), [
    ("arxiv:2310.01405", "arxiv"), ("arxiv:2310.01405v3", "arxiv_version"), ("doi:10.1/x", "doi"),
    ("https://e.example/a", "url"), ("http://e.example/a", "url"), ("tag:e.example,2024:1", "entry"),
])
def test_one_id_kind_names_what_the_alias_table_records(name, kind):
    assert identity.id_kind(name) == kind
