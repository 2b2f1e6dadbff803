-- shopmirror schema: the current version, as a new database gets it (PRAGMA user_version
-- records the version; migrations/ holds the steps that bring older files here).
--
-- Conventions
--   * Timestamps that shopmirror records (seen, changed, deleted, run times) are UTC text in
--     SQLite's own format 'YYYY-MM-DD HH:MM:SS', so they compare directly with
--     datetime('now', '-7 days'). Timestamps the store sent (published_at, created_at) are kept
--     exactly as sent (RFC 3339 with the store's offset).
--   * Money: `price` is the decimal string exactly as the store sent it ("19.99") with the
--     product's content as last written; `price_cents` is the same amount as an exact integer in
--     hundredths, for arithmetic and comparisons. compare_at_price: null, "" and "0.00" all mean
--     "no compare-at price" and give NULL cents. A change of representation only ("10.00" to
--     "10", or between null, "" and "0.00") is not a content change: the product is not
--     rewritten and the earlier text stays until a real change rewrites it.
--   * Nothing is ever hard-deleted: a product that leaves the store gets `deleted_at`; one that
--     comes back has it cleared again.
--   * `written_run` on variants, images and options is the sync run that last (re)wrote the row:
--     an unchanged product keeps its rows and their written_run untouched.

-- stores: every store shopmirror has synced, by configured name (or host for URL targets).
CREATE TABLE stores (
    store_id      INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    base_url      TEXT NOT NULL,
    added_at      TEXT NOT NULL,
    next_sync_at  TEXT,            -- the daemon's next planned sync (UTC), NULL when unknown
    breaker_state TEXT NOT NULL DEFAULT 'closed', -- circuit breaker: closed, open, half-open
    last_error    TEXT             -- the last failure, one line, NULL after a success
);

-- sync_runs: one row per sync run of one store, with what it found.
CREATE TABLE sync_runs (
    run_id             INTEGER PRIMARY KEY,
    store_id           INTEGER NOT NULL REFERENCES stores(store_id),
    started_at         TEXT NOT NULL,
    finished_at        TEXT,
    -- running: in progress (or the process died); interrupted: stopped by a signal;
    -- failed: a page or request failed (the next run resumes it); complete: whole catalogue
    -- enumerated (the listing, or a capped listing completed through the sitemap) and
    -- deletions checked (unless deletions_inconclusive; products seen before a resume count
    -- as seen, so one deleted during an interruption is tombstoned by the next run); capped:
    -- finished, but /products.json hit Shopify's 25,000 listing cap and the sitemap could not
    -- complete it, so deletions were not checked; abandoned: left unfinished because the
    -- store's URL changed (the next run starts afresh on the new URL).
    status             TEXT NOT NULL CHECK (status IN
                           ('running', 'interrupted', 'failed', 'complete', 'capped',
                            'abandoned')),
    pages              INTEGER NOT NULL DEFAULT 0,  -- pages written by this run
    requests           INTEGER NOT NULL DEFAULT 0,  -- HTTP requests made by this run
    products_new       INTEGER NOT NULL DEFAULT 0,
    products_changed   INTEGER NOT NULL DEFAULT 0,
    products_unchanged INTEGER NOT NULL DEFAULT 0,
    products_deleted   INTEGER NOT NULL DEFAULT 0,
    products_restored  INTEGER NOT NULL DEFAULT 0,  -- tombstoned products seen alive again
    listing_capped     INTEGER NOT NULL DEFAULT 0,  -- 1 when /products.json answered the cap
                                                    -- (kept as a record when the run completes)
    resumes            INTEGER NOT NULL DEFAULT 0,  -- times the run was resumed from its cursor
    error              TEXT,                        -- why the run failed, one line
    retries            INTEGER NOT NULL DEFAULT 0,  -- requests repeated after a transient failure
                                                    -- (not included in `requests`)
    wait_ms            INTEGER NOT NULL DEFAULT 0,  -- time spent in backoff, Retry-After and
                                                    -- open-breaker waits, milliseconds
    breaker_state      TEXT,                        -- the store's circuit breaker when the run
                                                    -- ended: closed, open, half-open
    quarantined        INTEGER NOT NULL DEFAULT 0,  -- unusable products put in quarantine
    deletions_inconclusive INTEGER NOT NULL DEFAULT 0, -- 1 when a quarantined product had no
                                                    -- usable id, so this run could not tell
                                                    -- which products it saw: no product was
                                                    -- tombstoned (and, from then on, no
                                                    -- collection member removed)
    base_url           TEXT,                        -- the store URL (credentials removed) the run
                                                    -- enumerates; its cursor is only resumed there
    -- requests by source (they add up to `requests`): listing pages; collections
    -- (/collections.json, collection feeds and their 404 checks); sitemap files; single products
    -- (/products/{handle}.json and .js); deletion checks
    requests_listing     INTEGER NOT NULL DEFAULT 0,
    requests_collections INTEGER NOT NULL DEFAULT 0,
    requests_sitemap     INTEGER NOT NULL DEFAULT 0,
    requests_single      INTEGER NOT NULL DEFAULT 0,
    requests_deletions   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_by_store ON sync_runs(store_id, run_id);

-- sync_cursor: where the unfinished run of a store resumes. Written in the same transaction as
-- the page it marks done, so it is never ahead of the rows. Removed when the run finishes.
CREATE TABLE sync_cursor (
    store_id  INTEGER PRIMARY KEY REFERENCES stores(store_id),
    run_id    INTEGER NOT NULL REFERENCES sync_runs(run_id),
    -- products, collections, collection_products, sitemap, deletions (run in this order;
    -- the collection phases only when enabled, sitemap only when the listing was capped)
    phase     TEXT NOT NULL,
    -- products / collections / collection_products phase: the next page to fetch
    next_page INTEGER NOT NULL,
    -- deletions: the lowest product_id not checked yet; sitemap: product <url> entries of the
    -- current product sitemap already handled; collection_products: collection_id being paged
    -- (lower ids are done). Both id cursors start at the smallest integer, so ids of 0 and
    -- below are walked like any other.
    position  INTEGER NOT NULL DEFAULT 0,
    -- sitemap phase: ordinal (0-based) of the product sitemap, in /sitemap.xml order, in progress
    sitemap_index INTEGER NOT NULL DEFAULT 0,
    -- 1 when the listing was capped and the sitemap was walked to its end: the enumeration
    -- is complete as a whole, so deletions may be checked
    sitemap_complete INTEGER NOT NULL DEFAULT 0,
    -- the page size next_page counts in (the item to resume at is (next_page - 1) * page_size,
    -- whatever sync.page_size is now); NULL for cursors written before it was recorded
    page_size INTEGER
);

-- products: the current catalogue, one row per (store, product id), tombstoned when gone.
-- The large column (raw_json) comes last among those written, so that reading the small ones
-- never walks a row's overflow pages. body_html is not stored: it is read out of raw_json.
CREATE TABLE products (
    store_id           INTEGER NOT NULL REFERENCES stores(store_id),
    product_id         INTEGER NOT NULL,
    content_hash       TEXT NOT NULL,  -- sha256 (hex) of the product's real content (not its
                                       -- availability, compared apart: see variants.available)
    deleted_at         TEXT,           -- set when the product is confirmed gone: its handle
                                       -- answers 404, or answered another product in two
                                       -- complete runs that did not see it
    first_seen_at      TEXT NOT NULL,
    content_changed_at TEXT NOT NULL,  -- when this content was first observed
    written_run        INTEGER NOT NULL, -- run that last wrote the content
    handle             TEXT NOT NULL,
    title              TEXT NOT NULL,
    vendor             TEXT NOT NULL,
    product_type       TEXT NOT NULL,
    tags               TEXT NOT NULL,  -- JSON array of strings, sorted
    published_at       TEXT,           -- as the store sent it
    created_at         TEXT,           -- as the store sent it
    -- the product's "body_html" as the store sent it ('' when absent or null), computed from
    -- raw_json when read (VIRTUAL: no byte of it is stored twice)
    body_html          TEXT NOT NULL GENERATED ALWAYS AS
                           (coalesce(body_html_stored, json_extract(raw_json, '$.body_html'), ''))
                           VIRTUAL,
    raw_json           TEXT NOT NULL,  -- the product JSON exactly as received with this content
    -- the endpoint that supplied the stored content: 'listing' (/products.json), 'collection'
    -- (a collection's products feed) or 'single' (/products/{handle}.json); NULL for rows
    -- written before shopmirror recorded it
    source             TEXT,
    -- where variants.available came from: 'product' (the product JSON itself), 'js' (the Ajax
    -- /products/{handle}.js, used only when its prices equal the .json prices), NULL unknown;
    -- an answer silent on availability keeps the last stated values and this source
    availability_source TEXT,
    -- 1 when the variant list had exactly 100 entries: Shopify may have cut it there, so
    -- variants leaving or entering that view are not recorded as removed or added
    variants_truncated INTEGER NOT NULL DEFAULT 0,
    -- a copy of body_html only where json_extract cannot give it back byte for byte: a body
    -- holding a NUL character (json_extract stops at it in some SQLite versions); NULL otherwise
    body_html_stored   TEXT,
    PRIMARY KEY (store_id, product_id)
);
CREATE INDEX products_by_handle ON products(store_id, handle);
-- live and deleted products per store, counted from the index alone (status, stores list)
CREATE INDEX products_by_state ON products(store_id, deleted_at);
CREATE INDEX products_truncated ON products(store_id, deleted_at) WHERE variants_truncated = 1;

-- product_seen: when each product was last seen, kept out of the wide products row so that an
-- unchanged product costs one update of a narrow row (about a hundred to a page) and no write
-- in products. Written in the same transaction as the page that saw the product, so a resumed
-- run knows what it has seen. raw_hash is a 64-bit hash of the product's JSON as last received
-- with `updated_at` values left out: a later copy with the same raw hash is unchanged without
-- being parsed; any other copy is parsed and its content_hash decides. NULL when unknown.
CREATE TABLE product_seen (
    store_id      INTEGER NOT NULL,
    product_id    INTEGER NOT NULL,
    last_seen_run INTEGER NOT NULL,
    last_seen_at  TEXT NOT NULL,
    raw_hash      INTEGER,
    PRIMARY KEY (store_id, product_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products(store_id, product_id)
) WITHOUT ROWID;

-- variants: current variants of each product, keyed by their product: a store can show one
-- variant id under two products (a move caught mid-crawl), and each product's rows are
-- exactly the variants of its stored content.
CREATE TABLE variants (
    store_id               INTEGER NOT NULL,
    variant_id             INTEGER NOT NULL,
    product_id             INTEGER NOT NULL,
    position               INTEGER NOT NULL,
    title                  TEXT NOT NULL,
    option1                TEXT,
    option2                TEXT,
    option3                TEXT,
    sku                    TEXT,     -- NULL when the store sent null or ""
    price                  TEXT NOT NULL, -- decimal string as sent with the content as last
                                          -- written (text-only changes keep it, see above)
    price_cents            INTEGER NOT NULL,
    compare_at_price       TEXT,     -- string as sent with that content (null, "", "0.00" as
                                     -- sent then; a change among them alone keeps it)
    compare_at_price_cents INTEGER,  -- NULL when there is no compare-at price
    available              INTEGER,  -- 1/0 as last stated by the store (an answer that does not
                                     -- state it keeps the earlier value); NULL when never stated
    requires_shipping      INTEGER,
    taxable                INTEGER,
    grams                  INTEGER,
    featured_image_id      INTEGER,
    written_run            INTEGER NOT NULL,
    PRIMARY KEY (store_id, product_id, variant_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products(store_id, product_id)
);
-- a store's variants by availability, in price order (the cheapest in stock, out of stock)
CREATE INDEX variants_by_availability ON variants(store_id, available, price_cents);

-- images: current images of each product. Real stores reuse one image id in several products,
-- so an image is keyed by its product too.
CREATE TABLE images (
    store_id    INTEGER NOT NULL,
    image_id    INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    src         TEXT NOT NULL,
    width       INTEGER,
    height      INTEGER,
    variant_ids TEXT NOT NULL,  -- JSON array of variant ids shown by this image
    written_run INTEGER NOT NULL,
    PRIMARY KEY (store_id, product_id, image_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products(store_id, product_id)
);

-- options: a product's options (Size, Color, ...) with their values in order.
CREATE TABLE options (
    store_id    INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,  -- as sent: stores mix "Size" and "size"
    option_values TEXT NOT NULL, -- JSON array of strings
    written_run INTEGER NOT NULL,
    PRIMARY KEY (store_id, product_id, position),
    FOREIGN KEY (store_id, product_id) REFERENCES products(store_id, product_id)
);

-- product_versions: every version of every product: a new one for each change of its content
-- or of the availability its JSON states (availability is outside content_hash, so two
-- versions in a row can share a hash). The current version has
-- last_observed_at NULL (see product_seen.last_seen_at) and raw_json NULL (see products.raw_json);
-- both are filled in when a newer version supersedes it.
CREATE TABLE product_versions (
    version_id        INTEGER PRIMARY KEY,
    store_id          INTEGER NOT NULL,
    product_id        INTEGER NOT NULL,
    content_hash      TEXT NOT NULL,
    first_observed_at TEXT NOT NULL,
    last_observed_at  TEXT,
    raw_json          TEXT,
    run_id            INTEGER NOT NULL
);
CREATE INDEX product_versions_by_product ON product_versions(store_id, product_id, version_id);

-- product_events: one row each time a product is added, changed, deleted or restored.
CREATE TABLE product_events (
    event_id    INTEGER PRIMARY KEY,
    store_id    INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('added', 'changed', 'deleted', 'restored')),
    observed_at TEXT NOT NULL,
    run_id      INTEGER NOT NULL
);
CREATE INDEX product_events_by_time ON product_events(store_id, observed_at);
CREATE INDEX product_events_by_product ON product_events(store_id, product_id);
CREATE INDEX product_events_by_observed ON product_events(observed_at);
CREATE INDEX product_events_by_run ON product_events(run_id);

-- variant_changes: one row per change of a variant's price, compare-at price or availability
-- (between two stated values), and per variant added to or removed from an existing product
-- (a variant moving between products: removed from one, added to the other). Prices are kept as
-- the store wrote them (old_value, new_value) and in cents (old_cents, new_cents; NULL for
-- availability rows, whose values are '1'/'0').
CREATE TABLE variant_changes (
    change_id   INTEGER PRIMARY KEY,
    store_id    INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
    variant_id  INTEGER NOT NULL,
    field       TEXT NOT NULL CHECK (field IN
                    ('price', 'compare_at_price', 'available', 'variant_added', 'variant_removed')),
    old_value   TEXT,
    new_value   TEXT,
    observed_at TEXT NOT NULL,
    run_id      INTEGER NOT NULL,
    old_cents   INTEGER,
    new_cents   INTEGER
);
CREATE INDEX variant_changes_by_product ON variant_changes(store_id, product_id, change_id);
CREATE INDEX variant_changes_by_time ON variant_changes(store_id, observed_at);
CREATE INDEX variant_changes_by_observed ON variant_changes(observed_at);

-- collections: every collection of a store seen in /collections.json, tombstoned when gone.
CREATE TABLE collections (
    store_id      INTEGER NOT NULL REFERENCES stores(store_id),
    collection_id INTEGER NOT NULL,
    handle        TEXT NOT NULL,
    title         TEXT NOT NULL,
    body_html     TEXT,            -- NULL when the store did not send it
    published_at  TEXT,            -- as the store sent it
    sort_order    TEXT,            -- Shopify's sort order name ("manual", "best-selling", ...)
    raw_json      TEXT NOT NULL,   -- the collection JSON exactly as last received
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    last_seen_run INTEGER NOT NULL,
    deleted_at    TEXT,            -- set when a complete enumeration confirms it gone: its feed
                                   -- answers 404, or the run listed another collection under
                                   -- its handle (deleted and re-created); cleared when listed
    PRIMARY KEY (store_id, collection_id)
);
CREATE INDEX collections_by_handle ON collections(store_id, handle);

-- collection_products: current membership of products in collections, in the collection's
-- own order. A row leaves when a complete walk of its collection no longer lists the product
-- (see collection_changes); rows of a tombstoned collection stay as they were last seen.
CREATE TABLE collection_products (
    store_id      INTEGER NOT NULL,
    collection_id INTEGER NOT NULL,
    product_id    INTEGER NOT NULL,
    position      INTEGER NOT NULL, -- 1-based place in the collection's order when last seen
    first_seen_at TEXT NOT NULL,
    last_seen_run INTEGER NOT NULL,
    PRIMARY KEY (store_id, collection_id, product_id),
    FOREIGN KEY (store_id, collection_id) REFERENCES collections(store_id, collection_id)
) WITHOUT ROWID;
CREATE INDEX collection_products_by_product ON collection_products(store_id, product_id);
-- members in the collection's order (export --collection, collection_contents)
CREATE INDEX collection_products_by_position
    ON collection_products(store_id, collection_id, position);

-- collection_changes: one row each time a product is observed entering or leaving a collection.
CREATE TABLE collection_changes (
    change_id     INTEGER PRIMARY KEY,
    store_id      INTEGER NOT NULL,
    collection_id INTEGER NOT NULL,
    product_id    INTEGER NOT NULL,
    change        TEXT NOT NULL CHECK (change IN ('added', 'removed')),
    observed_at   TEXT NOT NULL,
    run_id        INTEGER NOT NULL
);
CREATE INDEX collection_changes_by_collection
    ON collection_changes(store_id, collection_id, change_id);
CREATE INDEX collection_changes_by_time ON collection_changes(store_id, observed_at);
CREATE INDEX collection_changes_by_observed ON collection_changes(observed_at);

-- collection_walks: what the last walk of each collection's products feed to its end (or to the
-- 25,000 cap: all the feed shows) saw of the collection's /collections.json entry. With
-- collections.full_walk_every set, a run walks a collection only when its entry (updated_at,
-- products_count) differs from this row, or there is no row, or walked_at is older than
-- full_walk_every, or it holds a product the run has not seen. A walk interrupted, cut by a
-- 404, or made inconclusive by a product without a usable id writes no row.
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

-- quarantine: products a store sent as valid JSON that could not be used (no variants, images
-- null, an id sent as a string, ...). The rest of the page and of the run is mirrored. A
-- quarantined product with a usable id counts as seen (it is never tombstoned for being
-- unreadable; its last good content stays in products); one without a usable id makes the
-- run's deletions inconclusive (sync_runs.deletions_inconclusive). One row per product id (the
-- latest sighting); rows of products the store no longer sends unusable are removed when a
-- complete run ends.
CREATE TABLE quarantine (
    quarantine_id  INTEGER PRIMARY KEY,
    store_id       INTEGER NOT NULL REFERENCES stores(store_id),
    product_id     INTEGER,        -- the id as read (integer or string of digits), else NULL
    handle         TEXT,           -- the handle when it is a string, else NULL
    reason         TEXT NOT NULL,  -- what is wrong, naming the product
    url            TEXT NOT NULL,  -- the page or product URL it came from
    run_id         INTEGER NOT NULL,
    quarantined_at TEXT NOT NULL,
    raw_json       TEXT NOT NULL   -- the product JSON exactly as received
);
CREATE INDEX quarantine_by_store ON quarantine(store_id, product_id);

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

-- product_search: a full-text index (FTS5) over every product's title, handle and vendor, for
-- the web pages' search, changed in the same transaction as the rows it indexes: the writer
-- indexes the products each write added in one statement at the write's end
-- (store/search_index.rs; a trigger per row made FTS5 flush on every insert), and the triggers
-- below follow renames and removals.
-- product_search_keys gives each (store, product) the stable rowid of its index row. Deleted
-- products stay indexed (their pages still exist). SKUs are found through variants_by_sku.
-- Products of one store whose title, handle or vendor have words starting 'blue' and 'shirt':
--   SELECT p.* FROM product_search f
--   JOIN product_search_keys k ON k.search_id = f.rowid
--   JOIN products p USING (store_id, product_id)
--   WHERE product_search MATCH '"blue"* "shirt"*' ORDER BY rank;
CREATE TABLE product_search_keys (
    search_id  INTEGER PRIMARY KEY,
    store_id   INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    UNIQUE (store_id, product_id)
);
CREATE VIRTUAL TABLE product_search USING fts5(
    title, handle, vendor, store_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE INDEX variants_by_sku ON variants(sku COLLATE NOCASE) WHERE sku IS NOT NULL;
-- products_deleted: the few tombstoned products of a store, so live counts are the store's
-- total (from its primary key) minus these, without reading every products row, and the
-- writer tells which products of a page are tombstoned without reading their rows.
CREATE INDEX products_deleted ON products(store_id, product_id) WHERE deleted_at IS NOT NULL;

CREATE TRIGGER product_search_renamed AFTER UPDATE OF title, handle, vendor ON products
WHEN old.title IS NOT new.title OR old.handle IS NOT new.handle OR old.vendor IS NOT new.vendor
BEGIN
    UPDATE product_search SET title = new.title, handle = new.handle, vendor = new.vendor
    WHERE rowid = (SELECT search_id FROM product_search_keys
                   WHERE store_id = new.store_id AND product_id = new.product_id);
END;
CREATE TRIGGER product_search_forgotten AFTER DELETE ON products BEGIN
    DELETE FROM product_search_keys WHERE store_id = old.store_id AND product_id = old.product_id;
END;
CREATE TRIGGER product_search_key_removed AFTER DELETE ON product_search_keys BEGIN
    DELETE FROM product_search WHERE rowid = old.search_id;
END;

-- alert_outbox: one row per (rule, sink, change) that matched a rule, written in the same
-- transaction as the change it announces, with the body rendered then (a retry sends the same
-- bytes) and a stable message id (the `webhook-id`). Rows are delivered in alert_id order per
-- sink; delivered rows are removed after the retention (alerts.retention).
CREATE TABLE alert_outbox (
    alert_id        INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,  -- msg_<random>: the webhook-id of every attempt
    rule            TEXT NOT NULL,
    sink            TEXT NOT NULL,
    source          TEXT NOT NULL,         -- the change row: variant_change:<change_id> or
                                           -- product_event:<event_id>
    store_id        INTEGER NOT NULL,
    product_id      INTEGER NOT NULL,
    variant_id      INTEGER,               -- NULL for product events
    event           TEXT NOT NULL,         -- the type as sent, e.g. variant.price_dropped
    body            TEXT NOT NULL,         -- the request body, rendered once
    created_at      TEXT NOT NULL,
    -- pending: to be sent (maybe after next_attempt_at); delivered: a 2xx answered; dead: a 4xx
    -- refused it or the retries ran out (`alerts retry` makes it pending again)
    state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- failed attempts (a 429 spends none)
    next_attempt_at TEXT NOT NULL,         -- UTC with milliseconds; due when in the past
    last_error      TEXT,                  -- the last failure, one line
    delivered_at    TEXT,
    UNIQUE (rule, sink, source)
);
CREATE INDEX alert_outbox_queue ON alert_outbox(sink, state, alert_id);
CREATE INDEX alert_outbox_cooldown ON alert_outbox(rule, store_id, product_id, variant_id);

-- alert_sinks: delivery state of each sink that ever had a row. paused: NULL (delivering),
-- 'gone' (it answered 410, or Discord 404) or 'suspended' (failing for alerts.suspend_after);
-- `alerts resume SINK` clears it. failing_since: the first failure since the last success.
CREATE TABLE alert_sinks (
    sink          TEXT PRIMARY KEY,
    paused        TEXT CHECK (paused IN ('gone', 'suspended')),
    paused_at     TEXT,
    failing_since TEXT,
    last_error    TEXT
);

-- Views for everyday questions ---------------------------------------------------------------

-- current_products: the live catalogue with its store's name.
CREATE VIEW current_products AS
SELECT s.name AS store, p.*, ps.last_seen_run, ps.last_seen_at
FROM products p JOIN stores s USING (store_id)
JOIN product_seen ps ON ps.store_id = p.store_id AND ps.product_id = p.product_id
WHERE p.deleted_at IS NULL;

-- current_variants: live variants with product title and handle.
CREATE VIEW current_variants AS
SELECT s.name AS store, p.handle, p.title AS product_title, v.*
FROM variants v
JOIN products p USING (store_id, product_id)
JOIN stores s USING (store_id)
WHERE p.deleted_at IS NULL;

-- price_changes: every observed price change, with the change in cents.
-- Price drops in the last 7 days:
--   SELECT * FROM price_changes WHERE new_cents < old_cents
--     AND observed_at >= datetime('now', '-7 days');
CREATE VIEW price_changes AS
SELECT s.name AS store, c.product_id, p.handle, c.variant_id, c.old_value AS old_price,
       c.new_value AS new_price, c.old_cents, c.new_cents, c.observed_at, c.run_id
FROM variant_changes c
JOIN stores s USING (store_id)
LEFT JOIN products p USING (store_id, product_id)
WHERE c.field = 'price';

-- price_drops: every observed price decrease, newest first when ordered by observed_at.
-- Price drops in the last N days (here 7; a view cannot take N):
--   SELECT * FROM price_drops WHERE observed_at >= datetime('now', '-7 days')
--   ORDER BY observed_at DESC;
CREATE VIEW price_drops AS
SELECT * FROM price_changes WHERE new_cents < old_cents;

-- variant_history: one row per change of a variant's price, compare-at price or availability
-- (and per variant added to or removed from an existing product), with old and new value as
-- text ('19.99'; compare-at NULL when there is none; available '1'/'0'), prices also in cents,
-- and when observed.
-- Changes of one product, newest first:
--   SELECT * FROM variant_history WHERE store = 'shop' AND handle = 'some-handle'
--   ORDER BY observed_at DESC, change_id DESC;
CREATE VIEW variant_history AS
SELECT s.name AS store, c.change_id, c.product_id, p.handle, c.variant_id,
       v.title AS variant_title, c.field, c.old_value, c.new_value, c.old_cents, c.new_cents,
       c.observed_at, c.run_id
FROM variant_changes c
JOIN stores s USING (store_id)
LEFT JOIN products p USING (store_id, product_id)
LEFT JOIN variants v USING (store_id, product_id, variant_id);

-- out_of_stock_variants: live variants the store marks unavailable.
CREATE VIEW out_of_stock_variants AS
SELECT * FROM current_variants WHERE available = 0;

-- product_changes: added / changed / deleted / restored products with their store and handle.
-- Products added since a date:
--   SELECT * FROM product_changes WHERE event = 'added' AND observed_at >= '2026-11-01';
-- Products removed (confirmed gone) since a date:
--   SELECT * FROM product_changes WHERE event = 'deleted' AND observed_at >= '2026-11-01';
-- (see also products_added and products_removed below)
CREATE VIEW product_changes AS
SELECT s.name AS store, e.product_id, p.handle, p.title, e.event, e.observed_at, e.run_id
FROM product_events e
JOIN stores s USING (store_id)
LEFT JOIN products p USING (store_id, product_id);

-- products_added: products that first appeared (event 'added'), when observed.
-- Added since a date:  SELECT * FROM products_added WHERE observed_at >= '2026-11-01';
CREATE VIEW products_added AS
SELECT * FROM product_changes WHERE event = 'added';

-- products_removed: products confirmed gone (event 'deleted'), when observed, and whether
-- they are still gone (a product that came back has an event 'restored' and deleted_at NULL).
-- Removed since a date:  SELECT * FROM products_removed WHERE observed_at >= '2026-11-01';
CREATE VIEW products_removed AS
SELECT s.name AS store, e.product_id, p.handle, p.title, e.observed_at, e.run_id,
       p.deleted_at IS NOT NULL AS still_gone
FROM product_events e
JOIN stores s USING (store_id)
JOIN products p USING (store_id, product_id)
WHERE e.event = 'deleted';

-- product_history: every version of every product, when first and last observed. A version is
-- what the product showed between two changes (its content, or the availability its JSON
-- stated); content that returns after a change
-- is a new version. is_current is 1 for the version the products row holds now.
CREATE VIEW product_history AS
SELECT s.name AS store, v.product_id, p.handle, v.version_id, v.content_hash,
       v.first_observed_at,
       COALESCE(v.last_observed_at, ps.last_seen_at) AS last_observed_at,
       COALESCE(v.raw_json, p.raw_json) AS raw_json,
       v.last_observed_at IS NULL AS is_current, v.run_id
FROM product_versions v
JOIN stores s USING (store_id)
JOIN products p USING (store_id, product_id)
JOIN product_seen ps ON ps.store_id = p.store_id AND ps.product_id = p.product_id;

-- collection_contents: live products of each live collection, in the collection's order.
-- Contents of one collection:
--   SELECT handle, title FROM collection_contents
--   WHERE store = 'shop' AND collection_handle = 'sale' ORDER BY position;
CREATE VIEW collection_contents AS
SELECT s.name AS store, c.collection_id, c.handle AS collection_handle,
       c.title AS collection_title, cp.position, p.product_id, p.handle, p.title,
       p.vendor, p.product_type
FROM collection_products cp
JOIN collections c ON c.store_id = cp.store_id AND c.collection_id = cp.collection_id
JOIN products p ON p.store_id = cp.store_id AND p.product_id = cp.product_id
JOIN stores s ON s.store_id = cp.store_id
WHERE p.deleted_at IS NULL AND c.deleted_at IS NULL;
