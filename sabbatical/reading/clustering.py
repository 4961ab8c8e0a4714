"""The numerical core of topics: spherical k-means with warm starts and fixed centroids, join radii,
matching new clusters to old topics, and class-based TF-IDF keywords.

Pure functions over NumPy arrays (no database), so `topics.py` stays about the pile and its history,
and the benchmark can call the same code. Vectors are L2-normalised, so a dot product is a cosine.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SEED = 0
SEED_SAMPLE = 2_000  # a fresh fit seeds from a Ward clustering of this many items (quadratic in it)
MIN_TOPIC_SIZE = 3  # a cluster smaller than this is not a topic: its items stay unsorted
OUTLIER_QUANTILE = 0.04  # the loosest 4% of a topic's own members mark the edge of its radius
RADIUS_FLOOR = 0.05  # below this cosine nothing counts as close, whatever the topic
# The radius reaches a little beyond the topic's loosest members: a tight topic's edge is not a wall
# against the next item like them, while an item near no topic (cosine ≈ 0) still stays out.
RADIUS_SCALE = 0.8
FIT_ITERATIONS = 40
# A refit re-centres topics on their current members and lets new clusters form in one Lloyd step: run to
# convergence, warm-started k-means drifts far enough to reshuffle a tenth or more of the pile.
REFIT_ITERATIONS = 1
HYSTERESIS = 0.08  # on a refit an item keeps its topic unless another is this much closer
MAX_KEYWORD_TERMS = 60_000  # keyword candidates: the pile's most frequent words and two-word phrases
# A word, or hyphenated words with digits inside ("in-context", "gpt-4o"); never a piece ending in a hyphen
# ("gpt-" from "gpt-4").
_KEYWORD_TOKEN = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z0-9]*(?:-[a-zA-Z0-9]+)*\b")
# A topic's word gives way to a phrase holding it when the phrase is at least this share of the word's uses
# there: "sparse autoencoders", not "sparse"; "in-context learning", not "in-context".
PHRASE_SHARE = 0.5


def choose_topic_count(n_items: int) -> int:
    """How many topics for a pile of n items: about √(n/2), so 2,000 papers make ~32 topics."""
    if n_items < 2 * MIN_TOPIC_SIZE:
        return 1
    return max(1, min(120, round(math.sqrt(n_items / 2))))


def seed_centroids(vectors: np.ndarray, count: int, existing: np.ndarray | None = None) -> np.ndarray:
    """k-means++ seeding: `count` new centroids, each far from the ones chosen (and `existing`) before."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    chosen: list[np.ndarray] = []
    if existing is not None and len(existing):
        closest = 1.0 - (vectors @ existing.T).max(axis=1)
    else:
        first = vectors[rng.integers(len(vectors))]
        chosen.append(first)
        closest = 1.0 - vectors @ first
    while len(chosen) < count:
        weights = np.clip(closest, 0, None) ** 2
        total = weights.sum()
        pick = rng.choice(len(vectors), p=weights / total) if total > 0 else rng.integers(len(vectors))
        chosen.append(vectors[pick])
        closest = np.minimum(closest, 1.0 - vectors @ vectors[pick])
    return np.array(chosen, dtype=np.float32).reshape(count, vectors.shape[1])


def agglomerative_seeds(vectors: np.ndarray, count: int, ids: Sequence[str]) -> np.ndarray:
    """Starting centroids for a fresh fit: the means of a Ward clustering of up to SEED_SAMPLE items.

    k-means++ picks its seeds at random, so two fits on nearly the same items (a tenth added or taken
    away) start apart and settle into different partitions (adjusted Rand index ≈ 0.33 between them on
    the OAI-PMH harvest, on the same vectors). Ward's merges depend only on the items, and the sample is
    chosen by a hash of each item's id, so the same items seed the same way whatever else the pile holds.
    """
    import hashlib

    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) > SEED_SAMPLE:
        digest = [hashlib.sha1(item_id.encode()).digest()[:8] for item_id in ids]
        sample = vectors[np.sort(np.argsort(np.array(digest, dtype="S8"), kind="stable")[:SEED_SAMPLE])]
    else:
        sample = vectors
    if count >= len(sample):
        return seed_centroids(vectors, count)
    labels = AgglomerativeClustering(n_clusters=count, linkage="ward").fit_predict(sample.astype(np.float64))
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, sample)
    return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)


