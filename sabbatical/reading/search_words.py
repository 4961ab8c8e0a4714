"""The words side of the pile's search: SQLite FTS5 over title, authors, abstract and content, ranked by
BM25 (items holding every content word first, as a phrase first of all), the researcher's own notes and tags,
and which query words each hit holds. `search.py` fuses this ranking with the meaning side's."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from . import triage

BM25_WEIGHTS = (10.0, 2.0, 4.0, 1.0)  # title, authors, abstract, content
MAX_PHRASE = 4  # queries of 2-4 content words are also searched as a phrase
ENOUGH_MATCHES = 20  # fewer items than this hold every query word: add those holding any
MAX_RANKED = 4_000  # more matches than this are ranked among title matches only
_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(query: str) -> list[str]:
    """The words of a query, lower-cased and de-duplicated, in order."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts_expression(words: list[str]) -> str:
    """An FTS5 query matching any of the words; each is a quoted string, so nothing in it is syntax."""
    return " OR ".join(_quoted(w) for w in words)


@dataclass
class _Words:
    """What the words side found: the ranking, how many items hold every content word (up to the depth),
    each ranked item's BM25 for the content words (higher is better), and the rowids known to hold every
    content word (the all-words and phrase queries' matches), whose words a hit need not look up again."""

    ranked: list[str] = field(default_factory=list)
    all_words: int = 0
    bm25: dict[str, float] = field(default_factory=dict)
    holding_all: set[int] = field(default_factory=set)


def _fts_ranking(
    conn: sqlite3.Connection, words: list[str], depth: int, allowed: set[str] | None
) -> tuple[list[str], int]:
    """BM25 ranking: items holding every content word first; topped up by items holding any of them.
    Also how many items hold every content word (up to `depth`)."""
    found = _fts_scored_ranking(conn, words, depth, allowed)
    return found.ranked, found.all_words


def _fts_scored_ranking(conn: sqlite3.Connection, words: list[str], depth: int, allowed: set[str] | None) -> _Words:
    """The word ranking, how many items hold every content word, and each ranked item's BM25.

    Stop words are left out when other words remain, and the any-word query runs only when the
    all-words one finds few items. Ranking costs FTS5 a lookup per matching item, so a query matching
    more than MAX_RANKED items is ranked among the items with the words in their title. FTS5's BM25 sums
    over the query's terms, so an item holding every word scores the same in the all-words query as in
    the any-word one: the two queries' scores are one scale. An item only the phrase query reached gets
    the lowest score found (it holds every word, but fewer times than those ranked). The phrase's items
    all hold every word, so they are no more than the all-words query's: counted only when those are many.
    """
    content = content_words(words)
    every_word_expression = " ".join(_quoted(w) for w in content)
    matches = _match_count(conn, every_word_expression)
    every_word, scores = _fts_ranked(conn, every_word_expression, depth, matches)
    bm25 = dict(zip(every_word, scores, strict=True))
    all_words = len(every_word)
    # The words as a phrase first: "sparse autoencoders" together beats the two words pages apart.
    phrase = _quoted(" ".join(content))
    rowids = (
        _fts_ranked(conn, phrase, depth, matches if matches <= MAX_RANKED else None)[0]
        if 1 < len(content) <= MAX_PHRASE
        else []
    )
    holding_all = {*rowids, *every_word}
    rowids = _topped_up(rowids, every_word)
    if len(rowids) < ENOUGH_MATCHES and len(content) > 1:
        any_word, scores = _fts_ranked(conn, fts_expression(content), depth)
        bm25 = {**dict(zip(any_word, scores, strict=True)), **bm25}
        rowids = _topped_up(rowids, any_word)
    if not rowids:
        return _Words()
    ids = dict(
        conn.execute(f"SELECT seq, id FROM items WHERE seq IN ({','.join('?' * len(rowids))})", rowids).fetchall()
    )
    lowest = min(bm25.values(), default=0.0)
    ranked = [ids[r] for r in rowids if r in ids and (allowed is None or ids[r] in allowed)]
    by_id = {ids[r]: bm25.get(r, lowest) for r in rowids if r in ids}
    return _Words(ranked, all_words, {item_id: by_id[item_id] for item_id in ranked}, holding_all)


