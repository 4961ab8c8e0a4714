-- Summaries and judgements, versioned by (content hash, prompt version, model), and the log of every
-- LLM call. Old summaries are kept when a new prompt version or model is run.

CREATE TABLE summaries (
    id              INTEGER PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items (id),
    content_hash    TEXT NOT NULL,
    prompt_version  TEXT NOT NULL,
    model           TEXT NOT NULL,                    -- e.g. 'gpt-4o-mini', or 'offline-extractive'
    producer        TEXT NOT NULL CHECK (producer IN ('offline', 'llm')),
    status          TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    data            TEXT,                             -- the validated summary as JSON (NULL when failed)
    tldr            TEXT,
    contribution    TEXT,                             -- new_insight, new_method, sota_increment, dataset_benchmark,
                                                      -- tool_system, survey, position, other
    insight_score   REAL,
    quotes_total    INTEGER NOT NULL DEFAULT 0,
    quotes_verified INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (item_id, content_hash, prompt_version, model)
);
CREATE INDEX summaries_item ON summaries (item_id, status, id);

CREATE TABLE llm_calls (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    purpose         TEXT NOT NULL,                    -- 'summarise', 'topic_label', 'embed', 'alt_text', 'compare'
    provider        TEXT NOT NULL,                    -- host of the endpoint, or 'offline'
    model           TEXT NOT NULL,
    prompt_version  TEXT,
    item_id         TEXT,
    input_hash      TEXT,
    structured_mode TEXT,                             -- 'json_schema', 'json_object', NULL
    tokens_in       INTEGER NOT NULL DEFAULT 0,
    tokens_out      INTEGER NOT NULL DEFAULT 0,
    latency_ms      REAL,
    cost_usd        REAL,
    status          TEXT NOT NULL,                    -- 'ok', 'invalid', 'http_error', 'timeout', 'budget'
    error           TEXT,
    attempt         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX llm_calls_item ON llm_calls (item_id);
CREATE INDEX llm_calls_at ON llm_calls (at);
