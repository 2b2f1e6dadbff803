-- Version 14 (from 13): collections walked only when their entry changed (issue 24, target 5).
-- collection_walks keeps, per collection, what its last walk of the products feed to the end (or
-- to the 25,000 cap) saw of the collection's /collections.json entry, so that with collections.full_walk_every set a
-- run can leave a collection whose entry did not change (and whose walk is recent) unwalked.

CREATE TABLE collection_walks (
    store_id       INTEGER NOT NULL,
    collection_id  INTEGER NOT NULL,
    updated_at     TEXT,            -- the entry's updated_at as that run listed it (NULL: absent)
    products_count INTEGER,         -- the entry's products_count as that run listed it
    walked_at      TEXT NOT NULL,   -- when that run started (UTC): the walk saw the feed no
                                    -- earlier than this
    run_id         INTEGER NOT NULL,
    PRIMARY KEY (store_id, collection_id),
    FOREIGN KEY (store_id, collection_id) REFERENCES collections(store_id, collection_id)
) WITHOUT ROWID;
