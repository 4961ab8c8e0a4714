-- Organising the pile: item embeddings, the fitted embedder per pile, topics and topic assignments.
CREATE TABLE embeddings (
    item_id        TEXT NOT NULL REFERENCES items (id),
    model          TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    dim            INTEGER NOT NULL,
    vector         BLOB NOT NULL,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (item_id, model)
);
