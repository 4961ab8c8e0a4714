"""Feature and learner experiments for the offline judge, scored the way `judge_quality.py --cv 5` scores it.

Each variant adds features to the judge's own (`sabbatical.reading.judge.features`) and is scored by nested
cross-validation over the dev set: outer stratified folds (`judge_quality.folds`, three seeds by default); inside
each training split a 4-fold grid search picks the regularisation C, the insight class weight, the scale of the
n-gram block and of a dense block (scaling a block's columns by s is an L2 penalty 1/s² on its weights: the
block's own regularisation) and the insight threshold, so the scored fold never picks anything. Prints, per variant, balanced accuracy
insight-vs-not per seed, its mean and spread, ROC-AUC, medium+low, "other" recall and the seed's confusion.

    .venv/bin/python benchmarks/judge_experiments.py                      # every variant, seeds 15 16 17
    .venv/bin/python benchmarks/judge_experiments.py base method --seeds 15
    .venv/bin/python benchmarks/judge_experiments.py base --fraction 0.5  # a point of the learning curve
    .venv/bin/python benchmarks/judge_experiments.py base dense --weight-grid 1 --scale-grid 1  # before/after

`--fraction F` trains each outer fold on a seeded share F of its training rows (the scored folds stay the same).
The judge as shipped is the variant `dense` with the grids `--c-grid`, `--weight-grid 1`, `--scale-grid 1` and
`--dense-grid` (the judge's `WORDING_SCALE_GRID`); before its wording block it was `base` with the same grids.
Dense variants add WordLlama's packaged vector of some of the item's text as a block of 256 columns,
standardised on the training rows and scaled by a `--dense-grid` value (its own L2 penalty; 0 leaves it out):
`dense` (the title and the paper's own sentences, the judge's `wording_text`), `dense-title`, `dense-own` (own
sentences without the title), `dense-all` (every sentence), `dense-split` (title and own sentences as two
blocks). Feature variants: `base` (the judge's named features), `method` ("we propose" + a gain against a
finding: seven shape flags), `claimgrams` (word 1-2-grams of the claim sentences as a block of their own), `claimgrams-only` (those instead
of the judge's n-grams), `both` (method + claimgrams), `result` (an algorithm of one's own with a guarantee, a
title that applies ML). `--average-c` averages the heads of the C grid instead of choosing one;
`--min-documents` and `--max-words` change the n-gram vocabulary. The figures are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.append(str(extra))

import judge_quality  # noqa: E402

from sabbatical.reading import judge  # noqa: E402
from sabbatical.reading import judge_training  # noqa: E402

Extra = Callable[[list[judge.Sentence], dict[str, list[int]]], set[str]]


# -- variants: extra features of an item --------------------------------------------------------------------
def no_extra(sentences: list[judge.Sentence], found: dict[str, list[int]]) -> set[str]:
    return set()


def claim_ngrams(sentences: list[judge.Sentence], found: dict[str, list[int]]) -> set[str]:
    """Words and word pairs of the claim sentences alone ("we show/find…", "results reveal…")."""
    claims = judge.Joined([s.text for s in sentences]).hits(judge.CLAIM)
    grams: set[str] = set()
    for number in claims:
        if sentences[number].role == "title":
            continue
        words = [
            w
            for w in judge._WORD.findall(sentences[number].text.lower())
            if w not in judge.NGRAM_STOPWORDS and len(w) > 2
        ]
        grams.update(f"claimword:{g}" for g in words + [f"{a} {b}" for a, b in zip(words, words[1:])])
    return grams


FINDING_CUES = ("we show why", "we find that", "surprisingly", "mechanism", "traces a cause", "against a common view")
GAIN_CUES = ("outperforms", "state-of-the-art", "improves by X", "X% better", "competitive results", "than baselines")


def _has(found: dict[str, list[int]], places: tuple[str, ...], cues: tuple[str, ...]) -> bool:
    return any(f"{p}:{c}" in found for p in places for c in cues)


def method_shape(sentences: list[judge.Sentence], found: dict[str, list[int]]) -> set[str]:
    """What the main contribution is: a method with numbers ("we propose" and a gain in its own sentences) or
    a finding about why/when something works, and the four combinations of the two."""
    method = _has(found, ("own", "lead", "title"), ("we propose", "framework"))
    gain = _has(found, ("own", "end"), GAIN_CUES) or "own:gain" in found or "claim:gain" in found
    finding = _has(found, ("own", "title"), FINDING_CUES) or "claim:contrast" in found
    lead_method = "lead:we propose" in found
    shape = {
        "shape:method+gain": method and gain,
        "shape:method+gain, no finding": method and gain and not finding,
        "shape:finding, no method": finding and not method,
        "shape:finding, no gain": finding and not gain,
        "shape:method+finding": method and finding,
        "shape:lead proposes, gain": lead_method and gain,
        "shape:lead proposes, no finding": lead_method and not finding,
    }
    return {name for name, on in shape.items() if on}


def both(sentences: list[judge.Sentence], found: dict[str, list[int]]) -> set[str]:
    return claim_ngrams(sentences, found) | method_shape(sentences, found)


PROPOSES = re.compile(r"\bwe (?:propose|develop|design|present|introduce|give|provide)\b|\bnovel\b", re.I)
ALGORITHM = re.compile(r"\b(?:algorithms?|estimators?|methods?|procedures?|schemes?|policies|policy)\b", re.I)
GUARANTEE = re.compile(
    r"\b(?:regret|convergence|converges|sample complexity|communication complexity|rates?|guarantees?|"
    r"bounds?|provabl[ey]|optimal(?:ity)?|consisten(?:t|cy))\b",
    re.I,
)
APPLIES = re.compile(
    r"\b(?:using|with|via|based on|by) (?:a |an )?(?:deep|neural|machine learning|cnns?|llms?|large language|"
    r"reinforcement learning|transformers?)\b|\bapplication of\b|\bfor (?:the )?(?:detection|diagnosis|"
    r"classification|prediction|monitoring) of\b",
    re.I,
)


def result_kind(sentences: list[judge.Sentence], found: dict[str, list[int]]) -> set[str]:
    """What kind of result it is: a method of one's own with a guarantee (an algorithm with a bound is a
    method paper), or ML applied to a domain (the title says "using deep learning for the detection of")."""
    own = " ".join(s.text for s in sentences if s.role == "own")
    title = sentences[0].text if sentences and sentences[0].role == "title" else ""
    flags = {
        "shape:own algorithm with a guarantee": bool(
            PROPOSES.search(own) and ALGORITHM.search(own) and GUARANTEE.search(own)
        ),
        "shape:title applies ML": bool(APPLIES.search(title)),
    }
    return {name for name, on in flags.items() if on}


# -- variants: a dense block, WordLlama's vector of some of the item's text -----------------------------------
def _title(sentences: list[judge.Sentence]) -> str:
    return sentences[0].text if sentences and sentences[0].role == "title" else ""


def _own(sentences: list[judge.Sentence]) -> str:
    return " ".join(s.text for s in sentences if s.role == "own")


DenseTexts = Callable[[list[judge.Sentence]], list[str]]
# Each text of the list is embedded on its own; their vectors sit side by side (256 columns each).
DENSE: dict[str, DenseTexts] = {
    "dense": lambda s: [judge.wording_text(s)],  # the judge's wording block: title + own sentences
    "dense-title": lambda s: [_title(s)],
    "dense-own": lambda s: [_own(s)],
    "dense-all": lambda s: [" ".join(x.text for x in s)],
    "dense-split": lambda s: [_title(s), _own(s)],
}


def dense_vectors(cases, base, variant: str):
    """The variant's dense block for every case: WordLlama's packaged vectors (L2-normalised means of the
    token vectors), one per text of the variant, side by side; None for a variant without one."""
    import numpy as np

    if variant not in DENSE:
        return None
    texts = [DENSE[variant](sentences) for sentences, _ in base]
    blocks = [judge.wording_vectors([t[k] for t in texts]) for k in range(len(texts[0]))]
    return np.hstack(blocks).astype(np.float64)


VARIANTS: dict[str, Extra] = {
    **{name: no_extra for name in DENSE},
    "result": result_kind,
    "base": no_extra,
    "claimgrams": claim_ngrams,
    "claimgrams-only": claim_ngrams,
    "method": method_shape,
    "both": both,
}
# The block whose columns the scale grid scales (its own regularisation); the others keep scale 1.
SCALED = {"claimgrams": "claimword:", "claimgrams-only": "claimword:", "both": "claimword:"}
# Variants that drop the judge's own n-grams (title and own sentences) for their own.
DROPPED = {"claimgrams-only": "word:"}


# -- nested cross-validation -----------------------------------------------------------------------------------
@dataclass
class Grid:
    c: tuple[float, ...] = judge_training.C_GRID
    weight: tuple[float, ...] = (0.5, 1.0, 2.0)  # the insight class's weight, times "balanced"
    scale: tuple[float, ...] = (0.5, 1.0, 2.0)  # the n-gram blocks' column scale
    threshold: tuple[float, ...] = judge_training.THRESHOLD_GRID
    dense: tuple[float, ...] = (1.0,)  # the dense block's column scale (after standardising its columns)
    average: bool = False  # average the heads of every C (one linear model) instead of choosing one C


SCALED_BLOCK = ["word:"]


def block_scale(name: str, scale: float) -> float:
    return scale if name.startswith(SCALED_BLOCK[0]) else 1.0


def vocabulary(present: list[set[str]]) -> list[str]:
    """The judge's vocabulary rule, with each n-gram block capped on its own."""
    from collections import Counter

    counts = Counter(name for found in present for name in found)
    names = [n for n in counts if not n.startswith(("word:", "claimword:"))]
    for prefix in ("word:", "claimword:"):
        common = sorted((n for n in counts if n.startswith(prefix)), key=lambda n: (-counts[n], n))
        names += [n for n in common if counts[n] >= judge_training.MIN_WORD_DOCUMENTS][: judge_training.MAX_WORDS]
    return sorted(names)


