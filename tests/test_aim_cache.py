"""The aim cache's key on the embedder's fitted state: read from the state's first 4 KB without loading it
whole, and the same key the full read gave (so vectors cached before stay valid)."""

from __future__ import annotations

import hashlib

from sabbatical import db
from sabbatical.reading import aim_cache


def _store(conn, state) -> None:
    conn.execute("DELETE FROM embedders")
    conn.execute(
        "INSERT INTO embedders (model, backend, dim, state, fitted_on) VALUES ('m', 'tfidf', 8, ?, 3)", (state,)
    )
    conn.commit()


def _whole_read_key(conn) -> str:
    row = conn.execute(
        "SELECT rowid, dim, fitted_on, length(state) AS size, substr(state, 1, 4096) AS head FROM embedders"
    ).fetchone()
    head = hashlib.sha256(bytes(row["head"] or b"")).hexdigest()
    return f"{row['rowid']}:{row['dim']}:{row['fitted_on']}:{row['size']}:{head}"


def test_fingerprint_reads_the_head_and_tells_states_apart(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    big = bytes(range(256)) * 40_000  # 10 MB
    _store(conn, big)
    first = aim_cache._fingerprint(conn, "m")
    assert first == _whole_read_key(conn)
    _store(conn, b"\x01" + big[1:])  # another state, same size: differs in its head
    assert aim_cache._fingerprint(conn, "m") not in ("", first)
    assert aim_cache._fingerprint(conn, "m") == _whole_read_key(conn)


def test_fingerprint_of_a_pretrained_model_and_of_none(tmp_path):
    conn = db.connect(tmp_path / "pile.db")
    assert aim_cache._fingerprint(conn, "m") == ""
    _store(conn, None)  # pretrained: no state
    assert aim_cache._fingerprint(conn, "m") == _whole_read_key(conn)
