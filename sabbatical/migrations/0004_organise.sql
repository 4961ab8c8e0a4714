-- Organising the pile: item embeddings, the fitted embedder of each pile, stable topics, the topic each
-- item sits in, and a record of every organise run. All of this is machine state derived from the items
-- and the events; the user's own decisions (triage, notes, tags, topic renames/pins/merges) stay in
-- `events`.

-- The embedders this pile has used. `model` names one embedding space: 'tfidf-svd/3' is the third fit of
-- the offline TF-IDF + SVD embedder; 'minilm/all-MiniLM-L6-v2' and 'openai/<model>' are pretrained.
-- A fitted embedder keeps its state here (vocabulary, idf weights, SVD components as a NumPy .npz
-- archive, never a pickle), so the pile file carries everything needed to embed new text the same way.
CREATE TABLE embedders (
    model          TEXT PRIMARY KEY,
    backend        TEXT NOT NULL,                     -- 'tfidf', 'minilm', 'openai'
    dim            INTEGER NOT NULL,
    state          BLOB,                              -- .npz of the fitted state (tfidf), NULL when pretrained
    fitted_on      INTEGER NOT NULL DEFAULT 0,        -- how many items the fit saw
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- One vector per item and embedding space: float32, L2-normalised, `dim` long. An item whose
-- content_hash is unchanged is never embedded again in the same space.
CREATE TABLE embeddings (
    item_id        TEXT NOT NULL REFERENCES items (id),
    model          TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    dim            INTEGER NOT NULL,
    vector         BLOB NOT NULL,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (item_id, model)
);
CREATE INDEX embeddings_model ON embeddings (model);

-- Topics. Ids are never reused (AUTOINCREMENT), so 'topic:7' means one thing forever. `label` is the
-- machine's name (keywords, or an LLM-written label); a user's rename is an event and wins.
-- `centroid` lives in the space of `model`; an item joins the nearest topic only when its cosine
-- similarity reaches `radius`, else it stays unsorted.
CREATE TABLE topics (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    label          TEXT NOT NULL DEFAULT '',
    label_source   TEXT NOT NULL DEFAULT 'keywords' CHECK (label_source IN ('keywords', 'llm')),
    keywords       TEXT NOT NULL DEFAULT '[]',        -- JSON array, most distinctive first
    model          TEXT NOT NULL,
    centroid       BLOB NOT NULL,                     -- float32, L2-normalised
    radius         REAL NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'retired')),
    merged_into    INTEGER REFERENCES topics (id),
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Where each organised item sits now. topic_id NULL = unsorted (nothing was close enough).
-- `how`: 'fit' (first organise), 'join' (a later item joined), 'refit', 'merge' (a user's merge).
CREATE TABLE item_topics (
    item_id        TEXT PRIMARY KEY REFERENCES items (id),
    topic_id       INTEGER REFERENCES topics (id),
    similarity     REAL NOT NULL,
    how            TEXT NOT NULL,
    assigned_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX item_topics_topic ON item_topics (topic_id);

-- Every `pile organise`, for `pile topics` and `pile stats`.
CREATE TABLE organise_runs (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    mode           TEXT NOT NULL,                     -- 'fit', 'increment', 'refit'
    model          TEXT NOT NULL,
    items_embedded INTEGER NOT NULL DEFAULT 0,
    items_placed   INTEGER NOT NULL DEFAULT 0,
    topics         INTEGER NOT NULL DEFAULT 0,
    unsorted       INTEGER NOT NULL DEFAULT 0,
    seconds        REAL NOT NULL DEFAULT 0
);