def matrix(train_rows: list[set[str]], rows: list[set[str]], scale: float):
    import numpy as np
    from scipy.sparse import csr_matrix

    names = vocabulary(train_rows)
    column = {n: i for i, n in enumerate(names)}
    data, indices, pointers = [], [], [0]
    for found in rows:
        cols = sorted(column[n] for n in found if n in column)
        indices += cols
        data += [block_scale(names[c], scale) for c in cols]
        pointers.append(len(indices))
    return csr_matrix((np.array(data), np.array(indices), np.array(pointers)), shape=(len(rows), len(names)))


def with_dense(x, dense, train_index, scale: float):
    """`x` with the dense block beside it, each column standardised by the training rows' mean and spread
    (a linear model folds both into its weights and bias) and scaled by `scale`, the block's own L2 penalty
    1/scale²; `x` alone when there is no dense block or its scale is 0 (the block left out)."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack

    if dense is None or scale == 0:
        return x
    mean, spread = dense[train_index].mean(axis=0), dense[train_index].std(axis=0)
    block = (dense - mean) / np.where(spread > 0, spread, 1.0) * scale
    return hstack([x, csr_matrix(block)], format="csr")


def fit(x, positive, weights, c: float, class_weight: float):
    """The judge's balanced, row-weighted L2 logistic regression, the positive class weighed `class_weight`
    times more than balanced (scikit-learn's "balanced" counts each class by its rows' weights)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    total = weights.sum()
    balance = np.where(
        positive, class_weight * total / (2 * weights[positive].sum()), total / (2 * weights[~positive].sum())
    )
    return LogisticRegression(C=c, max_iter=5000).fit(x, positive.astype(int), sample_weight=weights * balance)


