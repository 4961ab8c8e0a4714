-- The pile: items with one canonical identity, their aliases and arXiv version history, the sources
-- they came from, links between items, append-only user events, and a full-text index.

-- One row per thing read. `id` is the canonical id: 'arxiv:2310.01405' (no version), 'doi:10.1/x'
-- (lower-case), or a normalised URL. `seq` is a stable integer key for the FTS index (a TEXT primary key
-- alone would leave SQLite free to renumber rowids on VACUUM).
CREATE TABLE items (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL CHECK (kind IN ('paper', 'post', 'page', 'document')),
    title          TEXT NOT NULL DEFAULT '',
    authors        TEXT NOT NULL DEFAULT '[]',        -- JSON array of names
    abstract       TEXT NOT NULL DEFAULT '',
    content        TEXT NOT NULL DEFAULT '',          -- main text (web page, post body, PDF text)
    url            TEXT,                              -- where a person reads it
    published      TEXT,                              -- ISO 8601 date or datetime
    updated        TEXT,
    categories     TEXT NOT NULL DEFAULT '[]',        -- JSON array (arXiv categories, feed tags)
    content_hash   TEXT NOT NULL,                     -- sha256 of title+abstract+content: caches key on it
    private        INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    extra          TEXT NOT NULL DEFAULT '{}',        -- JSON: source-specific fields (journal ref, comment, …)
    first_seen     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_changed   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX items_kind ON items (kind);
CREATE INDEX items_published ON items (published);
CREATE INDEX items_first_seen ON items (first_seen);

-- Every other name an item is known by ('arxiv:2310.01405v2', 'doi:…', a raw or old URL, an old-style id).
CREATE TABLE aliases (
    alias          TEXT PRIMARY KEY,
    item_id        TEXT NOT NULL REFERENCES items (id),
    kind           TEXT NOT NULL                      -- 'arxiv', 'arxiv_version', 'doi', 'url', 'entry'
);
CREATE INDEX aliases_item ON aliases (item_id);

-- arXiv versions as history: each version seen, with the metadata it had.
CREATE TABLE item_versions (
    item_id        TEXT NOT NULL REFERENCES items (id),
    version        INTEGER NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    abstract       TEXT NOT NULL DEFAULT '',
    published      TEXT,
    seen_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (item_id, version)
);

-- Where items come from. Followed sources are refreshed by `read update`; the fetch state makes that
-- incremental (conditional GET, last entry seen).
CREATE TABLE sources (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,                     -- 'feed', 'arxiv_query', 'arxiv_ids', 'oai_pmh', 'url', 'file'
    locator        TEXT NOT NULL,                     -- URL, query, or absolute path
    title          TEXT NOT NULL DEFAULT '',
    followed       INTEGER NOT NULL DEFAULT 0 CHECK (followed IN (0, 1)),
    etag           TEXT,
    last_modified  TEXT,
    last_entry     TEXT,                              -- newest entry id or date seen (or a resumption token)
    last_fetched   TEXT,
    last_status    TEXT,                              -- 'ok', 'not_modified', 'failed', 'partial'
    last_error     TEXT,
    added_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (kind, locator)
);

-- Which sources brought which items (an item remembers every way it arrived).
CREATE TABLE item_sources (
    item_id        TEXT NOT NULL REFERENCES items (id),
    source_id      INTEGER NOT NULL REFERENCES sources (id),
    entry_id       TEXT,                              -- the id/guid the source gave the entry
    first_seen     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (item_id, source_id)
);
CREATE INDEX item_sources_source ON item_sources (source_id);

-- Links between items: a post that mentions a paper.
CREATE TABLE links (
    from_item      TEXT NOT NULL REFERENCES items (id),
    to_item        TEXT NOT NULL REFERENCES items (id),
    kind           TEXT NOT NULL DEFAULT 'mentions',
    PRIMARY KEY (from_item, to_item, kind)
);
CREATE INDEX links_to ON links (to_item);

-- User actions, append-only: triage (keep/star/drop/inbox), notes, tags, topic renames/pins/merges,
-- privacy. Current state is derived from the latest relevant event. `subject` is an item id or 'topic:N'.
CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    subject        TEXT NOT NULL,
    action         TEXT NOT NULL,
    value          TEXT NOT NULL DEFAULT '{}'         -- JSON payload (note text, tag, new name, …)
);
CREATE INDEX events_subject ON events (subject, id);
CREATE INDEX events_action ON events (action, id);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: record a new event instead');
END;

CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: record a new event instead');
END;

CREATE TRIGGER items_are_never_deleted BEFORE DELETE ON items
BEGIN
    SELECT RAISE(ABORT, 'items are never deleted: drop them with `sabbatical pile drop`');
END;

-- Full-text index (BM25) over the item text, kept in sync by triggers.
CREATE VIRTUAL TABLE items_fts USING fts5 (
    title, authors, abstract, content,
    content = 'items', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER items_fts_insert AFTER INSERT ON items
BEGIN
    INSERT INTO items_fts (rowid, title, authors, abstract, content)
    VALUES (new.seq, new.title, new.authors, new.abstract, new.content);
END;

CREATE TRIGGER items_fts_update AFTER UPDATE OF title, authors, abstract, content ON items
BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, authors, abstract, content)
    VALUES ('delete', old.seq, old.title, old.authors, old.abstract, old.content);
    INSERT INTO items_fts (rowid, title, authors, abstract, content)
    VALUES (new.seq, new.title, new.authors, new.abstract, new.content);
END;
