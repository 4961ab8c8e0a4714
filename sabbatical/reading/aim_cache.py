"""The vectors of what the ranking aims at (your `[reading] interests`, the open sprint's question), kept in a
file in the workspace's cache folder (`.sabbatical/aim-vectors.json`), never in the pile: ranking only reads.

Embedding a few short texts is quick, but loading the embedder to do it is not: the TF-IDF space (its
vocabulary and SVD directions, megabytes in the pile) took ~0.2 s of every `pile inbox` on a 5k-item pile,
a pretrained model far more, an endpoint a request. A vector is keyed on everything it depends on: the
embedder's model id, a fingerprint of the fitted state the pile stores for it (a refit, or another pile
in the same folder, gives other keys), and the text. A cache that cannot be read or written (a read-only
workspace, a damaged file, a symlink in its place) is not used, and nothing else changes.

The open sprint's question itself is kept too (`sprint_question`): finding it parses the front matter of
the sprints' sprint.md files with YAML, whose import alone was ~0.03 s of every `pile inbox`; it is kept
under a hash of every sprint folder's name and sprint.md bytes, so any edit, new or removed sprint finds it
again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from ..config import Config
from ..files import write_atomically
from . import embed

CACHE_FILE = "aim-vectors.json"
CACHE_VERSION = 1
HEAD_BYTES = 4096  # of the fitted state, hashed into the key: another pile's state differs there
MAX_KEPT = 64  # vectors kept: the few aims of today and of the last several sprints and edits


def aim_vectors(
    conn: sqlite3.Connection, config: Config, texts: list[str], cache_dir: Path | None
) -> list[list[float]] | None:
    """Each text embedded as the pile's search embeds a query, as a list of floats (kept ones are read without
    numpy: its import was ~0.07 s of an inbox that needs no arithmetic); None when the pile has no embedder yet."""
    model = embed.current_model(conn, config)
    if model is None:
        return None
    fingerprint = _fingerprint(conn, model)
    keys = [_key(model, fingerprint, text) for text in texts]
    stored = _read(cache_dir) if cache_dir is not None else {}
    if all(key in stored for key in keys):
        return [stored[key] for key in keys]
    from .search import pile_embedder

    embedder = pile_embedder(conn, config)
    if embedder is None:
        return None
    vectors = [embed.embed_query(embedder, text).tolist() for text in texts]
    if cache_dir is not None:
        _write(cache_dir, {**stored, **dict(zip(keys, vectors))})
    return vectors


def sprint_question(sprints_dir: Path, cache_dir: Path | None) -> str | None:
    """`open_sprint_question(sprints_dir)`, kept in `cache_dir` under what it reads (`stats_cache`)."""
    from ..sprints.model import open_sprint_question

    if cache_dir is None:
        return open_sprint_question(sprints_dir)
    from .stats_cache import cached_figure

    return cached_figure(
        cache_dir,
        "sprint-question",
        [_sprint_files_digest(sprints_dir)],
        lambda: {"question": open_sprint_question(sprints_dir)},
        _kept_question,
    )


def _sprint_files_digest(sprints_dir: Path) -> str:
    """A hash of each folder's name and its sprint.md's bytes: every input of `open_sprint_question` (a folder
    it passes over only adds to the key)."""
    from ..sprints.model import SPRINT_FILE

    digest = hashlib.sha256()
    folders = sorted(path for path in sprints_dir.iterdir() if path.is_dir()) if sprints_dir.is_dir() else []
    for folder in folders:
        with contextlib.suppress(OSError):  # unreadable: the question is looked for without it as well
            content = hashlib.sha256((folder / SPRINT_FILE).read_bytes()).hexdigest()
            digest.update(json.dumps([folder.name, content]).encode())
    return digest.hexdigest()


def _kept_question(kept: dict[str, Any]) -> str | None:
    question = kept["question"]
    if question is not None and not isinstance(question, str):
        raise ValueError("not a question")
    return question


def _fingerprint(conn: sqlite3.Connection, model: str) -> str:
    """What identifies the fitted state of `model` without loading it (a pretrained model: its id alone)."""
    row = conn.execute(
        "SELECT rowid, dim, fitted_on, length(state) AS size FROM embedders WHERE model = ?", (model,)
    ).fetchone()
    if row is None:
        return ""
    head = hashlib.sha256(_state_head(conn, row["rowid"], row["size"] or 0)).hexdigest()
    return f"{row['rowid']}:{row['dim']}:{row['fitted_on']}:{row['size']}:{head}"


def _state_head(conn: sqlite3.Connection, rowid: int, size: int) -> bytes:
    """The first 4 KB of a stored state, read incrementally: `substr` would load the whole blob (18 MB on a
    5k-item pile) to return 4 KB."""
    if size <= 0:
        return b""
    try:
        with conn.blobopen("embedders", "state", rowid, readonly=True) as blob:
            return blob.read(HEAD_BYTES)
    except sqlite3.Error:  # not a blob (a text value): read it as before
        found = conn.execute(
            "SELECT substr(state, 1, ?) FROM embedders WHERE rowid = ?", (HEAD_BYTES, rowid)
        ).fetchone()
        value = found[0] if found else b""
        return value.encode() if isinstance(value, str) else bytes(value or b"")


def _key(model: str, fingerprint: str, text: str) -> str:
    return hashlib.sha256(json.dumps([model, fingerprint, text]).encode()).hexdigest()


def _read(cache_dir: Path) -> dict[str, Any]:
    path = cache_dir / CACHE_FILE
    if cache_dir.is_symlink() or path.is_symlink() or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("vectors"), dict):
        return {}
    return {k: v for k, v in data["vectors"].items() if isinstance(v, list) and all(isinstance(x, float) for x in v)}


def _write(cache_dir: Path, vectors: dict[str, Any]) -> None:
    """Replace the file in one step (a reader sees the old one or the new one); any failure leaves no cache."""
    kept = dict(list(vectors.items())[-MAX_KEPT:])
    if cache_dir.is_symlink():
        return
    with contextlib.suppress(OSError):
        cache_dir.mkdir(exist_ok=True)
        write_atomically(cache_dir / CACHE_FILE, json.dumps({"version": CACHE_VERSION, "vectors": kept}))