def logits(x, positive, weights, c, class_weight: float, x_test):
    """The insight head's logits on `x_test`: of one C, or the mean of the heads of several (itself a linear
    model: the mean of their weights)."""
    import numpy as np

    cs = c if isinstance(c, tuple) else (c,)
    return np.mean([fit(x, positive, weights, one, class_weight).decision_function(x_test) for one in cs], axis=0)


def choose(present: list[set[str]], labels, weights, grid: Grid, dense=None) -> tuple:
    """(C, class weight, block scale, threshold, dense scale) with the best inner-CV balanced accuracy on
    these rows (`dense`: their dense block, or None)."""
    import numpy as np

    fold = judge_training._stratified_folds(labels, judge_training.INNER_FOLDS)
    truth = labels == 0
    dense_grid = grid.dense if dense is not None else (1.0,)
    best = (-1.0, (grid.c[0], grid.weight[0], grid.scale[0], grid.threshold[0], dense_grid[0]))
    splits = []
    for f in range(judge_training.INNER_FOLDS):
        tr, te = np.where(fold != f)[0], np.where(fold == f)[0]
        xs = {s: matrix([present[i] for i in tr], present, s) for s in grid.scale}
        xs = {(s, d): with_dense(xs[s], dense, tr, d) for s in grid.scale for d in dense_grid}
        splits.append((tr, te, xs))
    for c in (grid.c,) if grid.average else grid.c:
        for w in grid.weight:
            for s in grid.scale:
                for d in dense_grid:
                    scores = np.zeros(len(labels))
                    for tr, te, xs in splits:
                        x = xs[s, d]
                        scores[te] = 1 / (1 + np.exp(-logits(x[tr], truth[tr], weights[tr], c, w, x[te])))
                    for cut in grid.threshold:
                        predicted = scores >= cut
                        accuracy = (predicted[truth].mean() + (~predicted[~truth]).mean()) / 2
                        if accuracy > best[0] + 1e-9:
                            best = (float(accuracy), (c, w, s, cut, d))
    return best[1]


