"""How well the offline insight judge agrees with hand labels: `benchmarks/data/judge-dev.jsonl`.

The dev set stores only ids, labels, confidences and notes (the guide is `benchmarks/data/JUDGE-GUIDE.md`);
the title and abstract of each row are read here from the shared corpus, from one of three pools:

- `daily`: the daily cs.CV/cs.CL listings (JSON lines; ids `arxiv:2606.19617`),
- `csv`: the Kaggle "arXiv paper abstracts" CSV (`keras_arxiv_abstracts`; it has no arXiv ids, so rows are
  named as the corpus pile names them, `keras:` + the first 12 hex digits of the title's SHA-1),
- `oai`: the OAI-PMH harvest of 2023-03-07 (all of arXiv; ids `arxiv:2303.03012`).

`--draw POOL N` prints a seeded random sample of a pool, the way the dev set's random rows were drawn, so a
hidden set drawn the same way looks like it. The figures: balanced accuracy insight-vs-not, ROC-AUC of the
insight score, the 3x3 confusion matrix, "other" recall, per pool and on the lower-confidence labels, next to
a crude keyword rule. `--cv K` scores a trainable judge by K-fold cross-validation (seeded folds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.append(str(ROOT / "benchmarks"))
DEV_SET = ROOT / "benchmarks" / "data" / "judge-dev.jsonl"
POOLS = ("daily", "csv", "oai")
LABELS = ("insight", "sota", "other")
CONFIDENCES = ("high", "medium", "low")
# The pools a random row of `oai` is drawn from: the harvest holds all of arXiv, and the pile is an ML
# reader's, so the draw keeps to computer science, statistics and electrical engineering.
OAI_SETS = ("cs", "stat", "eess")


@dataclass(frozen=True)
class Paper:
    pool: str
    id: str
    title: str
    abstract: str
    group: str = ""     # the OAI set (cs, math, ...) or the listing day; used only to draw samples


def corpus_dir() -> Path:
    return Path(os.environ.get("SABBATICAL_CORPUS", ROOT.parent / "shared" / "corpus"))


def pool_papers(corpus: Path, pool: str) -> list[Paper]:
    """Every paper of a pool once (the first listing wins), read by the product's own dev-set reader, the one
    `pile summarise --compare --dev-set` uses; ids that are not arXiv ids fail the run."""
    from sabbatical.reading.prompt_dev_set import pool_papers as read_pool

    papers: dict[str, Paper] = {}
    for paper in read_pool(corpus, pool):
        if pool != "csv" and not paper.id.startswith("arxiv:"):
            raise ValueError(f"not an arXiv id: {paper.id!r}")
        papers.setdefault(paper.id, Paper(pool, paper.id, paper.title, paper.abstract, paper.group))
    return list(papers.values())


def all_papers(corpus: Path) -> dict[tuple[str, str], Paper]:
    return {(p.pool, p.id): p for pool in POOLS for p in pool_papers(corpus, pool)}


def draw(papers: list[Paper], pool: str, n: int, seed: int = 15) -> list[Paper]:
    """The first `n` of a seeded shuffle of a pool (ids sorted first, so the draw does not depend on file
    order, and a larger draw starts with the smaller one)."""
    candidates = sorted((p for p in papers if pool != "oai" or p.group in OAI_SETS), key=lambda p: p.id)
    random.Random(f"{pool}:{seed}").shuffle(candidates)
    return candidates[:n]


# -- the dev set ----------------------------------------------------------------------------------------
def load_dev_set(path: Path = DEV_SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Case:
    """One labelled row with its text, as a judge sees it."""

    pool: str
    id: str
    label: str
    confidence: str
    title: str
    abstract: str
    drawn: str = "random"


def cases(rows: list[dict], corpus: Path) -> list[Case]:
    papers = all_papers(corpus)
    missing = [f"{r['pool']} {r['id']}" for r in rows if (r["pool"], r["id"]) not in papers]
    if missing:
        raise SystemExit(f"{len(missing)} dev-set rows are not in the corpus at {corpus}: {', '.join(missing[:5])}")
    return [Case(r["pool"], r["id"], r["label"], r["confidence"], papers[(r["pool"], r["id"])].title,
                 papers[(r["pool"], r["id"])].abstract, r.get("drawn", "random")) for r in rows]


# -- judges: each maps a case to (label, insight score or None) ------------------------------------------
KIND_TO_LABEL = {"new_insight": "insight", "sota_increment": "sota", "new_method": "sota"}


def offline_judge(case: Case) -> tuple[str, float | None]:
    """The product's offline judge, through the summariser the pile calls."""
    from sabbatical.reading.offline import summarise_offline
    from sabbatical.reading.summary_schema import SourceDocument

    summary = summarise_offline(SourceDocument(case.id, "paper", case.title, case.abstract, "", "dev"))
    score = summary.insight.score if summary.insight is not None else None
    return KIND_TO_LABEL.get(summary.contribution.value, "other"), score


