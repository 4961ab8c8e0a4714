"""Ranking: what to read next, best first, each item with a short "why it is here".

    score = insight × relevance × recency

- **insight**: the latest good summary's insight score (0 = a small benchmark gain, 1 = new
  understanding); an item not summarised yet, or unjudged (too little text to judge), gets a neutral 0.5
  and says so. Once you have triaged enough judged items (≥ 20 keep/star/drop, both kinds ≥ 5), the
  score is calibrated on your own decisions: a one-feature logistic regression of keep/star vs drop on
  the judge's score, so a judge that is too generous or too strict for you is corrected.
- **relevance**: cosine similarity of the item to your `[reading] interests` and to the question of the
  open sprint (sprints/*/sprint.md), whichever is closest, mapped to 0.25…1; 1 when neither is set.
  Once you have triaged enough (≥ 20 keep/star/drop, both kinds ≥ 5), a logistic regression over the
  embeddings learns your taste, and relevance is multiplied by 0.5 + P(you would keep it).
- **recency**: halves every 30 days since the item entered the pile (never below 0.1).

Two kinds of item always come after the judged items that match your interests, whatever their score:
one not judged yet (no summary with an insight score, or judged "unjudged" for too little text), whose
neutral 0.5 is a guess, not a judgement; and one far from every interest and the sprint question (cosine
below OFF_INTEREST). Their "why" says which it is.

Ranking only reads: it uses the vectors `pile organise` stored, and an item without one gets a neutral
relevance that says so.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from . import embed, search, topics, triage
from .summary_rows import latest_summary_rows, preferred_key  # not the summariser: its imports cost 0.25–0.45 s

if TYPE_CHECKING:
    import numpy as np

UNJUDGED = "unjudged"
NEUTRAL_INSIGHT = 0.5
HALF_LIFE_DAYS = 30.0
MIN_LABELLED = 20
MIN_PER_CLASS = 5
POSITIVE = ("kept", "starred")
SUMMARY_COLUMNS = ("item_id", "tldr", "contribution", "insight_score")  # what ranking reads of a summary
OFF_INTEREST = 0.1  # below this cosine to every interest, an item is off-interest (search's noise floor)


@dataclass
class RankedItem:
    id: str
    title: str
    kind: str
    state: str
    score: float
    insight: float | None  # None: not summarised yet, or unjudged (ranked as a neutral 0.5)
    relevance: float
    recency: float
    taste: float | None
    topic: str
    tldr: str | None
    contribution: str | None
    first_seen: str
    private: bool
    why: str


@dataclass(kw_only=True)
class _LearntFromDecisions:
    """How well something learnt from your keep/star vs drop decisions predicts them, cross-validated."""

    labelled: int
    active: bool  # enough decisions of each kind to learn from
    held_out_accuracy: float | None = None
    baseline_accuracy: float | None = None  # always guessing the larger class
    folds: int = 0
    needs: str = ""

    def cross_validated(self, positives: int, held_out_accuracy: Callable[[int], float]) -> None:
        """Fill the held-out figures from `held_out_accuracy(folds)` (at most 5 folds, one positive or negative
        in each at the least)."""
        negatives = self.labelled - positives
        self.folds = min(5, positives, negatives)
        self.held_out_accuracy = round(held_out_accuracy(self.folds), 3)
        self.baseline_accuracy = round(max(positives, negatives) / self.labelled, 3)


@dataclass(kw_only=True)
class TasteReport(_LearntFromDecisions):
    """How far the ranking has learned from your triage."""

    positives: int
    negatives: int


@dataclass(kw_only=True)
class JudgeAgreement(_LearntFromDecisions):
    """How well the insight judge agrees with your keep/star (insight ≥ 0.5) and drop (< 0.5) decisions
    (`active`: calibrating the score on your decisions; `held_out_accuracy`: the calibrated score's)."""

    raw_accuracy: float | None = None  # the judge's own score read at 0.5 (nothing learnt from you)


@dataclass
class _Context:
    config: Config
    row_of: dict[str, int] | None  # item id → its row in the lists below; None: the pile has no vectors
    aims: list[tuple[str, Any]] = field(default_factory=list)  # (label, vector)
    taste: Any = None
    # Per row (an item with a vector), computed once for the whole pile: the closest aim, its similarity, P(keep).
    best_aim: Any = None
    best_similarity: Any = None
    liked: Any = None
    calibration: Any = None  # P(keep | judge's score), once there are enough decisions


# -- ranking ----------------------------------------------------------------------------------------------
def rank_items(
    conn: sqlite3.Connection,
    config: Config,
    *,
    state: str | None = "inbox",
    sprints_dir: Path | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
    include_private: bool = True,
    now: datetime | None = None,
    filters: search.Filters | None = None,
) -> list[RankedItem]:
    """Items in `state` (None = every state but dropped), ranked, each saying why it is where it is;
    `filters` narrows them (tag, topic, kind, since, source, sprint). `cache_dir` (the workspace's) keeps
    the embedded interests and sprint question between runs (`aim_cache`); without it they are embedded each time.

    Every candidate is scored (numbers only); the words of "why" and the rest of an item are put
    together only for the `limit` items returned, which is most of the work on a large pile.
    """

    now = now or datetime.now(UTC)
    triage.check_state(state)
    user = triage.user_states(conn)  # folded once: the candidates, the taste model and the calibration read it
    decided = {item_id: s.state for item_id, s in user.items() if s.state != "inbox"}
    allowed = search.allowed_ids(conn, filters) if filters is not None else None
    context = _context(conn, config, _aims(config, sprints_dir, cache_dir), decided, cache_dir)
    summaries = latest_summary_rows(conn, prefer=preferred_key(config.llm), columns=SUMMARY_COLUMNS)
    context.calibration = judge_calibration(conn, summaries, decided, cache_dir)
    scored, score = [], _scorer(context, now)
    for row in _candidates(conn, state, decided, allowed, include_private):
        summary = summaries.get(row["id"])
        held_back = bool(_held_back(row["id"], context, summary))
        scored.append((held_back, -score(row, summary), row["id"], row))
    scored.sort(key=lambda entry: entry[:3])
    chosen = scored[:limit] if limit else scored
    names, topic_of = topics.topic_names(conn), topics.topic_of_items(conn)
    return [
        _rank_one(
            row, context, summaries.get(row["id"]), user.get(row["id"]), _topic_name(row["id"], topic_of, names), now
        )
        for *_, row in chosen
    ]


def _candidates(
    conn: sqlite3.Connection, state: str | None, decided: dict[str, str], allowed: set[str] | None, private: bool
) -> list[sqlite3.Row]:
    """The items rows in `state` (None: all but dropped) that the filters allow."""
    where = "" if private else "WHERE private = 0"
    rows = []
    for row in conn.execute(f"SELECT id, title, kind, first_seen, private FROM items {where}"):
        current = decided.get(row["id"], "inbox")
        if (current != "dropped" if state is None else current == state) and (allowed is None or row["id"] in allowed):
            rows.append(row)
    return rows


def _topic_name(item_id: str, topic_of: dict[str, Any], names: dict[Any, str]) -> str:
    topic_id = topic_of.get(item_id)
    return names.get(topic_id, topics.UNSORTED) if topic_id else topics.UNSORTED


def _scorer(context: _Context, now: datetime) -> Callable[[sqlite3.Row, sqlite3.Row | None], float]:
    """score(item row, its summary row): insight × relevance × recency, as the item's RankedItem.score will say
    (rounded the same way). An item's insight depends on its judge's score and kind alone, and its recency on
    the moment it entered the pile, which few items differ in (~100 scores and one moment per batch read on
    the corpus pile): each is worked out once per ranking, not once per item, to the same floats."""
    insights: dict[tuple[Any, Any] | None, float | None] = {}
    recencies: dict[str, float] = {}

    def score(row: sqlite3.Row, summary: sqlite3.Row | None) -> float:
        judged = None if summary is None else (summary["contribution"], summary["insight_score"])
        if judged not in insights:
            insights[judged] = _insight(summary, None, context.calibration)
        insight = insights[judged]
        first_seen = row["first_seen"]
        if first_seen not in recencies:
            recencies[first_seen] = _recency(first_seen, now, None)
        relevance, _ = _relevance(row["id"], context, None)
        return round((NEUTRAL_INSIGHT if insight is None else insight) * relevance * recencies[first_seen], 5)

    return score


def _rank_one(
    row: sqlite3.Row,
    context: _Context,
    summary: sqlite3.Row | None,
    user: triage.UserState | None,
    topic: str,
    now: datetime,
) -> RankedItem:
    reasons: list[str] = []
    insight = _insight(summary, reasons, context.calibration)
    relevance, taste = _relevance(row["id"], context, reasons)
    recency = _recency(row["first_seen"], now, reasons)
    score = (NEUTRAL_INSIGHT if insight is None else insight) * relevance * recency
    behind = _held_back(row["id"], context, summary)
    if behind:
        reasons.append(f"after the judged items on your interests: {behind}")
    return RankedItem(
        row["id"],
        row["title"],
        row["kind"],
        user.state if user else "inbox",
        round(score, 5),
        None if insight is None else round(insight, 3),
        round(relevance, 3),
        round(recency, 3),
        None if taste is None else round(taste, 3),
        topic,
        summary["tldr"] if summary else None,
        summary["contribution"] if summary else None,
        row["first_seen"],
        bool(row["private"]),
        "; ".join(reasons),
    )


def _held_back(item_id: str, context: _Context, summary: sqlite3.Row | None) -> str:
    """Why an item ranks after every judged, on-interest one ('' when it does not)."""
    if not summary or summary["insight_score"] is None or summary["contribution"] == "unjudged":
        return "not judged yet"
    row = context.row_of.get(item_id) if context.row_of is not None else None
    if context.aims and row is not None and float(context.best_similarity[row]) < OFF_INTEREST:
        return "far from your interests and the sprint question"
    return ""


# `reasons` below: the list the item's "why" is built from, or None when only the number is wanted.
def _insight(summary: sqlite3.Row | None, reasons: list[str] | None, calibration: Any = None) -> float | None:
    """The item's insight for ranking; None (ranked as a neutral 0.5) when there is no judgement."""
    if summary and summary["contribution"] == UNJUDGED:
        _say(reasons, "unjudged: too little text to judge (neutral insight 0.5)")
        return None
    if not summary or summary["insight_score"] is None:
        _say(reasons, "not summarised yet (neutral insight 0.5)")
        return None
    value = min(1.0, max(0.0, float(summary["insight_score"])))
    raw = value
    if calibration is not None:
        # The one-feature model's predict_proba, written out: one numpy call per item cost more than the rest.
        z = float(calibration.coef[0]) * _logit(value) + calibration.intercept
        value = 1.0 / (1.0 + math.exp(-min(500.0, max(-500.0, z))))
    if reasons is not None:
        kind = (summary["contribution"] or "").replace("_", " ")
        reason = f"insight {raw:.2f}" + (f" ({kind})" if kind else "")
        reasons.append(reason + (f", {value:.2f} calibrated on your decisions" if calibration is not None else ""))
    return max(0.05, value)


def _say(reasons: list[str] | None, reason: str) -> None:
    if reasons is not None:
        reasons.append(reason)


def _logit(score: float) -> float:
    score = min(0.99, max(0.01, score))
    return math.log(score / (1 - score))


def _relevance(item_id: str, context: _Context, reasons: list[str] | None) -> tuple[float, float | None]:
    row = context.row_of.get(item_id) if context.row_of is not None else None
    relevance = 1.0
    if not context.aims:
        _say(reasons, "no interests or open sprint to match (neutral relevance)")
    elif row is None:
        _say(reasons, "not embedded yet (neutral relevance)")
    else:
        best = float(context.best_similarity[row])
        relevance = 0.25 + 0.75 * min(1.0, max(0.0, best))
        if reasons is not None:
            reasons.append(f"close to {context.aims[int(context.best_aim[row])][0]} ({best:.2f})")
    taste = None
    if context.liked is not None and row is not None:
        taste = float(context.liked[row])
        relevance *= 0.5 + taste
        _say(reasons, f"your taste model: {taste:.0%} like what you keep" if reasons is not None else "")
    return relevance, taste


def _recency(first_seen: str, now: datetime, reasons: list[str] | None) -> float:
    try:
        seen = datetime.fromisoformat(first_seen.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return 1.0
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    days = max(0.0, (now - seen).total_seconds() / 86400)
    if reasons is not None:
        reasons.append("added today" if days < 1 else f"added {days:.0f} days ago")
    return max(0.1, math.pow(0.5, days / HALF_LIFE_DAYS))


def _aims(config: Config, sprints_dir: Path | None, cache_dir: Path | None = None) -> list[tuple[str, str]]:
    """(label, text) of what relevance measures against: each interest, and the open sprint's question."""
    from .aim_cache import sprint_question

    aims = [(f"interest {text!r}", text) for text in config.reading.interests if text.strip()]
    question = sprint_question(sprints_dir, cache_dir) if sprints_dir else None
    if question:
        aims.append(("the sprint question", question))
    return aims


def _context(
    conn: sqlite3.Connection, config: Config, aims: list[tuple[str, str]], decided: dict[str, str], cache: Path | None
) -> _Context:
    """What scoring reads; with every figure kept in `cache`, read without the vectors and without numpy."""
    from .aim_cache import aim_vectors

    model = embed.current_model(conn, config)
    newest, count = _vector_signature(conn, model) if model is not None else (0, 0)
    if model is None or not count:
        return _Context(config, None)
    load_index = _index_loader(conn, model)
    context = _Context(config, {})
    if aims:
        # Embedded one at a time, as search embeds a query (the TF-IDF batch path imports scikit-learn,
        # ~2 s), and kept in the workspace's cache folder (loading the embedder alone is ~0.2 s).
        vectors = aim_vectors(conn, config, [text for _, text in aims], cache)
        if vectors is None:
            return context
        context.aims = [(label, vectors[i]) for i, (label, _) in enumerate(aims) if any(vectors[i])]
    context.taste = _taste(conn, model, load_index, decided, cache)
    if context.aims or context.taste is not None:
        figures = _item_figures(context, [model, newest, count], load_index, cache)
        context.row_of = {item_id: row for row, item_id in enumerate(figures["ids"])}
        context.best_aim, context.best_similarity = figures["best_aim"], figures["best_similarity"]
        context.liked = figures["liked"]
    return context


def _index_loader(conn: sqlite3.Connection, model: str) -> Callable[[], embed.VectorIndex]:
    """`model`'s stored vectors, loaded on the first call only (5k × 256 floats: ~0.1 s of CPU a run)."""
    loaded: list[embed.VectorIndex] = []

    def load() -> embed.VectorIndex:
        if not loaded:
            loaded.append(embed.vector_index(conn, model))
        return loaded[0]

    return load


def _item_figures(
    context: _Context, vectors_key: list[Any], load_index: Callable[[], embed.VectorIndex], cache: Path | None
) -> dict[str, Any]:
    """Each vector's item id, closest aim, its similarity and P(keep), kept in the cache folder under what they
    depend on, so a later run neither loads the vectors nor multiplies them; the same floats as computed.

    The closeness to the aims (under the vectors' model, newest rowid and count, and a hash of the aims'
    vectors) and P(keep) (under the same vectors and a hash of the taste model's coefficients) are kept
    apart, in two files: a decision changes the taste model only, so the run after it computes P(keep)
    alone and rewrites only its file, not the aims' columns."""
    from .stats_cache import RANKING_FILE, TASTE_FILE, cached_figure

    def closeness() -> dict[str, Any]:
        return _closeness(context, load_index())

    def liked() -> dict[str, Any]:
        return _liked(context.taste, load_index())

    if cache is None:
        figures = closeness()
        return {**figures, "liked": liked()["liked"] if context.taste is not None else None}
    figures = cached_figure(
        cache,
        "closeness",
        [*vectors_key, _digest([vector for _, vector in context.aims])],
        closeness,
        lambda kept: _checked_closeness(kept, len(context.aims)),
        file=RANKING_FILE,
        alone=True,
    )
    if context.taste is None:
        return {**figures, "liked": None}
    kept = cached_figure(
        cache,
        "liked",
        [*vectors_key, _digest(_coefficients(context.taste))],
        liked,
        lambda kept: _checked_liked(kept, len(figures["ids"])),
        file=TASTE_FILE,
        alone=True,
    )
    return {**figures, "liked": kept["liked"]}


def _closeness(context: _Context, index: embed.VectorIndex) -> dict[str, Any]:
    """Each vector's item id, and (with aims) its closest aim and the similarity to it."""
    figures: dict[str, Any] = {"ids": index.ids, "best_aim": None, "best_similarity": None}
    if not context.aims:
        return figures
    import numpy as np

    from .blas import one_blas_thread

    if not len(index):  # counted a moment ago: another writer dropped them since (every item: not embedded)
        return {**figures, "best_aim": [], "best_similarity": []}
    # On one BLAS thread: BLAS's own threads, once woken, kept spinning on the second core for the rest of the
    # run (~0.4 s of CPU and ~0.2 s of wall of each `pile inbox`).
    with one_blas_thread():
        similarity = np.asarray([vector for _, vector in context.aims], dtype=np.float32) @ index.matrix.T
        # As Python lists: each item reads its row, and a numpy scalar a row cost more than the arithmetic.
        figures["best_aim"] = similarity.argmax(axis=0).tolist()
        figures["best_similarity"] = similarity.max(axis=0).tolist()
    return figures


def _liked(taste: Any, index: embed.VectorIndex) -> dict[str, Any]:
    """P(keep) of each vector, in the order of `index.ids`."""
    from .blas import one_blas_thread

    if not len(index):
        return {"liked": []}
    with one_blas_thread():
        return {"liked": taste.predict_proba(index.matrix)[:, 1].tolist()}


def _checked_closeness(kept: dict[str, Any], aims: int) -> dict[str, Any]:
    """Kept closeness as it was computed, or ValueError (a damaged file: computed again)."""
    ids = kept["ids"]
    if not isinstance(ids, list) or not set(map(type, ids)) <= {str}:
        raise ValueError("not a list of item ids")
    best_aim = kept["best_aim"]
    _check_column(best_aim, len(ids), aims > 0, int)
    if best_aim and not 0 <= min(best_aim) <= max(best_aim) < aims:
        raise ValueError("an aim that is not there")
    _check_column(kept["best_similarity"], len(ids), aims > 0, float)
    return {"ids": ids, "best_aim": best_aim, "best_similarity": kept["best_similarity"]}


def _checked_liked(kept: dict[str, Any], rows: int) -> dict[str, Any]:
    """Kept P(keep) as it was computed, one a vector, or ValueError (a damaged file: computed again)."""
    _check_column(kept["liked"], rows, True, float)
    return kept


def _check_column(values: Any, rows: int, wanted: bool, kind: type) -> None:
    """A column is there when wanted, one plain value of `kind` a row (types are compared exactly: C speed)."""
    if not wanted:
        if values is not None:
            raise ValueError("a figure that was not asked for")
        return
    if not isinstance(values, list) or len(values) != rows or not set(map(type, values)) <= {kind}:
        raise ValueError("a damaged column of figures")


def _digest(value: Any) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def _vector_signature(conn: sqlite3.Connection, model: str) -> tuple[int, int]:
    """The newest rowid and the count of `model`'s vectors: together they move with any vector (vectors are only
    added, replaced with a new rowid, or dropped with their model)."""
    newest, count = conn.execute(
        "SELECT COALESCE(MAX(rowid), 0), COUNT(*) FROM embeddings WHERE model = ?", (model,)
    ).fetchone()
    return newest, count


# -- learning taste -------------------------------------------------------------------------------------------
def _labelled(index: embed.VectorIndex, decided: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """The vectors and labels (1 keep/star, 0 drop) of the decided items (`decided`: item id → its state)."""
    import numpy as np

    pairs = [(item_id, state) for item_id, state in decided.items() if item_id in index.row_of]
    rows = [index.row_of[item_id] for item_id, _ in pairs]
    labels = np.array([1 if state in POSITIVE else 0 for _, state in pairs], dtype=int)
    return index.matrix[rows], labels


def taste_model(
    conn: sqlite3.Connection,
    index: embed.VectorIndex,
    decided: dict[str, str] | None = None,
    cache_dir: Path | None = None,
) -> Any:
    """A logistic regression of keep/star (1) vs drop (0) over the embeddings, once there is enough triage.

    Kept with the connection's other derived data, under the taste report's key (the vectors' model, newest
    rowid and count, and the latest event: events are only ever appended); and in `cache_dir` (its
    coefficients, under the same key: `stats_cache`), so a later run does not fit it.
    """
    return _taste(conn, index.model, lambda: index, decided, cache_dir)


def _taste(
    conn: sqlite3.Connection,
    model: str,
    load_index: Callable[[], embed.VectorIndex],
    decided: dict[str, str] | None,
    cache_dir: Path | None,
) -> Any:
    """`taste_model`, with the vectors loaded only when the model has to be fitted."""
    key = _taste_key_of(conn, model)
    cache = embed.derived_cache(conn)
    cached = cache.get("taste")
    if cached is not None and cached[0] == key:
        return cached[1]

    def fit() -> Any:
        return _fit_taste(load_index(), decided if decided is not None else triage.state_map(conn))

    if cache_dir is None:
        fitted = fit()
    else:
        from .stats_cache import cached_figure

        fitted = cached_figure(cache_dir, "taste-model", key, lambda: _coefficients(fit()), _from_coefficients)
    cache["taste"] = (key, fitted)
    return fitted


def _fit_taste(index: embed.VectorIndex, decided: dict[str, str]) -> Any:
    from . import taste

    vectors, labels = _labelled(index, decided)
    return taste.fit(vectors, labels) if _enough(labels) else None  # numpy only: no scikit-learn import


def _coefficients(model: Any) -> dict[str, Any]:
    if model is None:
        return {"coef": None, "intercept": None}
    return {"coef": [float(x) for x in model.coef], "intercept": float(model.intercept)}


def _from_coefficients(kept: dict[str, Any]) -> Any:
    """The fitted model back from its coefficients (JSON keeps a float exactly), without numpy; None: not enough
    triage."""
    from . import taste

    coef = kept["coef"]
    if coef is None:
        return None
    if not isinstance(coef, list) or not set(map(type, coef)) <= {float}:
        raise ValueError("not a model's coefficients")
    return taste.Logistic(coef, float(kept["intercept"]))


def _enough(labels: np.ndarray) -> bool:
    positives = int(labels.sum())
    return len(labels) >= MIN_LABELLED and min(positives, len(labels) - positives) >= MIN_PER_CLASS


def taste_report(
    conn: sqlite3.Connection, config: Config, decided: dict[str, str] | None = None, cache_dir: Path | None = None
) -> TasteReport:
    """How many triage decisions there are, and the taste model's held-out (cross-validated) accuracy
    (kept in `cache_dir` for as long as no decision and no vector changes: `stats_cache`)."""
    key = _taste_key(conn, config) if cache_dir is not None else None
    if key is None:
        return _taste_report(conn, config, decided)
    from dataclasses import asdict

    from .stats_cache import cached_figure

    return cached_figure(
        cache_dir, "taste", key, lambda: asdict(_taste_report(conn, config, decided)), lambda kept: TasteReport(**kept)
    )


def _taste_key(conn: sqlite3.Connection, config: Config) -> list[Any] | None:
    """What the taste report depends on, in three index lookups; None without vectors (nothing to keep)."""
    model = embed.current_model(conn, config)
    return None if model is None else _taste_key_of(conn, model)


def _taste_key_of(conn: sqlite3.Connection, model: str) -> list[Any]:
    newest, count = _vector_signature(conn, model)
    last_event = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
    return [model, newest, count, last_event, MIN_LABELLED, MIN_PER_CLASS]


def _taste_report(conn: sqlite3.Connection, config: Config, decided: dict[str, str] | None) -> TasteReport:
    from . import taste

    index = search.stored_index(conn, config)
    if index is None:
        empty = not conn.execute("SELECT 1 FROM items LIMIT 1").fetchone()
        return TasteReport(
            labelled=0,
            positives=0,
            negatives=0,
            active=False,
            needs="the pile is empty"
            if empty
            else "the pile has no vectors yet (`sabbatical pile organise` embeds it)",
        )
    vectors, labels = _labelled(index, triage.state_map(conn) if decided is None else decided)
    positives = int(labels.sum())
    report = TasteReport(
        labelled=len(labels), positives=positives, negatives=len(labels) - positives, active=_enough(labels)
    )
    if not report.active:
        report.needs = (
            f"needs ≥ {MIN_LABELLED} keep/star/drop decisions with ≥ {MIN_PER_CLASS} of each "
            f"(have {positives} kept/starred, {len(labels) - positives} dropped)"
        )
        return report
    report.cross_validated(positives, lambda folds: taste.held_out_accuracy(vectors, labels, folds))
    return report


# -- calibrating the judge on your decisions ----------------------------------------------------------
def _judged_decisions(summaries: dict[str, sqlite3.Row], decided: dict[str, str]) -> tuple[list[float], list[int]]:
    """(the judge's score, 1 for keep/star or 0 for drop) of every triaged item with a judged summary."""
    scores, labels = [], []
    for item_id, state in decided.items():
        row = summaries.get(item_id)
        if row is not None and row["insight_score"] is not None and row["contribution"] != UNJUDGED:
            scores.append(float(row["insight_score"]))
            labels.append(1 if state in POSITIVE else 0)
    return scores, labels


def _enough_decisions(labels: list[int]) -> bool:
    positives = sum(labels)
    return len(labels) >= MIN_LABELLED and min(positives, len(labels) - positives) >= MIN_PER_CLASS


def _as_arrays(scores: list[float], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    return np.array([[_logit(s)] for s in scores]).reshape(-1, 1), np.array(labels, dtype=int)


def judge_calibration(
    conn: sqlite3.Connection,
    summaries: dict[str, sqlite3.Row],
    decided: dict[str, str] | None = None,
    cache_dir: Path | None = None,
) -> Any:
    """P(keep | the judge's score) learnt from your decisions, or None until there are enough
    (the taste model's balanced logistic regression, over one feature: the logit of the score); kept in
    `cache_dir` under a hash of those scores and decisions, so a later run needs no fit (and no numpy)."""
    from . import taste

    scores, labels = _judged_decisions(summaries, triage.state_map(conn) if decided is None else decided)
    if not _enough_decisions(labels):
        return None
    if cache_dir is None:
        return taste.fit(*_as_arrays(scores, labels))
    from .stats_cache import cached_figure

    return cached_figure(
        cache_dir,
        "judge-calibration",
        [_digest([scores, labels])],
        lambda: _coefficients(taste.fit(*_as_arrays(scores, labels))),
        _from_coefficients,
    )


def judge_agreement(
    conn: sqlite3.Connection, config: Config, decided: dict[str, str] | None = None, cache_dir: Path | None = None
) -> JudgeAgreement:
    """How often the judge agrees with your keep/star vs drop: as it is, and calibrated (held out; kept in
    `cache_dir` under a hash of the scores, decisions and folds, so a later `pile stats` refits nothing)."""
    decided = triage.state_map(conn) if decided is None else decided
    # the decided items' only
    summaries = latest_summary_rows(conn, list(decided), prefer=preferred_key(config.llm), columns=SUMMARY_COLUMNS)
    scores, labels = _judged_decisions(summaries, decided)
    positives = sum(labels)
    report = JudgeAgreement(labelled=len(labels), active=_enough_decisions(labels))
    if labels:
        report.raw_accuracy = round(sum((s >= 0.5) == bool(y) for s, y in zip(scores, labels)) / len(labels), 3)
    if not report.active:
        report.needs = (
            f"needs ≥ {MIN_LABELLED} keep/star/drop decisions on judged items with ≥ {MIN_PER_CLASS} "
            f"of each (have {positives} kept/starred, {len(labels) - positives} dropped)"
        )
        return report
    report.cross_validated(positives, lambda folds: _held_out(scores, labels, folds, cache_dir))
    return report


def _held_out(scores: list[float], labels: list[int], folds: int, cache_dir: Path | None) -> float:
    from . import taste

    def compute() -> float:
        return taste.held_out_accuracy(*_as_arrays(scores, labels), folds)

    if cache_dir is None:
        return compute()
    from .stats_cache import cached_figure

    return cached_figure(
        cache_dir,
        "judge-held-out",
        [_digest([scores, labels, folds])],
        lambda: {"accuracy": compute()},
        _kept_accuracy,
    )


def _kept_accuracy(kept: dict[str, Any]) -> float:
    if type(kept["accuracy"]) is not float:
        raise ValueError("not an accuracy")
    return kept["accuracy"]


# -- stats ------------------------------------------------------------------------------------------------
def pile_stats(conn: sqlite3.Connection, config: Config, cache_dir: Path | None = None) -> dict[str, Any]:
    """Counts by kind, triage state and topic, the last organise run, the taste model's report (kept in
    `cache_dir` when given), and how well the insight judge agrees with your decisions."""
    from dataclasses import asdict

    kinds = {
        r["kind"]: r["n"] for r in conn.execute("SELECT kind, COUNT(*) AS n FROM items GROUP BY kind ORDER BY n DESC")
    }
    last_run = conn.execute(
        "SELECT at, mode, model, topics, unsorted, seconds FROM organise_runs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    decided = triage.state_map(conn)  # folded once for the three figures below
    return {
        "items": sum(kinds.values()),
        "kinds": kinds,
        "states": triage.counts_by_state(conn, decided),
        "topics": [
            {"id": t.id, "name": t.name, "size": t.size, "new_this_week": t.new_this_week}
            for t in topics.list_topics(conn)
        ],
        "last_organise": dict(last_run) if last_run else None,
        "taste": asdict(taste_report(conn, config, decided, cache_dir)),
        "judge": asdict(judge_agreement(conn, config, decided, cache_dir)),
    }
