-- Version 4 (from 3): a run records the store URL it enumerates (credentials removed), so a cursor is
-- only resumed on that URL, and a run left behind by a URL change is recorded as 'abandoned'.
-- sync_runs is rebuilt because its status CHECK gains 'abandoned'.
CREATE TABLE sync_runs_new (
    run_id             INTEGER PRIMARY KEY,
    store_id           INTEGER NOT NULL REFERENCES stores(store_id),
    started_at         TEXT NOT NULL,
    finished_at        TEXT,
    status             TEXT NOT NULL CHECK (status IN
                           ('running', 'interrupted', 'failed', 'complete', 'capped',
                            'abandoned')),
    pages              INTEGER NOT NULL DEFAULT 0,
    requests           INTEGER NOT NULL DEFAULT 0,
    products_new       INTEGER NOT NULL DEFAULT 0,
    products_changed   INTEGER NOT NULL DEFAULT 0,
    products_unchanged INTEGER NOT NULL DEFAULT 0,
    products_deleted   INTEGER NOT NULL DEFAULT 0,
    products_restored  INTEGER NOT NULL DEFAULT 0,
    listing_capped     INTEGER NOT NULL DEFAULT 0,
    resumes            INTEGER NOT NULL DEFAULT 0,
    error              TEXT,
    retries            INTEGER NOT NULL DEFAULT 0,
    wait_ms            INTEGER NOT NULL DEFAULT 0,
    breaker_state      TEXT,
    quarantined        INTEGER NOT NULL DEFAULT 0,
    deletions_inconclusive INTEGER NOT NULL DEFAULT 0,
    base_url           TEXT
);
-- Runs from before this version were made for the store's URL as it was then: the current one.
INSERT INTO sync_runs_new
SELECT r.run_id, r.store_id, r.started_at, r.finished_at, r.status, r.pages, r.requests,
       r.products_new, r.products_changed, r.products_unchanged, r.products_deleted,
       r.products_restored, r.listing_capped, r.resumes, r.error, r.retries, r.wait_ms,
       r.breaker_state, r.quarantined, r.deletions_inconclusive, s.base_url
FROM sync_runs r JOIN stores s USING (store_id);
DROP TABLE sync_runs;
ALTER TABLE sync_runs_new RENAME TO sync_runs;
CREATE INDEX sync_runs_by_store ON sync_runs(store_id, run_id);