KEYWORD_OTHER = re.compile(r"\b(?:survey|review|tutorial|dataset|benchmark|toolkit|library|we argue|position)\b", re.I)
KEYWORD_INSIGHT = re.compile(r"\b(?:we find|we show that|analy[sz]\w*|why|understand\w*|insights?|surprising\w*|"
                             r"mechanisms?|explain\w*|fail\w*)\b", re.I)
KEYWORD_SOTA = re.compile(r"\b(?:state[- ]of[- ]the[- ]art|outperform\w*|we propose|novel|improv\w*|achiev\w*)\b", re.I)


def keyword_judge(case: Case) -> tuple[str, float]:
    """A crude rule to beat: kind words in the title or first sentence, then insight words against gain words."""
    opening = case.title + " " + case.abstract[:200]
    insight = len(KEYWORD_INSIGHT.findall(case.abstract + " " + case.title))
    gains = len(KEYWORD_SOTA.findall(case.abstract + " " + case.title))
    score = 1 / (1 + math.exp(-(insight - gains)))
    if KEYWORD_OTHER.search(opening):
        return "other", score
    return ("insight" if insight > gains else "sota"), score


Judge = Callable[[Case], tuple[str, "float | None"]]


# -- figures ---------------------------------------------------------------------------------------------
def balanced_accuracy(truth: list[bool], predicted: list[bool]) -> float | None:
    """Mean of the recall on insight and the recall on the rest (None when one side is empty)."""
    positives = [p for t, p in zip(truth, predicted) if t]
    negatives = [not p for t, p in zip(truth, predicted) if not t]
    if not positives or not negatives:
        return None
    return (sum(positives) / len(positives) + sum(negatives) / len(negatives)) / 2


def roc_auc(truth: list[bool], scores: list[float]) -> float | None:
    """The chance that an insight row scores above a non-insight one (ties count half)."""
    positives = [s for t, s in zip(truth, scores) if t]
    negatives = [s for t, s in zip(truth, scores) if not t]
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@dataclass
class Scored:
    case: Case
    label: str
    score: float | None


def figures(scored: list[Scored]) -> dict:
    """Balanced accuracy insight-vs-not, ROC-AUC of the score (an unjudged item counts 0.5), the 3x3
    confusion matrix (rows: the label, columns: the judge) and the recall on "other"."""
    truth = [s.case.label == "insight" for s in scored]
    confusion = {t: {p: sum(1 for s in scored if s.case.label == t and s.label == p) for p in LABELS} for t in LABELS}
    others = sum(confusion["other"].values())
    return {"rows": len(scored),
            "balanced_accuracy": balanced_accuracy(truth, [s.label == "insight" for s in scored]),
            "roc_auc": roc_auc(truth, [0.5 if s.score is None else s.score for s in scored]),
            "confusion": confusion, "other_recall": (confusion["other"]["other"], others),
            "unjudged": sum(1 for s in scored if s.score is None)}


def subsets(scored: list[Scored]) -> dict[str, list[Scored]]:
    parts = {"all": scored}
    parts.update({f"pool {pool}": [s for s in scored if s.case.pool == pool] for pool in POOLS})
    parts["random draws"] = [s for s in scored if s.case.drawn == "random"]
    parts["hard cases (searched)"] = [s for s in scored if s.case.drawn != "random"]
    parts["medium+low confidence"] = [s for s in scored if s.case.confidence != "high"]
    parts["low confidence"] = [s for s in scored if s.case.confidence == "low"]
    return parts


def run_judge(judge: Judge, all_cases: list[Case]) -> list[Scored]:
    return [Scored(case, *judge(case)) for case in all_cases]


# -- cross-validation of a trainable judge -----------------------------------------------------------------
def folds(all_cases: list[Case], k: int, seed: int = 15) -> list[int]:
    """A fold number per case: seeded shuffle within each label, dealt round-robin (stratified)."""
    rng = random.Random(f"folds:{seed}")
    fold = [0] * len(all_cases)
    for label in LABELS:
        members = [i for i, c in enumerate(all_cases) if c.label == label]
        rng.shuffle(members)
        for n, i in enumerate(members):
            fold[i] = n % k
    return fold


def learned_judge_module():
    """The trainable judge: `train(rows)` (`sabbatical.reading.judge_training`) and `judge(title, body, model)`
    (`sabbatical.reading.judge`), or None in a checkout without them."""
    from types import SimpleNamespace

    try:
        from sabbatical.reading import judge, judge_training
    except ImportError:
        return None
    return SimpleNamespace(train=judge_training.train, judge=judge.judge)


def _judgeable(case: Case) -> bool:
    """Whether the product would judge this text at all (it leaves items with too little text unjudged)."""
    from sabbatical.reading.summary_schema import SourceDocument

    document = SourceDocument(case.id, "paper", case.title, case.abstract, "", "dev")
    return bool(getattr(document, "judgeable", True))