def _topped_up(first: list[int], more: list[int]) -> list[int]:
    seen = set(first)
    return first + [r for r in more if r not in seen]


def _match_count(conn: sqlite3.Connection, expression: str) -> int:
    """How many items an FTS5 expression matches, counted up to MAX_RANKED + 1."""
    return conn.execute(
        "SELECT COUNT(*) FROM (SELECT rowid FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
        (expression, MAX_RANKED + 1),
    ).fetchone()[0]


def _fts_ranked(
    conn: sqlite3.Connection, expression: str, depth: int, at_most: int | None = None
) -> tuple[list[int], list[float]]:
    """The best `depth` rowids for an FTS5 expression, and their BM25 (higher is better). `at_most`: how
    many items the caller knows it matches at most (None: count them here)."""
    matches = _match_count(conn, expression) if at_most is None else at_most
    if matches == 0:
        return [], []
    if matches > MAX_RANKED:
        expression = f"{{title}} : ({expression})"
    # `rank MATCH` sets the BM25 column weights for this query; ORDER BY rank lets FTS5 sort internally.
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    rows = conn.execute(
        f"SELECT rowid, -rank FROM items_fts WHERE items_fts MATCH ? AND rank MATCH 'bm25({weights})' "
        "ORDER BY rank LIMIT ?",
        (expression, depth),
    ).fetchall()
    return [r[0] for r in rows], [float(r[1]) for r in rows]


def own_words(conn: sqlite3.Connection, words: list[str], allowed: set[str] | None) -> dict[str, list[str]]:
    """Items whose current notes or tags hold query words → those words: the researcher's own words find
    what they wrote them on. A word matches a note's word it begins (`distil` finds "distillation").

    Notes and tags live in the append-only events; the few events that could match are found by SQL,
    then folded (so an undone note or a removed tag no longer matches)."""
    if not words:
        return {}
    likes = " OR ".join("value LIKE ?" for _ in words)
    subjects = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT subject FROM events WHERE action IN ('note', 'tag') AND ({likes})",
            [f"%{w}%" for w in words],
        )
    ]
    found: dict[str, list[str]] = {}
    for item_id, state in triage.user_states(conn, subjects).items():
        if allowed is not None and item_id not in allowed:
            continue
        tokens = {t.lower() for text in [*(n.text for n in state.notes), *state.tags] for t in _WORD.findall(text)}
        matched = [w for w in words if any(t.startswith(w) for t in tokens)]
        if matched:
            found[item_id] = matched
    return found


def content_words(words: list[str]) -> list[str]:
    """The words that carry meaning (stop words dropped), or all of them when nothing else is left."""
    from .stopwords import STOP_WORDS

    kept = [w for w in words if w not in STOP_WORDS]
    return kept or words


def _matched_words(
    conn: sqlite3.Connection, seqs: list[int], words: list[str], holding_all: set[int]
) -> dict[int, list[str]]:
    """Which query words each hit contains (as FTS5 sees them: stemmed, accent-folded). The rowids in
    `holding_all` hold every content word (the words side's all-words or phrase query found them), so only
    their other words are looked up: each lookup costs FTS5 a query per hit."""
    content = set(content_words(words))
    holding: dict[str, set[int]] = {}
    for word in words[:12]:
        known = holding_all if word in content else set()
        unknown = [seq for seq in seqs if seq not in known]
        holding[word] = {seq for seq in seqs if seq in known}
        if unknown:
            marks = ",".join("?" * len(unknown))
            holding[word] |= {
                row["rowid"]
                for row in conn.execute(
                    f"SELECT rowid FROM items_fts WHERE items_fts MATCH ? AND rowid IN ({marks})",
                    (fts_expression([word]), *unknown),
                )
            }
    found = {seq: [word for word, rowids in holding.items() if seq in rowids] for seq in seqs}
    return {seq: matched for seq, matched in found.items() if matched}
