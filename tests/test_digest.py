"""The digest: Markdown grouped by topic, new and top-ranked items with tldr and kind; private and
dropped items left out; outside text escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sabbatical import db
from sabbatical.config import Config
from sabbatical.reading import digest, topics, triage
from tests.helpers.organise_pile import add_item, add_items, topic_pile

NOW = datetime(2026, 1, 10, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


def test_new_and_top_items_grouped_by_topic_with_tldr_and_kind(conn):
    for topic in ("quantum", "vision"):
        add_items(conn, topic, 12, first_seen="2025-06-01T00:00:00Z")
    fresh = add_items(conn, "quantum", 3, start=100, first_seen="2026-01-08T00:00:00Z", kind="post")
    conn.execute(
        "INSERT INTO summaries (item_id, content_hash, prompt_version, model, producer, status, tldr, "
        "contribution, insight_score) VALUES (?, 'h', 'v', 'm', 'offline', 'ok', 'Qubits stay coherent.', "
        "'new_insight', 0.9)",
        (fresh[0],),
    )
    topics.organise(conn, Config())
    built = digest.build_digest(conn, Config(), since="7d", now=NOW)
    assert built.new_items == 3 and built.since == "2026-01-03"
    quantum_topic = topics.topic_of_items(conn)[fresh[0]]
    first = built.topics[0]
    assert first.id == quantum_topic and {i.id for i in first.new} <= set(fresh)
    assert all(group.top for group in built.topics if not group.new)
    text = built.markdown
    assert text.startswith("# Reading digest\n") and "3 new item(s) since 2026-01-03" in text
    assert f"## {digest.escape(first.name)}" in text and "**New**" in text and "**Top-ranked**" in text
    assert "(post, new insight; test:quantum-100) — Qubits stay coherent." in text
    assert text.index("**New**") < text.index("**Top-ranked**")
    assert any(f"test:vision-{n})" in text for n in range(12))


def test_private_and_dropped_items_are_left_out_and_text_is_escaped(conn):
    add_items(conn, "quantum", 6)
    secret = add_items(conn, "quantum", 1, start=50, private=1)[0]
    dropped = add_items(conn, "quantum", 1, start=60)[0]
    triage.triage(conn, [dropped], "drop")
    add_item(conn, "test:html", "<script>alert(1)</script> [click](http://evil.example) *bold*", "qubit photon")
    topics.organise(conn, Config())
    text = digest.build_digest(conn, Config(), since="100y", now=NOW).markdown
    assert secret not in text and dropped not in text
    assert "<script>" not in text and "[click](" not in text
    assert "\\<script\\>" in text and "\\[click\\]" in text


def test_the_cli_writes_the_digest_where_asked(workspace, cli, tmp_path):
    conn = db.connect(workspace.pile_path)
    topic_pile(conn, per_topic=5)
    conn.close()
    default = cli("--workspace", workspace.root, "pile", "digest", "--since", "100y")
    assert default.exit_code == 0, default.stderr
    assert (workspace.reading_dir / "digest.md").read_text().startswith("# Reading digest")
    out = tmp_path / "site" / "digest.md"
    chosen = cli("--workspace", workspace.root, "pile", "digest", "--since", "2w", "--out", out)
    assert chosen.exit_code == 0 and str(out) in chosen.stdout and out.is_file()
    bad = cli("--workspace", workspace.root, "pile", "digest", "--since", "whenever")
    assert bad.exit_code == 2
