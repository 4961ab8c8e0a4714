"""The taste model's numpy logistic regression fits what scikit-learn's LogisticRegression(C=1,
class_weight="balanced") fits, and its held-out accuracy is the stratified k-fold mean, without either
of them importing scikit-learn on the inbox's path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

from sabbatical.reading import taste


def _decisions(seed: int = 3, n: int = 240, dim: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = (vectors[:, 0] + 0.2 * rng.normal(size=n) > 0.15).astype(int)  # unbalanced on purpose
    return vectors, labels


def test_the_fit_is_scikit_learns_balanced_logistic_regression():
    vectors, labels = _decisions()
    ours = taste.fit(vectors, labels).predict_proba(vectors)[:, 1]
    theirs = (
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000, tol=1e-10)
        .fit(vectors, labels)
        .predict_proba(vectors)[:, 1]
    )
    assert np.abs(ours - theirs).max() < 1e-4


def test_held_out_accuracy_is_the_stratified_k_fold_mean_and_tells_taste_from_noise():
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    vectors, labels = _decisions()
    ours = taste.held_out_accuracy(vectors, labels, 5)
    theirs = cross_val_score(
        LogisticRegression(C=1.0, class_weight="balanced"),
        vectors,
        labels,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
    ).mean()
    assert abs(ours - theirs) < 0.08  # other folds, the same model: close, not equal
    noise = np.random.default_rng(9).integers(0, 2, size=len(labels))
    assert ours > taste.held_out_accuracy(vectors, noise, 5) + 0.1


def test_ranking_does_not_import_scikit_learn():
    code = "import sys; import sabbatical.reading.rank, sabbatical.reading.taste; print('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
