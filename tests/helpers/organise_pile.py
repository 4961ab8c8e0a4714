"""Synthetic piles with known topics, for the organise/search/triage/rank/digest tests.

Each item's text is drawn (with a fixed seed) from one of a few topic vocabularies plus common words,
so clustering has a right answer. Items go in with plain SQL: these tests do not depend on the ingester.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sabbatical import db

if TYPE_CHECKING:
    from sabbatical.config import Config

VOCABULARY = {
    "quantum": "quantum qubit entanglement superposition decoherence photon hamiltonian spin interferometer "
    "teleportation",
    "vision": "image pixel convolution segmentation detection camera scene depth occlusion lidar",
    "language": "language token translation sentence grammar parser corpus vocabulary dialogue syntax",
    "biology": "protein gene enzyme cell membrane genome mutation receptor metabolism bacteria",
}
COMMON = ["we", "study", "results", "model", "data", "method", "analysis", "experiments", "approach", "system"]


def item_text(topic: str, rng: random.Random, words: int = 40) -> tuple[str, str]:
    vocabulary = VOCABULARY[topic].split()
    title = " ".join(rng.sample(vocabulary, 4)).capitalize()
    body = [rng.choice(vocabulary) if rng.random() < 0.7 else rng.choice(COMMON) for _ in range(words)]
    return title, " ".join(body) + "."


def add_items(
    conn: sqlite3.Connection,
    topic: str,
    count: int,
    *,
    start: int = 0,
    seed: int = 0,
    kind: str = "paper",
    first_seen: str | None = None,
    published: str | None = "2024-05-01",
    private: int = 0,
) -> list[str]:
    """Insert `count` items about `topic`; return their ids ('test:topic-N')."""
    rng = random.Random(f"{topic}-{seed}-{start}")
    ids, rows = [], []
    for n in range(start, start + count):
        title, abstract = item_text(topic, rng)
        item_id = f"test:{topic}-{n}"
        ids.append(item_id)
        rows.append(
            (
                item_id,
                kind,
                title,
                json.dumps(["A. Author"]),
                abstract,
                published,
                hashlib.sha256((title + abstract).encode()).hexdigest(),
                private,
                first_seen or "2026-01-01T00:00:00Z",
            )
        )
    with db.transaction(conn):
        conn.executemany(
            "INSERT INTO items (id, kind, title, authors, abstract, published, content_hash, private, "
            "first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return ids


def add_item(conn: sqlite3.Connection, item_id: str, title: str, abstract: str, **columns) -> str:
    values = {
        "id": item_id,
        "kind": "paper",
        "title": title,
        "abstract": abstract,
        "content_hash": hashlib.sha256((title + abstract).encode()).hexdigest(),
        **columns,
    }
    names = ", ".join(values)
    with db.transaction(conn):
        conn.execute(f"INSERT INTO items ({names}) VALUES ({', '.join('?' * len(values))})", list(values.values()))
    return item_id


def topic_pile(
    conn: sqlite3.Connection, per_topic: int = 15, topics: tuple[str, ...] = ("quantum", "vision", "language")
) -> dict[str, list[str]]:
    """A pile of `per_topic` items for each topic; returns topic → ids."""
    return {topic: add_items(conn, topic, per_topic) for topic in topics}


def event_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def build_decided_pile(path: Path, config: Config) -> dict[str, list[str]]:
    """An organised pile of quantum, vision and biology (20 each) at `path` with 24 decisions (12 quantum
    kept, 12 vision dropped: an active taste model), closed and checkpointed so a copy of the file is whole."""
    from sabbatical.reading import topics, triage

    conn = db.connect(path)
    ids = topic_pile(conn, per_topic=20, topics=("quantum", "vision", "biology"))
    topics.organise(conn, config)
    triage.triage(conn, ids["quantum"][:12], "keep")
    triage.triage(conn, ids["vision"][:12], "drop")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids


def judge_and_decide(conn: sqlite3.Connection, ids: dict[str, list[str]]) -> None:
    """Give every quantum, vision and biology item a judged offline summary (scores spread over 0.2–0.8, a
    third of them SOTA gains), then keep 8 quantum and 4 biology items and drop 10 vision ones."""
    from sabbatical.reading import triage

    for n, item_id in enumerate(ids["quantum"] + ids["vision"] + ids["biology"]):
        conn.execute(
            "INSERT INTO summaries (item_id, content_hash, prompt_version, model, producer, status, tldr, "
            "contribution, insight_score) VALUES (?, 'h', 'v1', 'm', 'offline', 'ok', 'A finding.', ?, ?)",
            (item_id, "new_insight" if n % 3 else "sota_gain", round(0.2 + 0.6 * ((n * 7) % 10) / 10, 2)),
        )
    conn.commit()
    triage.triage(conn, ids["quantum"][:8] + ids["biology"][:4], "keep")
    triage.triage(conn, ids["vision"][:10], "drop")