def spherical_kmeans(
    vectors: np.ndarray, centroids: np.ndarray, fixed: np.ndarray | None = None, iterations: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's iterations on the unit sphere from the given centroids; rows marked `fixed` never move.

    Returns (labels, centroids). An emptied cluster keeps its previous centroid, so a warm start never
    loses a topic by accident; whether it survives is decided later by its size.
    """
    import numpy as np

    centroids = centroids.astype(np.float32, copy=True)
    fixed = np.zeros(len(centroids), dtype=bool) if fixed is None else fixed
    labels = np.full(len(vectors), -1)
    for _ in range(iterations):
        new_labels = (vectors @ centroids.T).argmax(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, vectors)
        norms = np.linalg.norm(sums, axis=1)
        movable = (norms > 0) & ~fixed
        centroids[movable] = sums[movable] / norms[movable, None]
    return labels, centroids


@dataclass
class Placement:
    """Where items fall given some centroids: best topic row (or -1 = unsorted) and its similarity."""

    rows: np.ndarray
    similarity: np.ndarray


def place(vectors: np.ndarray, centroids: np.ndarray, radii: np.ndarray) -> Placement:
    """Each item joins its nearest centroid only if it is within that topic's radius; never forced."""
    import numpy as np

    if len(centroids) == 0 or len(vectors) == 0:
        return Placement(np.full(len(vectors), -1), np.zeros(len(vectors), dtype=np.float32))
    sims = vectors @ centroids.T
    best = sims.argmax(axis=1)
    best_sim = sims[np.arange(len(vectors)), best]
    rows = np.where(best_sim >= radii[best], best, -1)
    return Placement(rows, best_sim.astype(np.float32))


def radii_of(vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """A topic's radius: a little below the similarity that all but its loosest few members reach."""
    import numpy as np

    radii = np.full(len(centroids), RADIUS_FLOOR, dtype=np.float32)
    for row in range(len(centroids)):
        members = vectors[labels == row]
        if len(members) >= MIN_TOPIC_SIZE:
            sims = members @ centroids[row]
            radii[row] = max(RADIUS_FLOOR, RADIUS_SCALE * float(np.quantile(sims, OUTLIER_QUANTILE)))
    return radii


def normalised_mean(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    total = vectors.sum(axis=0)
    norm = np.linalg.norm(total)
    return (total / norm if norm > 0 else total).astype(np.float32)


def match_clusters(
    old_members: Sequence[set[str]], new_members: Sequence[set[str]], forced: dict[int, int] | None = None
) -> dict[int, int]:
    """Match new clusters to old topics by member overlap (Jaccard), one to one (Hungarian algorithm).

    Returns {new cluster index: old topic index} for pairs that share members; `forced` pairs (a pinned
    topic and the cluster grown from it) are kept as given.
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    forced = dict(forced or {})
    if not old_members or not new_members:
        return forced
    overlap = np.zeros((len(new_members), len(old_members)))
    for i, new in enumerate(new_members):
        for j, old in enumerate(old_members):
            if new and old:
                shared = len(new & old)
                overlap[i, j] = shared / len(new | old) if shared else 0.0
    for new_index, old_index in forced.items():
        overlap[new_index, :] = 0
        overlap[:, old_index] = 0
    rows, cols = linear_sum_assignment(-overlap)
    matched = {int(r): int(c) for r, c in zip(rows, cols) if overlap[r, c] > 0}
    matched.update(forced)
    return matched


def class_keywords(
    texts_by_topic: Sequence[Sequence[str]], top: int = 6, banned: frozenset[str] = frozenset()
) -> list[list[str]]:
    """Class-based TF-IDF: the words that make each topic's texts distinct from the other topics'.

    Each topic's texts are one document; its terms are words and two-word phrases (two words side by
    side, with no stop word or clause break between them), restricted to the MAX_KEYWORD_TERMS most frequent in
    the pile. A term scores its frequency in the topic × log(1 + mean topic size / its count overall).
    Counted with `Counter` rather than a CountVectorizer, which sorts its whole vocabulary and builds a
    sparse matrix first: the same keywords at about half the time.
    """
    stop = frozenset(_stop_words()) | banned
    counts: list[Counter[str]] = []
    totals: Counter[str] = Counter()
    for texts in texts_by_topic:
        terms = _terms(_plain_words("\n".join(texts)).lower(), stop)
        counts.append(Counter(terms))
        totals.update(terms)
    if len(totals) > MAX_KEYWORD_TERMS:
        kept = {term for term, _ in totals.most_common(MAX_KEYWORD_TERMS)}
        counts = [Counter({t: n for t, n in c.items() if t in kept}) for c in counts]
    sizes = [max(c.total(), 1) for c in counts]
    average = sum(sizes) / len(sizes) if sizes else 1.0
    keywords = []
    for counted in counts:
        ranked = heapq.nlargest(top * 4, counted, key=lambda t: (counted[t] * math.log1p(average / totals[t]), t))
        keywords.append(_distinct_terms(_as_phrases(ranked, counted), top))
    return keywords


_CLAUSE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”…|/\n]+")


def _terms(text: str, stop: frozenset[str]) -> list[str]:
    """The words of `text` that are not stop words, and each pair of them that stands side by side in it
    (a stop word or a clause break between two words makes them no phrase: "correction with surface")."""
    words: list[str] = []
    phrases: list[str] = []
    for clause in _CLAUSE_BREAK.split(text):
        previous = ""
        for token in _KEYWORD_TOKEN.findall(clause):
            if len(token) < 2 or token in stop:
                previous = ""
                continue
            words.append(token)
            if previous:
                phrases.append(f"{previous} {token}")
            previous = token
    return words + phrases


def _as_phrases(ranked: list[str], counted: Counter[str]) -> list[str]:
    """Each ranked word replaced by the commonest phrase holding it, when that phrase is most of its uses."""
    best: dict[str, tuple[int, str]] = {}
    for term, n in counted.items():
        if n >= 2 and " " in term:
            for word in term.split(" "):
                if n > best.get(word, (0, ""))[0]:
                    best[word] = (n, term)
    phrased = []
    for term in ranked:
        n, phrase = best.get(term, (0, ""))
        phrased.append(phrase if " " not in term and n >= PHRASE_SHARE * counted[term] else term)
    return list(dict.fromkeys(phrased))


# Words every abstract uses: they name no topic.
ACADEMIC_STOP_WORDS = frozenset(
    [
        "paper",
        "papers",
        "propose",
        "proposed",
        "proposes",
        "present",
        "presents",
        "presented",
        "show",
        "shows",
        "shown",
        "study",
        "studies",
        "studied",
        "result",
        "results",
        "method",
        "methods",
        "approach",
        "approaches",
        "based",
        "using",
        "use",
        "used",
        "new",
        "novel",
        "work",
        "works",
        "problem",
        "problems",
        "existing",
        "recent",
        "recently",
        "demonstrate",
        "demonstrates",
        "provide",
        "provides",
        "introduce",
        "introduces",
        "consider",
        "considered",
        "obtain",
        "obtained",
        "significant",
        "significantly",
        "furthermore",
        "moreover",
        "finally",
        "different",
        "various",
        "important",
        "large",
        "small",
        "high",
        "low",
        "including",
        "given",
        "able",
        "achieve",
        "achieves",
        "allow",
        "allows",
        "analysis",
        "performance",
        "state",
        "art",
        "main",
        "find",
        "found",
        "investigate",
        "investigated",
        "develop",
        "developed",
        "effective",
        "efficient",
        "well",
        "also",
        "however",
        "thus",
        "paper's",
        "article",
        "letter",
        "simple",
        "general",
        "case",
        "cases",
        "time",
        "way",
        "number",
    ]
)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _stop_words() -> list[str]:
    """English (scikit-learn's list and ours), the function words of other languages feeds arrive in,
    web filler and feed furniture: none of them names a subject ("der, und, die", "score comments")."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from .stopwords import LABEL_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | ACADEMIC_STOP_WORDS | LABEL_STOP_WORDS)


def _plain_words(text: str) -> str:
    """Text without inline maths ($…$) and LaTeX commands, which make poor keywords ('mathcal')."""
    from .boilerplate import without_links

    text = re.sub(r"\$[^$]{0,200}\$", " ", without_links(text))
    return re.sub(r"\\[a-zA-Z]+", " ", text)


def _distinct_terms(ranked: list[str], top: int) -> list[str]:
    """Drop a word that repeats a better-ranked one or part of its phrase ('graphs' after 'graph',
    'neural' after 'neural networks')."""
    chosen: list[str] = []
    for term in ranked:
        words = {_singular(w) for w in term.split()}
        if any(words <= c or c <= words for c in ({_singular(w) for w in c.split()} for c in chosen)):
            continue
        chosen.append(term)
        if len(chosen) == top:
            break
    return chosen
