-- Version 9 (from 8), corners: the content hash leaves availability out (it is compared apart,
-- so a product hashes the same from every endpoint, whether or not it states availability);
-- the upgrade recomputes every stored content hash from its stored JSON in this migration's
-- transaction (store/rehash.rs), so the first run after it records no false change. The
-- cursor records the page size its next_page counts in; unusable collections get a quarantine.

-- The page size next_page counts in (NULL for cursors written before: the configured size).
ALTER TABLE sync_cursor ADD COLUMN page_size INTEGER;

-- collection_quarantine: collections /collections.json sent as valid JSON that could not be
-- used (a title null, an id that is not an integer, ...). A quarantined collection with a usable
-- id keeps its last good row and counts as listed by the run (its membership is walked under
-- its stored handle); one without makes the run's collection tombstones inconclusive. One row
-- per collection id (the latest sighting); rows the store no longer sends unusable are removed
-- when a complete run ends.
CREATE TABLE collection_quarantine (
    quarantine_id  INTEGER PRIMARY KEY,
    store_id       INTEGER NOT NULL REFERENCES stores(store_id),
    collection_id  INTEGER,        -- the id as read (integer or string of digits), else NULL
    handle         TEXT,           -- the handle when it is a string, else NULL
    reason         TEXT NOT NULL,  -- what is wrong, naming the collection
    url            TEXT NOT NULL,  -- the /collections.json page it came from
    run_id         INTEGER NOT NULL,
    quarantined_at TEXT NOT NULL,
    raw_json       TEXT NOT NULL   -- the collection JSON exactly as received
);
CREATE INDEX collection_quarantine_by_store ON collection_quarantine(store_id, collection_id);