def nested(cases, present, seed: int, grid: Grid, fraction: float = 1.0, dense=None):
    """Each case judged by a model whose every choice was made on the other folds (`dense`: the cases'
    dense block, or None)."""
    import numpy as np

    labels = np.array([judge.CLASSES.index(c.label) for c in cases])
    weights = np.array([judge_training.CONFIDENCE_WEIGHT[c.confidence] for c in cases])
    outer = np.array(judge_quality.folds(cases, 5, seed))
    scored: list = [None] * len(cases)
    chosen = []
    rng = np.random.default_rng(seed)
    for f in range(5):
        tr = np.where(outer != f)[0]
        if fraction < 1:
            tr = np.sort(
                np.concatenate(
                    [
                        rng.permutation(tr[labels[tr] == k])[: round(fraction * (labels[tr] == k).sum())]
                        for k in range(3)
                    ]
                )
            )
        te = np.where(outer == f)[0]
        sub = [present[i] for i in tr]
        c, w, s, cut, d = choose(sub, labels[tr], weights[tr], grid, None if dense is None else dense[tr])
        chosen.append((c, w, s, cut, d))
        named = matrix(sub, present, s)
        x = with_dense(named, dense, tr, d)
        rest = tr[labels[tr] != 0]
        # The kind head (sota vs other) keeps the named features alone, as the judge's does.
        kind = fit(named[rest], labels[rest] == 1, weights[rest], judge_training.KIND_C, 1.0)
        # The judge's score: P(insight) shifted so that the fold's threshold sits at 0.5 (scores are pooled
        # over folds for the ROC-AUC, as judge_quality.py pools them).
        logit = logits(x[tr], labels[tr] == 0, weights[tr], c, w, x[te]) - math.log(cut / (1 - cut))
        p = 1 / (1 + np.exp(-logit))
        sota = kind.decision_function(named[te]) > 0
        for i, prob, is_sota in zip(te, p, sota):
            case = cases[i]
            if not judge_quality._judgeable(case):
                scored[i] = judge_quality.Scored(case, "other", None)
            else:
                label = "insight" if prob >= 0.5 else "sota" if is_sota else "other"
                scored[i] = judge_quality.Scored(case, label, float(prob))
    return scored, chosen


