"""The taste model's arithmetic: an L2-regularised logistic regression with balanced class weights, and its
stratified k-fold held-out accuracy, in numpy alone.

This is the model scikit-learn's `LogisticRegression(C=1.0, class_weight="balanced")` fits (the same
objective, solved by Newton's method, which needs a handful of steps for a few hundred decisions), written
here so that `pile inbox` and `pile stats` do not import scikit-learn and SciPy, which alone took longer
than the whole command may (1–2 s of a 0.5 s budget on the corpus pile). It runs on one BLAS thread:
on two shared cores BLAS's own threads made the first fit of a process ten times slower (0.28 s against
0.03 s for 300 decisions over 256 dimensions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .blas import one_blas_thread

if TYPE_CHECKING:
    import numpy as np

STEPS = 25
FEW_FEATURES = 8  # a fit over this few columns skips the thread limit (finding BLAS's pools costs ~10 ms)
TOLERANCE = 1e-8


class Logistic:
    """A fitted model: `predict_proba(X)[:, 1]` is the chance of a keep/star, as in scikit-learn. `coef` may be
    a list of floats (coefficients read back from a file, without importing numpy)."""

    def __init__(self, coef: np.ndarray | list[float], intercept: float):
        self.coef, self.intercept = coef, intercept

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        import numpy as np

        liked = _sigmoid(vectors @ np.asarray(self.coef, dtype=float) + self.intercept)
        return np.column_stack([1 - liked, liked])

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return (self.predict_proba(vectors)[:, 1] >= 0.5).astype(int)


def fit(vectors: np.ndarray, labels: np.ndarray, c: float = 1.0) -> Logistic:
    """Minimise C·Σ wᵢ·logloss(xᵢ, yᵢ) + ½‖coef‖² (the intercept is not penalised), wᵢ balancing the classes."""
    if vectors.shape[1] <= FEW_FEATURES:  # the judge's calibration: too small for BLAS to start threads
        return _fit(vectors, labels, c)
    with one_blas_thread():
        return _fit(vectors, labels, c)


def _fit(vectors: np.ndarray, labels: np.ndarray, c: float) -> Logistic:
    import numpy as np

    x = np.hstack([np.asarray(vectors, dtype=float), np.ones((len(labels), 1))])
    y = np.asarray(labels, dtype=float)
    counts = np.bincount(labels.astype(int), minlength=2)
    weights = len(y) / (2.0 * counts[labels.astype(int)])
    penalty = np.ones(x.shape[1])
    penalty[-1] = 1e-10  # the intercept: unpenalised, kept just invertible
    theta = np.zeros(x.shape[1])
    for _ in range(STEPS):
        p = _sigmoid(x @ theta)
        gradient = c * x.T @ (weights * (p - y)) + penalty * theta
        hessian = c * (x.T * (weights * p * (1 - p))) @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < TOLERANCE:
            break
    return Logistic(theta[:-1], float(theta[-1]))


def held_out_accuracy(vectors: np.ndarray, labels: np.ndarray, folds: int, seed: int = 0) -> float:
    """Mean accuracy over `folds` stratified folds (each class dealt round-robin after a seeded shuffle)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=int)
    for label in (0, 1):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        fold_of[members] = np.arange(len(members)) % folds
    scores = []
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        model = fit(vectors[train], labels[train])
        scores.append(float((model.predict(vectors[test]) == labels[test]).mean()))
    return float(np.mean(scores))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
