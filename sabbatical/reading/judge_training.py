"""Training the insight judge (`judge.py`) on labelled rows: the named features and the wording block, two
balanced, row-weighted L2 logistic regressions, and the regularisation, the wording's scale and the insight
threshold chosen by cross-validation inside the training rows. `scripts/train-judge` runs it on
`benchmarks/data/judge-dev.jsonl` and writes `judge_weights.json`; judging needs none of this (nor
scikit-learn)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .judge import CLASSES, JudgeModel, Wording, features, wording_text, wording_vectors

MIN_WORD_DOCUMENTS = 2
DEFAULT_C = 0.02
DEFAULT_THRESHOLD = 0.4
MAX_WORDS = 4000
# The regularisation, the wording block's scale and the insight threshold are chosen by cross-validation
# inside the training rows (never on rows a benchmark then scores): these grids are what is tried. The
# wording's columns are standardised, then scaled: a scale s is an L2 penalty 1/s² on that block alone, and
# 0 leaves the block out.
C_GRID = (0.01, 0.02, 0.03, 0.05)
WORDING_SCALE_GRID = (0.0, 0.05, 0.1, 0.2, 0.3)
THRESHOLD_GRID = (0.3, 0.35, 0.4, 0.45, 0.5)
INNER_FOLDS = 4
KIND_C = 0.1
# A low-confidence label is one where two labels were defensible; it teaches the model less.
CONFIDENCE_WEIGHT = {"high": 1.0, "medium": 0.8, "low": 0.5}


@dataclass(frozen=True)
class Choice:
    """What training picks by cross-validation on its own rows."""

    c: float
    threshold: float
    wording_scale: float


def train(
    rows: Iterable[Mapping[str, Any]],
    *,
    c: float | None = None,
    threshold: float | None = None,
    wording_scale: float | None = None,
    about: dict[str, Any] | None = None,
) -> JudgeModel:
    """Fit the judge on labelled rows: each has "title", "text" (the abstract), "label" (insight, sota or
    other) and optionally "confidence" (high, medium, low; weighs the row). Word features are kept when at
    least `MIN_WORD_DOCUMENTS` rows have them. `c`, `threshold` and `wording_scale` default to the best of
    their grids by cross-validation on these rows; without wordllama there is no wording block."""
    import numpy as np

    rows = list(rows)
    items = [features(str(r.get("title", "")), str(r.get("text", ""))) for r in rows]
    present = [set(found) for _, found in items]
    vectors = wording_vectors([wording_text(sentences) for sentences, _ in items])
    labels = np.array([CLASSES.index(str(r["label"])) for r in rows])
    weights = np.array([CONFIDENCE_WEIGHT.get(str(r.get("confidence", "high")), 1.0) for r in rows])
    choice = _choose(present, vectors, labels, weights, Choice(c, threshold, wording_scale))  # type: ignore[arg-type]
    matrix, names = _matrix(present, present)
    block = _WordingBlock.of(vectors, np.arange(len(rows)), choice.wording_scale)
    x = block.beside(matrix)
    insight, insight_bias, insight_wording = _fit(x, labels == 0, weights, choice.c, names)
    rest = labels != 0
    kind, kind_bias, _ = _fit(matrix[rest], labels[rest] == 1, weights[rest], KIND_C, names)
    info = {
        "rows": len(rows),
        "c": choice.c,
        "wording_scale": choice.wording_scale,
        "features": len(names),
        "labels": {label: int((labels == i).sum()) for i, label in enumerate(CLASSES)},
        **(about or {}),
    }
    wording = block.wording(insight_wording)
    return JudgeModel(insight, insight_bias, kind, kind_bias, choice.threshold, info, wording)


@dataclass
class _WordingBlock:
    """The wording's columns for training: standardised by the training rows' mean and spread, scaled."""

    vectors: Any  # rows × 256, or None (no block)
    mean: Any = None
    spread: Any = None
    scale: float = 0.0

    @classmethod
    def of(cls, vectors: Any, train_rows: Any, scale: float) -> _WordingBlock:
        import numpy as np

        if vectors is None or scale == 0:
            return cls(None)
        spread = vectors[train_rows].std(axis=0)
        return cls(vectors, vectors[train_rows].mean(axis=0), np.where(spread > 0, spread, 1.0), scale)

    def beside(self, matrix: Any) -> Any:
        import numpy as np

        if self.vectors is None:
            return matrix
        return np.hstack([matrix, (self.vectors - self.mean) / self.spread * self.scale])

    def wording(self, insight: Any) -> Wording | None:
        """The fitted block as the model keeps it: weights on the raw vector, centred on the mean."""
        if self.vectors is None:
            return None
        raw = self.scale / self.spread
        return Wording([float(v) for v in self.mean], [float(w) for w in insight * raw])


def _matrix(vocabulary_rows: list[set[str]], rows: list[set[str]]) -> tuple[Any, list[str]]:
    """A 0/1 matrix of `rows` over the vocabulary of `vocabulary_rows` (the training rows)."""
    import numpy as np

    names = _vocabulary(vocabulary_rows)
    column = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(rows), len(names)))
    for i, found in enumerate(rows):
        matrix[i, [column[name] for name in found if name in column]] = 1.0
    return matrix, names


def _choose(present: list[set[str]], vectors: Any, labels: Any, weights: Any, fixed: Choice) -> Choice:
    """The (C, threshold, wording scale) of the grids with the best balanced accuracy insight-vs-not, by
    stratified cross-validation on the training rows (seeded, so training twice gives the same weights);
    what `fixed` names is not searched."""
    import numpy as np

    c_grid = (fixed.c,) if fixed.c is not None else C_GRID
    scale_grid = (fixed.wording_scale,) if fixed.wording_scale is not None else WORDING_SCALE_GRID
    cuts = (fixed.threshold,) if fixed.threshold is not None else THRESHOLD_GRID
    if vectors is None:
        scale_grid = (0.0,)
    if len(c_grid) == len(scale_grid) == len(cuts) == 1:
        return Choice(c_grid[0], cuts[0], scale_grid[0])
    fold = _stratified_folds(labels, INNER_FOLDS)
    truth = labels == 0
    splits = []
    for f in range(INNER_FOLDS):
        train_rows, test_rows = np.where(fold != f)[0], np.where(fold == f)[0]
        matrix, _ = _matrix([present[i] for i in train_rows], present)
        blocks = {s: _WordingBlock.of(vectors, train_rows, s).beside(matrix) for s in scale_grid}
        splits.append((train_rows, test_rows, blocks))
    best: tuple[float, Choice] = (-1.0, Choice(DEFAULT_C, DEFAULT_THRESHOLD, scale_grid[0]))
    for candidate in c_grid:
        for scale in scale_grid:
            scores = np.zeros(len(labels))
            for train_rows, test_rows, blocks in splits:
                x = blocks[scale]
                model = _logistic(x[train_rows], truth[train_rows], weights[train_rows], candidate)
                scores[test_rows] = 1 / (1 + np.exp(-model.decision_function(x[test_rows])))
            for cut in cuts:
                predicted = scores >= cut
                accuracy = (predicted[truth].mean() + (~predicted[~truth]).mean()) / 2
                if accuracy > best[0] + 1e-9:
                    best = (float(accuracy), Choice(candidate, cut, scale))
    return best[1]


def _stratified_folds(labels: Any, k: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(15)
    fold = np.zeros(len(labels), dtype=int)
    for label in np.unique(labels):
        members = rng.permutation(np.where(labels == label)[0])
        fold[members] = np.arange(len(members)) % k
    return fold


def _logistic(matrix: Any, positive: Any, weights: Any, c: float) -> Any:
    """A balanced, row-weighted L2 logistic regression of `positive`."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    return model.fit(matrix, positive.astype(int), sample_weight=weights)


def _fit(matrix: Any, positive: Any, weights: Any, c: float, names: list[str]) -> tuple[dict[str, float], float, Any]:
    """The named features' weights, the bias and the weights of the columns after them (the wording); a side
    with no rows gives a constant head."""
    import numpy as np

    if positive.all() or not positive.any():
        return {}, 10.0 if positive.all() else -10.0, np.zeros(matrix.shape[1] - len(names))
    model = _logistic(matrix, positive, weights, c)
    coef = model.coef_[0]
    return {name: float(w) for name, w in zip(names, coef)}, float(model.intercept_[0]), coef[len(names) :]


def _vocabulary(present: list[set[str]]) -> list[str]:
    """Every non-word feature seen, and the most common word features (ties by name, so the vocabulary
    does not depend on set order)."""
    from collections import Counter

    counts = Counter(name for found in present for name in found)
    fixed = sorted(name for name in counts if not name.startswith("word:"))
    common = sorted((name for name in counts if name.startswith("word:")), key=lambda n: (-counts[n], n))
    words = [name for name in common if counts[name] >= MIN_WORD_DOCUMENTS]
    return fixed + sorted(words[:MAX_WORDS])