def run(cases, variant: str, seeds: list[int], grid: Grid, fraction: float) -> None:
    base = [judge.features(c.title, c.abstract) for c in cases]
    present = [set(found) | VARIANTS[variant](sentences, found) for sentences, found in base]
    if variant in DROPPED:
        present = [{n for n in found if not n.startswith(DROPPED[variant])} for found in present]
    SCALED_BLOCK[0] = SCALED.get(variant, "word:")
    dense = dense_vectors(cases, base, variant)
    rows = []
    for seed in seeds:
        scored, chosen = nested(cases, present, seed, grid, fraction, dense)
        result = judge_quality.figures(scored)
        low = judge_quality.figures([s for s in scored if s.case.confidence != "high"])
        pools = [
            judge_quality.figures([s for s in scored if s.case.pool == p])["balanced_accuracy"]
            for p in judge_quality.POOLS
        ]
        rows.append((seed, result, low, pools, chosen))
    for seed, result, low, pools, chosen in rows:
        confusion = " / ".join(
            "/".join(str(result["confusion"][t][p]) for p in judge_quality.LABELS) for t in judge_quality.LABELS
        )
        print(
            f"{variant} f={fraction} seed {seed}: {result['balanced_accuracy']:.4f} auc {result['roc_auc']:.4f} "
            f"med+low {low['balanced_accuracy']:.4f} other {result['other_recall'][0]} pools "
            f"{' / '.join(f'{p:.3f}' for p in pools)} confusion {confusion} chosen {chosen}"
        )
    accuracies = [r[1]["balanced_accuracy"] for r in rows]
    spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    print(
        f"{variant} f={fraction} MEAN {statistics.mean(accuracies):.4f} (sd {spread:.4f}) auc "
        f"{statistics.mean(r[1]['roc_auc'] for r in rows):.4f} med+low "
        f"{statistics.mean(r[2]['balanced_accuracy'] for r in rows):.4f} other "
        f"{statistics.mean(r[1]['other_recall'][0] for r in rows):.1f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[15, 16, 17])
    parser.add_argument("--fraction", type=float, default=1.0)
    parser.add_argument("--c-grid", type=float, nargs="+", default=list(judge_training.C_GRID))
    parser.add_argument("--weight-grid", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--scale-grid", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--dense-grid", type=float, nargs="+", default=list(judge_training.WORDING_SCALE_GRID))
    parser.add_argument("--average-c", action="store_true", help="average the heads of the C grid")
    parser.add_argument("--min-documents", type=int, default=judge_training.MIN_WORD_DOCUMENTS, help="rows an n-gram needs")
    parser.add_argument("--max-words", type=int, default=judge_training.MAX_WORDS, help="n-grams kept at most")
    args = parser.parse_args(argv)
    judge_training.MIN_WORD_DOCUMENTS, judge_training.MAX_WORDS = args.min_documents, args.max_words
    grid = Grid(
        tuple(args.c_grid),
        tuple(args.weight_grid),
        tuple(args.scale_grid),
        dense=tuple(args.dense_grid),
        average=args.average_c,
    )
    cases = judge_quality.cases(judge_quality.load_dev_set(), judge_quality.corpus_dir())
    for variant in args.variants:
        run(cases, variant, args.seeds, grid, args.fraction)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
