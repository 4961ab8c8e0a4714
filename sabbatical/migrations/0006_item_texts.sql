-- Earlier texts of an item: whenever a read replaces an item's title, abstract, main text or URL, the
-- values it had are kept here first, with the source that had written them and the one that replaced
-- them. Nothing is lost when a stronger source (the page itself, the arXiv record) brings better text.
-- Rows are never changed or deleted.
CREATE TABLE item_texts (
    id             INTEGER PRIMARY KEY,
    item_id        TEXT NOT NULL REFERENCES items (id),
    title          TEXT NOT NULL DEFAULT '',
    abstract       TEXT NOT NULL DEFAULT '',
    content        TEXT NOT NULL DEFAULT '',
    url            TEXT,
    content_hash   TEXT NOT NULL,                     -- of the text kept here (summaries made from it key on it)
    written_by     TEXT NOT NULL DEFAULT '',          -- metadata_from of the source that had written it
    replaced_by    TEXT NOT NULL DEFAULT '',          -- metadata_from of the source that replaced it
    replaced_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX item_texts_item ON item_texts (item_id, id);

CREATE TRIGGER item_texts_are_kept_update BEFORE UPDATE ON item_texts
BEGIN
    SELECT RAISE(ABORT, 'earlier texts are kept as they were');
END;

CREATE TRIGGER item_texts_are_kept_delete BEFORE DELETE ON item_texts
BEGIN
    SELECT RAISE(ABORT, 'earlier texts are kept as they were');
END;
