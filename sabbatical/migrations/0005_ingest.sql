-- Ingest bookkeeping: which kind of source last wrote an item's metadata. Sources rank by how
-- authoritative their metadata is (arXiv metadata > BibTeX > a feed entry or web page > a bare link), and
-- a weaker source never overwrites what a stronger one wrote, so re-reading a feed cannot churn a paper's
-- abstract back and forth.
ALTER TABLE items ADD COLUMN metadata_from TEXT NOT NULL DEFAULT '';