def cross_validated(all_cases: list[Case], k: int, seed: int = 15) -> list[Scored]:
    """Each case judged by a model trained on the other folds only."""
    module = learned_judge_module()
    if module is None:
        raise SystemExit("no trainable judge (sabbatical.reading.judge_training.train) in this checkout; run without --cv")
    fold = folds(all_cases, k, seed)
    scored: list[Scored | None] = [None] * len(all_cases)
    for f in range(k):
        model = module.train([{"title": c.title, "text": c.abstract, "label": c.label, "confidence": c.confidence}
                              for c, n in zip(all_cases, fold) if n != f])
        for i, (case, n) in enumerate(zip(all_cases, fold)):
            if n == f and not _judgeable(case):
                scored[i] = Scored(case, "other", None)
            elif n == f:
                judgement = module.judge(case.title, case.abstract, model)
                scored[i] = Scored(case, KIND_TO_LABEL.get(judgement.kind.value, "other"), judgement.score)
    return [s for s in scored if s is not None]


# -- printing --------------------------------------------------------------------------------------------
def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table(name: str, scored: list[Scored]) -> list[str]:
    """One Markdown table: a row per subset (all, each pool, the lower-confidence labels)."""
    lines = [f"**{name}**", "", "| rows | n | balanced accuracy insight-vs-not | ROC-AUC of the insight score | "
             "\"other\" recall | unjudged |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for part, members in subsets(scored).items():
        if not members:
            continue
        result = figures(members)
        hit, total = result["other_recall"]
        lines.append(f"| {part} | {result['rows']} | {_number(result['balanced_accuracy'])} | "
                     f"{_number(result['roc_auc'])} | {hit}/{total} | {result['unjudged']} |")
    return lines + [""] + confusion_table(figures(scored)["confusion"]) + [""]


def confusion_table(confusion: dict) -> list[str]:
    lines = ["| label \\ judge | " + " | ".join(LABELS) + " |", "| --- |" + " ---: |" * len(LABELS)]
    return lines + [f"| {t} | " + " | ".join(str(confusion[t][p]) for p in LABELS) + " |" for t in LABELS]


def summary_figures(name: str, scored: list[Scored], goals: bool = False) -> list[dict]:
    """The headline figures of one judge, in report.py's shape (for run_all.py); the issue's goals apply to
    a cross-validated judge (`goals`)."""
    result, low = figures(scored), figures([s for s in scored if s.case.confidence != "high"])
    hit, total = result["other_recall"]
    rows = [(f"{name}: balanced accuracy insight-vs-not", result["balanced_accuracy"], 0.85),
            (f"{name}: ROC-AUC of the insight score", result["roc_auc"], None),
            (f"{name}: balanced accuracy on medium+low-confidence labels", low["balanced_accuracy"], 0.75)]
    out = []
    for figure, value, goal in rows:
        entry: dict = {"name": figure, "value": None if value is None else round(value, 3)}
        if goals and goal is not None and value is not None:
            entry.update(goal=f"≥ {goal}", met=value >= goal)
        out.append(entry)
    return out + [{"name": f"{name}: \"other\" recall", "value": f"{hit}/{total}"}]


def dev_set_line(rows: list[dict]) -> str:
    from collections import Counter

    def count(key: str) -> str:
        return ", ".join(f"{value} {n}" for value, n in sorted(Counter(r[key] for r in rows).items()))

    return f"Dev set: {len(rows)} rows; pools: {count('pool')}; labels: {count('label')}; confidence: " \
           f"{count('confidence')}; drawn: {count('drawn')}."


# -- command line ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", type=int, metavar="K", help="also score the trainable judge by K-fold cross-validation")
    parser.add_argument("--seed", type=int, default=15, help="seed of the folds (and of --draw)")
    parser.add_argument("--draw", nargs=2, metavar=("POOL", "N"), help="print a seeded random sample of a pool")
    parser.add_argument("--dev-set", type=Path, default=DEV_SET)
    parser.add_argument("--json", action="store_true", help="one JSON object (for run_all.py)")
    args = parser.parse_args(argv)
    corpus = corpus_dir()
    if args.draw:
        pool, n = args.draw[0], int(args.draw[1])
        for paper in draw(pool_papers(corpus, pool), pool, n, args.seed):
            print(f"{paper.id}\t{paper.title}")
        return 0
    rows = load_dev_set(args.dev_set)
    all_cases = cases(rows, corpus)
    judges = {"keyword rule": run_judge(keyword_judge, all_cases),
              "offline judge (as shipped)": run_judge(offline_judge, all_cases)}
    if args.cv:
        judges[f"learned judge, {args.cv}-fold cross-validated"] = cross_validated(all_cases, args.cv, args.seed)
    if args.json:
        result = {"figures": [f for name, scored in judges.items()
                              for f in summary_figures(name, scored, goals="cross-validated" in name)]}
        print(json.dumps(result))
        return 0
    print(dev_set_line(rows) + "\n")
    for name, scored in judges.items():
        print("\n".join(table(name, scored)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
