"""Search: words (SQLite FTS5, BM25) and meaning (vector similarity), fused by their scores.

Any text a user types is safe: it is cut into words and each word is quoted before it reaches FTS5, so
operators and punctuation (`"`, `*`, `:`, `NEAR`, `-`, parentheses) are searched for as text, never
parsed. Filters (topic, kind, triage state, date, source) narrow both lists before they are fused. Each
hit says why it matched: the query words it contains, its topic, and its similarity to the query.

The fusion knows how much to trust each side, and by how much each item won. Hybrid fuses scores,
not ranks: an item's words score is its BM25 (over the query's content words, title weighted highest)
over the best one's, its meaning score how far its similarity clears the floor over how far the best
one's does, and the two are summed with the words' weight of the embedder in use (WORDS_WEIGHT, chosen
by a grid over the dev set's queries, checked by leaving each query kind out). Meaning counts an item
only when its similarity stands out for this query and this embedder: at least Z_FLOOR standard
deviations above the query's mean similarity over the pile (a raw cosine floor means different things
for TF-IDF, WordLlama and MiniLM, and a one-line teaser that is vaguely like everything never clears it).
The query's vector is then moved toward the vectors of the first fused top few (pseudo-relevance
feedback, PRF_DEPTH items at PRF_WEIGHT): what the words found teaches meaning what the query is about,
and the fusion runs again. `--mode words` keeps the words' own ranking (phrase, every word, any word).

With the default TF-IDF vectors, meaning has a companion: WordLlama's static word vectors, which `pile
organise` stores beside TF-IDF's. A pile's TF-IDF space knows only the words its items share, so a
paraphrase ("imitate a larger model" for distillation) is far from everything in it; word vectors trained
on far more text place it near its subject. An item's similarity is then COMPANION_WEIGHT × WordLlama's
cosine + the rest × TF-IDF's (its floor blended the same way), and the words weigh COMPANION_WORDS_WEIGHT.
Items without a companion vector yet count the query's mean companion cosine, which neither lifts nor
sinks them, and the answer's note says so.

The researcher's own words count too: an item whose notes or tags hold query words is found by them
(a third list in the fusion, as strong as the words of the item itself), and says so. The words side
(FTS5, the notes and tags, which words each hit holds) is `search_words.py`.

A search only reads. It uses the vectors `pile organise` stored and never embeds or fits inside a
query: on a pile with no vectors yet it answers by words and says so (`Hits.words_only`, `Hits.note`),
and items added since the last organise are found by words until the next one.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..errors import UsageError
from . import embed, topics, triage
from .blas import one_blas_thread
from .search_words import _fts_scored_ranking, _matched_words, _Words, content_words, own_words, query_words

if TYPE_CHECKING:
    import numpy as np

RRF_K = 60  # the usual constant: a rank-1 hit scores 1/61, rank 10 scores 1/70
CANDIDATES = 100  # how deep each list goes before fusion
FILTERED_CANDIDATES = 2_000  # deeper when a filter may remove most of the top hits
MIN_SIMILARITY = 0.1  # below this cosine, "similar in meaning" is noise (an unrelated item in a tiny pile)
Z_FLOOR = 2.0  # meaning counts items this many standard deviations above the query's mean similarity
OWN_WORDS_WEIGHT = 1.0  # the researcher's notes and tags count as much as the item's own text
MIN_POPULATION = 500  # fewer vectors than this: too few to say what stands out
# The words' share of a hybrid score per embedder (meaning has the rest), from a grid over the dev set
# (benchmarks/search_quality.py): the weaker an embedder's meaning side, the more the words weigh.
WORDS_WEIGHT = {"tfidf": 0.6, "wordllama": 0.7, "minilm": 0.5}
DEFAULT_WORDS_WEIGHT = 0.6  # an embedder nobody measured (an endpoint)
PRF_DEPTH = 5  # the first fused top this many items move the query's vector toward them...
PRF_WEIGHT = 1.0  # ...by their mean vector times this (the query's own vector has length 1)
# In a pile of PRF_EXACT_BELOW vectors or more, the fed-back query is matched against the first pass's best
# PRF_POOL items only, and its floor estimated on PRF_SAMPLE rows spread evenly over the pile: a pass over
# every vector is most of a search's time at 50k, and the fed-back top comes from near the first one.
PRF_EXACT_BELOW = 10_000
PRF_POOL = 2_000
PRF_SAMPLE = 4_000
# With TF-IDF, an item's similarity is a blend: this share from WordLlama's cosine (the search companion,
# trained on far more text than any pile), the rest from TF-IDF's; and the words weigh this much then.
COMPANION_WEIGHT = 0.7
COMPANION_WORDS_WEIGHT = 0.5
COMPANION_MIN_SIMILARITY = 0.25  # WordLlama's noise: ~ the 97th percentile of a query's cosine to the dev items
# SQLite's page cache for a searching connection, in KiB: the full-text index's pages a query reads (its
# words' lists, every item's column sizes for BM25) stay in memory for the next query, instead of being
# read again from the file through SQLite's default 2 MB cache (at 50k items the index is ~38 MB).
SEARCH_CACHE_KIB = 32_768


@dataclass
class Filters:
    topic: str | None = None
    kind: str | None = None
    state: str | None = None
    since: str | None = None
    source: str | None = None
    tag: str | None = None
    ids: frozenset[str] | None = None  # only these items (`--sprint`: the sprint's reading list and citations)

    def any(self) -> bool:
        return self.ids is not None or any(
            v for v in (self.topic, self.kind, self.state, self.since, self.source, self.tag)
        )


@dataclass
class Hit:
    id: str
    title: str
    kind: str
    url: str | None
    published: str | None
    state: str
    topic_id: int | None
    topic: str
    score: float
    similarity: float | None
    matched_terms: list[str] = field(default_factory=list)
    why: dict[str, Any] = field(default_factory=dict)

    @property
    def why_text(self) -> str:
        parts = []
        if self.matched_terms:
            parts.append("words: " + ", ".join(self.matched_terms))
        if self.why.get("your_words"):
            parts.append("your notes/tags: " + ", ".join(self.why["your_words"]))
        if self.similarity is not None:
            parts.append(f"similarity {self.similarity:.2f}")
        parts.append(f"topic: {self.topic}")
        return "; ".join(parts)


class Hits(list[Hit]):
    """Hits, best first, and how they were found: `words_only` when meaning took no part, and a
    one-line `note` (empty when there is nothing to say) on what the answer could not cover."""

    def __init__(self, hits: list[Hit] | None = None, *, words_only: bool = False, note: str = ""):
        super().__init__(hits or [])
        self.words_only = words_only
        self.note = note


ORGANISE_HINT = "`sabbatical pile organise` embeds the pile"


MODES = ("hybrid", "words", "meaning")


def search(
    conn: sqlite3.Connection,
    config: Config,
    query: str,
    *,
    limit: int = 20,
    filters: Filters | None = None,
    mode: str = "hybrid",
    explain: bool = True,
) -> Hits:
    """The best `limit` items for `query` by words and meaning, each with why it matched.

    `mode` is "hybrid" (both, fused), "words" (full text only) or "meaning" (vectors only). Meaning takes
    part only where `pile organise` stored vectors; the result's note says what it missed. `explain=False`
    leaves out which query words each hit holds (a full-text lookup per word for the hits the all-words
    query did not find), for callers that only need the items, such as a prompt's neighbours.
    """
    if mode not in MODES:
        raise UsageError(f"--mode {mode!r}: use one of {', '.join(MODES)}")
    words = query_words(query)
    if not words:
        raise UsageError('give some words to search for, e.g. `sabbatical pile search "sparse attention"`')
    filters = filters or Filters()
    allowed = allowed_ids(conn, filters)
    depth = FILTERED_CANDIDATES if allowed is not None else CANDIDATES
    found = _fts_scored_ranking(conn, words, depth, allowed) if mode != "meaning" else _Words()
    by_words, bm25 = found.ranked, found.bm25
    own = own_words(conn, content_words(words), allowed) if mode != "meaning" else {}
    index = stored_index(conn, config) if mode != "words" else None
    second = companion_index(conn, config) if index else None
    _roomy_page_cache(conn)  # once the vectors are loaded: their pages, read once, need not stay cached
    meaning = _meaning_side(conn, config, index, query, allowed, second) if index else None
    similarity = meaning.similarity(by_words, depth) if meaning else {}
    by_own = sorted(own, key=lambda item_id: -len(own[item_id]))
    if meaning is not None and by_words:
        weight = WORDS_WEIGHT.get(config.embed.backend, DEFAULT_WORDS_WEIGHT)
        weight = COMPANION_WORDS_WEIGHT if meaning.companion is not None else weight
        fused = _hybrid(meaning, bm25, weight, own, len(content_words(words)), depth)[:limit]
    else:
        by_meaning = meaning.ranking(depth) if meaning else []
        fused = _fuse([(by_words, 1.0), (by_meaning, 1.0), (by_own, OWN_WORDS_WEIGHT)])[:limit]
    items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] if mode != "words" else 0
    notes = [_coverage_note(items, index, mode) if mode != "words" else ""]
    notes += [_companion_note(items, config, second)] if meaning else []
    return Hits(
        _hits(conn, fused, similarity, words if explain else [], own, found.holding_all),
        words_only=index is None,
        note="; ".join(note for note in notes if note),
    )


def _roomy_page_cache(conn: sqlite3.Connection) -> None:
    """Let the connection cache at least SEARCH_CACHE_KIB of pages (a larger cache is left as it is)."""
    size = conn.execute("PRAGMA cache_size").fetchone()[0]  # negative: KiB; positive: pages
    kib = -size if size < 0 else size * conn.execute("PRAGMA page_size").fetchone()[0] // 1024
    if kib < SEARCH_CACHE_KIB:
        conn.execute(f"PRAGMA cache_size = -{SEARCH_CACHE_KIB}")


def related(conn: sqlite3.Connection, config: Config, ref: str, *, limit: int = 10) -> Hits:
    """The items nearest to one item in meaning (the item itself left out); none until it is embedded."""
    item_id = triage.resolve_item(conn, ref)
    index = stored_index(conn, config)
    if index is None or item_id not in index.row_of:
        return Hits(note=f"{item_id} has no vector yet, so nothing is near it in meaning — {ORGANISE_HINT}")
    (fused,) = nearest_rows(index, [index.row_of[item_id]], limit)
    return Hits(_hits(conn, fused, dict(fused), []))


def nearest_rows(index: embed.VectorIndex, rows: list[int], depth: int) -> list[list[tuple[str, float]]]:
    """For each of these rows of the index, the ids of the `depth` other rows nearest to it by cosine, best
    first, with their similarity: one matrix product for all of them (`related` asks for one row, a
    summarise run's neighbours for a block)."""
    from .blas import one_blas_thread

    with one_blas_thread():
        sims = index.matrix[rows] @ index.matrix.T
    return [
        [(index.ids[p], float(line[p])) for p in _top(line, depth + 1) if p != row][:depth]
        for row, line in zip(rows, sims, strict=True)
    ]


def _coverage_note(items: int, index: embed.VectorIndex | None, mode: str = "hybrid") -> str:
    """What a search of a pile of `items` could not cover by meaning, in one line ('' when it covered
    everything)."""
    if not items:
        return ""
    by = "were not searched (--mode meaning)" if mode == "meaning" else "were searched by words only"
    if index is None:
        if mode == "meaning":
            return f"nothing was searched: the pile's {items} item(s) have no vectors yet — {ORGANISE_HINT}"
        return f"searched by words only: the pile's {items} item(s) have no vectors yet — {ORGANISE_HINT}"
    missing = items - len(index)
    if missing <= 0:
        return ""
    return f"{missing} item(s) added since the pile was last organised {by} — {ORGANISE_HINT}"


# -- the meaning side (the words side is search_words.py) -----------------------------------------------
@dataclass
class _Companion:
    """The second meaning side: the companion's vectors in the order of the index's rows, and the query's."""

    matrix: np.ndarray  # row i: the companion's vector of the index's row i (zeros where it has none)
    known: np.ndarray  # row i has a companion vector
    vector: np.ndarray

    def sims(self, rows: np.ndarray | slice | None, vector: np.ndarray | None = None) -> np.ndarray:
        """The cosine to each allowed row; a row without a vector gets the query's mean cosine, which
        neither lifts nor sinks it."""
        with one_blas_thread():
            sims = (self.matrix if rows is None else self.matrix[rows]) @ (self.vector if vector is None else vector)
        known = self.known if rows is None else self.known[rows]
        if not known.all():
            sims[~known] = float(sims[known].mean()) if known.any() else 0.0
        return sims

    def fed_back(self, rows: list[int]) -> np.ndarray:
        import numpy as np

        held = [r for r in rows if self.known[r]]
        moved = self.vector + PRF_WEIGHT * self.matrix[held].mean(axis=0) if held else self.vector.copy()
        return moved / max(float(np.linalg.norm(moved)), 1e-9)


@dataclass
class _Meaning:
    """One query's similarity to every vector the filters allow, and what the fusion reads from it.

    With a companion, each similarity is (1 - COMPANION_WEIGHT) × TF-IDF's cosine + COMPANION_WEIGHT ×
    the companion's: the cosine of the two vectors joined, without a joined matrix in memory."""

    index: embed.VectorIndex
    rows: np.ndarray | None  # the allowed rows of the index (None: every row)
    vector: np.ndarray  # the query's own vector
    sims: np.ndarray  # its similarity to each allowed row
    companion: _Companion | None = None

    @property
    def min_similarity(self) -> float:
        """Below this similarity an item is noise: each side's noise, blended as the similarity is."""
        if self.companion is None:
            return MIN_SIMILARITY
        return (1 - COMPANION_WEIGHT) * MIN_SIMILARITY + COMPANION_WEIGHT * COMPANION_MIN_SIMILARITY

    def item(self, position: int) -> str:
        return self.index.ids[position if self.rows is None else int(self.rows[position])]

    def ranking(self, depth: int) -> list[str]:
        """The items whose similarity clears the floor, best first."""
        floor = similarity_floor(self.sims, self.min_similarity)
        return [self.item(p) for p in _top(self.sims, depth) if self.sims[p] >= floor]

    def scores(self, depth: int, moved: _Moved | None = None) -> dict[str, float]:
        """Item → how far its similarity clears the floor, over how far the best one's does (0..1].
        `moved` holds the fed-back similarities; an item is counted only if its own cosine is not noise."""
        sims = self.sims if moved is None else moved.sims
        floor = similarity_floor(sims, self.min_similarity) if moved is None or moved.floor is None else moved.floor
        top = [p for p in _top(sims, depth) if sims[p] > floor and self.sims[p] >= self.min_similarity]
        if not top:
            return {}
        span = float(sims[top[0]]) - floor
        return {self.item(p): (float(sims[p]) - floor) / span for p in top}

    def similarity(self, found_by_words: list[str], depth: int) -> dict[str, float]:
        """The cosine of every item meaning ranks and every item the words found (a hit says how near it
        is in meaning, whichever side found it)."""
        near = {self.item(p): float(self.sims[p]) for p in _top(self.sims, depth)}
        for item_id in found_by_words:
            row = self.index.row_of.get(item_id)
            if row is not None and item_id not in near:
                near[item_id] = self._similarity_of(row)
        return near

    def _similarity_of(self, row: int) -> float:
        own = float(self.index.matrix[row] @ self.vector)
        if self.companion is None:
            return own
        known = self.companion.known[row]
        other = float(self.companion.matrix[row] @ self.companion.vector) if known else float(self.sims.mean())
        return _blend(own, other)

    def fed_back(self, item_ids: list[str]) -> _Moved | None:
        """The similarities to the query's vector moved toward these items' mean vector (None: none of
        them has a vector). In a large pile only the first pass's best PRF_POOL items are matched (the
        others stand at -inf) and the floor comes from a sample of rows."""
        import numpy as np

        rows = [self.index.row_of[i] for i in item_ids if i in self.index.row_of]
        if not rows:
            return None
        moved = self.vector + PRF_WEIGHT * self.index.matrix[rows].mean(axis=0)
        moved /= max(float(np.linalg.norm(moved)), 1e-9)
        other = self.companion.fed_back(rows) if self.companion is not None else None
        count = len(self.sims)
        if count < PRF_EXACT_BELOW:
            return _Moved(self._sims_at(None, moved, other), None)
        sample = slice(0, count, max(1, count // PRF_SAMPLE))  # a view of every n-th row: no copy
        floor = similarity_floor(self._sims_at(sample, moved, other), self.min_similarity)
        pool = _top(self.sims, PRF_POOL)
        sims = np.full(count, -np.inf, dtype=np.float32)
        sims[pool] = self._sims_at(pool, moved, other)
        return _Moved(sims, floor)

    def _sims_at(self, positions: np.ndarray | slice | None, moved: np.ndarray, other: np.ndarray | None) -> np.ndarray:
        """The similarities of these allowed positions (None: all of them) to the moved vectors."""
        rows = self.rows if positions is None else positions if self.rows is None else self.rows[positions]
        with one_blas_thread():
            sims = (self.index.matrix if rows is None else self.index.matrix[rows]) @ moved
        if self.companion is None or other is None:
            return sims
        return _blend(sims, self.companion.sims(rows, other))


@dataclass
class _Moved:
    """The fed-back query's similarities, and their floor when it was estimated on a sample (None: compute
    it from `sims`, which then hold every allowed item)."""

    sims: np.ndarray
    floor: float | None


def _blend(own: Any, other: Any) -> Any:
    """TF-IDF's similarity and the companion's, in their shares."""
    return (1 - COMPANION_WEIGHT) * own + COMPANION_WEIGHT * other


def _meaning_side(
    conn: sqlite3.Connection,
    config: Config,
    index: embed.VectorIndex,
    query: str,
    allowed: set[str] | None,
    second: embed.VectorIndex | None = None,
) -> _Meaning | None:
    """The query's similarity to the allowed items (blended with the companion's when the pile has its
    vectors); None when no embedder knows any of its words. A query whose words the pile's TF-IDF space
    never saw is still near items in the companion's: that is what a paraphrase needs."""
    import numpy as np

    embedder = pile_embedder(conn, config)
    vector = embed.embed_query(embedder, query) if embedder is not None else None
    companion = _companion(conn, config, index, second, query) if second is not None else None
    if vector is None or (not np.any(vector) and companion is None):
        return None
    rows = (
        None
        if allowed is None
        else np.fromiter((index.row_of[i] for i in allowed if i in index.row_of), dtype=np.int64)
    )
    with one_blas_thread():
        sims = (index.matrix if rows is None else index.matrix[rows]) @ vector
    if companion is not None:
        sims = _blend(sims, companion.sims(rows))
    return _Meaning(index, rows, vector, sims, companion) if len(sims) else None


def _companion(
    conn: sqlite3.Connection, config: Config, index: embed.VectorIndex, second: embed.VectorIndex, query: str
) -> _Companion | None:
    """The companion's side of a query (None: not installed, or it knows none of the query's words)."""
    import numpy as np

    embedder = embed.search_companion(config)
    vector = embedder.embed([query])[0] if embedder is not None else None
    if vector is None or not np.any(vector):
        return None
    matrix, known = _aligned(conn, index, second)
    return _Companion(matrix, known, vector)


def _aligned(conn: sqlite3.Connection, index: embed.VectorIndex, second: embed.VectorIndex) -> tuple[Any, Any]:
    """The companion's vectors in the index's row order (zeros, and not known, where it has none), made
    once per pair of loaded matrices; the companion's own matrix when its rows already are in that order (a
    copy of it was half of a 50k-item search's memory)."""
    import numpy as np

    cache = embed.derived_cache(conn)
    cached = cache.get("companion-aligned")
    if cached is not None and cached[0] is index and cached[1] is second:
        return cached[2], cached[3]
    if second.ids == index.ids:  # both stored for the same items in the same order (the usual case): no copy
        matrix, known = second.matrix, np.ones(len(index), dtype=bool)
    else:
        positions = np.fromiter((second.row_of.get(i, -1) for i in index.ids), dtype=np.int64, count=len(index))
        known = positions >= 0
        matrix = np.zeros((len(index), second.matrix.shape[1]), dtype=np.float32)
        matrix[known] = second.matrix[positions[known]]
    cache["companion-aligned"] = (index, second, matrix, known)
    return matrix, known


def _hybrid(
    meaning: _Meaning,
    bm25: dict[str, float],
    words_weight: float,
    own: dict[str, list[str]],
    content_count: int,
    depth: int,
) -> list[tuple[str, float]]:
    """Score fusion, then once more with the query's vector fed back from the first fused top."""
    first = _combine(meaning.scores(depth), bm25, words_weight, own, content_count)
    moved = meaning.fed_back([item_id for item_id, _ in first[:PRF_DEPTH]])
    if moved is None:
        return first
    return _combine(meaning.scores(depth, moved), bm25, words_weight, own, content_count)


def _combine(
    by_meaning: dict[str, float],
    bm25: dict[str, float],
    words_weight: float,
    own: dict[str, list[str]],
    content_count: int,
) -> list[tuple[str, float]]:
    """words_weight × BM25 over the best BM25 + the rest × the meaning score; the researcher's notes and
    tags add as much as the item's own words would, for the share of the query's words they hold."""
    best = max(bm25.values(), default=0.0)
    scores = {item_id: (1 - words_weight) * score for item_id, score in by_meaning.items()}
    for item_id, score in bm25.items():
        if best > 0:
            scores[item_id] = scores.get(item_id, 0.0) + words_weight * score / best
    for item_id, matched in own.items():
        share = len(matched) / max(content_count, 1)
        scores[item_id] = scores.get(item_id, 0.0) + OWN_WORDS_WEIGHT * words_weight * share
    return sorted(scores.items(), key=lambda kv: -kv[1])


def similarity_floor(sims: np.ndarray, least: float = MIN_SIMILARITY) -> float:
    """The similarity an item needs for meaning to count it: Z_FLOOR standard deviations above this
    query's mean similarity over the pile, so the floor suits whichever embedder made the vectors. A
    small pile has no population to stand out from (its items may all be on three subjects): there the
    floor is MIN_SIMILARITY."""
    if len(sims) < MIN_POPULATION:
        return least
    return max(least, float(sims.mean() + Z_FLOOR * sims.std()))


def _top(scores: np.ndarray, count: int) -> np.ndarray:
    import numpy as np

    if len(scores) <= count:
        return np.argsort(-scores)
    part = np.argpartition(-scores, count)[:count]
    return part[np.argsort(-scores[part])]


def _fuse(rankings: list[tuple[list[str], float]]) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: each list adds weight/(k + rank) for every item it holds. Used when
    one side is missing (words only, meaning only, or a query no item's words hold), where only order counts."""
    scores: dict[str, float] = {}
    for ranking, weight in rankings:
        for rank, item_id in enumerate(ranking, start=1):
            scores[item_id] = scores.get(item_id, 0.0) + weight / (RRF_K + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


# -- the stored vectors, read as they are -----------------------------------------------------------
def pile_embedder(conn: sqlite3.Connection, config: Config) -> embed.Embedder | None:
    """The pile's embedder for queries, kept while the connection is open (loading a TF-IDF space costs
    ~100 ms); None when nothing is fitted. It is loaded, never fitted."""
    model = embed.current_model(conn, config)
    cache = embed.derived_cache(conn)
    cached = cache.get(("embedder", config.embed.backend))
    if cached is not None and cached.model == model:
        return cached
    embedder = embed.current_embedder(conn, config)
    cache[("embedder", config.embed.backend)] = embedder
    return embedder


def stored_index(conn: sqlite3.Connection, config: Config) -> embed.VectorIndex | None:
    """The vectors `pile organise` stored in the current model, as they are; None when there are none."""
    model = embed.current_model(conn, config)
    if model is None:
        return None
    index = embed.vector_index(conn, model)
    return index if len(index) else None


def companion_index(conn: sqlite3.Connection, config: Config) -> embed.VectorIndex | None:
    """The search companion's stored vectors (None: this backend has none, or the pile has none yet)."""
    model = embed.companion_model(config)
    if model is None:
        return None
    index = embed.vector_index(conn, model)
    return index if len(index) else None


def _companion_note(items: int, config: Config, second: embed.VectorIndex | None) -> str:
    """What the companion's vectors did not cover of a pile of `items` ('' when all, or when it is not
    installed)."""
    if embed.companion_model(config) is None or not embed.companion_installed():
        return ""
    missing = items - (len(second) if second else 0)
    if missing <= 0:
        return ""
    if second is None:
        return f"meaning read TF-IDF alone: the pile has no WordLlama vectors yet — {ORGANISE_HINT}"
    return f"{missing} item(s) have no WordLlama vectors yet, so meaning read TF-IDF alone for them — {ORGANISE_HINT}"


# -- filters -----------------------------------------------------------------------------------------
def parse_since(text: str, now: datetime | None = None) -> str:
    """'7d', '2w', '3m', '1y' (ago) or an ISO date → an ISO date string to compare against."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+)\s*([dwmy])\s*", text.lower())
    if match:
        days = int(match[1]) * {"d": 1, "w": 7, "m": 30, "y": 365}[match[2]]
        return (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        return date.fromisoformat(text.strip()[:10]).isoformat()
    except ValueError:
        raise UsageError(f"--since {text!r}: use a span like 7d, 2w, 3m, 1y or a date like 2024-01-31") from None


def allowed_ids(conn: sqlite3.Connection, filters: Filters) -> set[str] | None:
    """The ids the filters allow (None = no filter). --since compares the publication date, else the date added."""
    if not filters.any():
        return None
    clauses: list[str] = []
    params: list[Any] = []
    if filters.kind:
        clauses.append("i.kind = ?")
        params.append(filters.kind)
    if filters.since:
        clauses.append("COALESCE(i.published, i.first_seen) >= ?")
        params.append(parse_since(filters.since))
    if filters.source:
        clauses.append(
            "i.id IN (SELECT s.item_id FROM item_sources s JOIN sources src ON src.id = s.source_id "
            "WHERE CAST(src.id AS TEXT) = ? OR src.kind = ? OR src.locator LIKE ? OR src.title LIKE ?)"
        )
        params += [filters.source, filters.source, f"%{filters.source}%", f"%{filters.source}%"]
    if filters.topic:
        topic_id = topics.resolve_topic(conn, filters.topic)
        clauses.append("i.id IN (SELECT item_id FROM item_topics WHERE topic_id IS ?)")
        params.append(topic_id)
    where = " AND ".join(clauses) or "1"
    ids = {r["id"] for r in conn.execute(f"SELECT i.id FROM items i WHERE {where}", params)}
    if filters.state:
        ids &= triage.ids_in_state(conn, filters.state)
    if filters.tag:
        ids &= triage.ids_with_tag(conn, filters.tag)
    if filters.ids is not None:
        ids &= filters.ids
    return ids


# -- rendering hits ------------------------------------------------------------------------------------
def _hits(
    conn: sqlite3.Connection,
    fused: list[tuple[str, float]],
    similarity: dict[str, float],
    words: list[str],
    own: dict[str, list[str]] | None = None,
    holding_all: set[int] | None = None,
) -> list[Hit]:
    if not fused:
        return []
    ids = [item_id for item_id, _ in fused]
    marks = ",".join("?" * len(ids))
    rows = {
        r["id"]: r
        for r in conn.execute(
            f"SELECT i.id, i.seq, i.title, i.kind, i.url, i.published, t.topic_id FROM items i "
            f"LEFT JOIN item_topics t ON t.item_id = i.id WHERE i.id IN ({marks})",
            ids,
        )
    }
    names = topics.topic_names(conn)
    states = triage.user_states(conn, ids)
    matched = _matched_words(conn, [rows[i]["seq"] for i in ids if i in rows], words, holding_all or set())
    hits = []
    for item_id, score in fused:
        row = rows.get(item_id)
        if row is None:
            continue
        topic_id = row["topic_id"]
        topic_name = names.get(topic_id, topics.UNSORTED) if topic_id else topics.UNSORTED
        sim = similarity.get(item_id)
        terms = matched.get(row["seq"], [])
        why: dict[str, Any] = {
            "terms": terms,
            "similarity": None if sim is None else round(sim, 4),
            "topic": topic_name,
        }
        if own and item_id in own:
            why["your_words"] = own[item_id]
        hits.append(
            Hit(
                item_id,
                row["title"],
                row["kind"],
                row["url"],
                row["published"],
                states.get(item_id, triage.UserState()).state,
                topic_id,
                topic_name,
                round(score, 6),
                None if sim is None else round(sim, 4),
                terms,
                why,
            )
        )
    return hits
