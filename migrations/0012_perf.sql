-- Version 12 (from 11): no byte stored twice (issue 24). products.body_html was a copy of the
-- "body_html" string inside raw_json (43 MB of a 225 MB database at 25,000 products); it is now
-- a VIRTUAL generated column read out of raw_json, so queries and exports see the same text
-- and the file holds it once. body_html_stored keeps a copy only where json_extract cannot give
-- the text back byte for byte: a body holding a NUL character (SQLite's json_extract stops at
-- it in some versions). The table is rebuilt (a column cannot become generated in place), and
-- the views that read products are dropped and created again around it, unchanged.

DROP VIEW price_drops;
DROP VIEW price_changes;
DROP VIEW out_of_stock_variants;
DROP VIEW current_variants;
DROP VIEW current_products;
DROP VIEW variant_history;
DROP VIEW products_added;
DROP VIEW products_removed;
DROP VIEW product_changes;
DROP VIEW product_history;
DROP VIEW collection_contents;

CREATE TABLE products_new (
    store_id           INTEGER NOT NULL REFERENCES stores(store_id),
    product_id         INTEGER NOT NULL,
    content_hash       TEXT NOT NULL,
    deleted_at         TEXT,
    first_seen_at      TEXT NOT NULL,
    content_changed_at TEXT NOT NULL,
    written_run        INTEGER NOT NULL,
    handle             TEXT NOT NULL,
    title              TEXT NOT NULL,
    vendor             TEXT NOT NULL,
    product_type       TEXT NOT NULL,
    tags               TEXT NOT NULL,
    published_at       TEXT,
    created_at         TEXT,
    body_html          TEXT NOT NULL GENERATED ALWAYS AS
                           (coalesce(body_html_stored, json_extract(raw_json, '$.body_html'), '')) VIRTUAL,
    raw_json           TEXT NOT NULL,
    source             TEXT,
    availability_source TEXT,
    variants_truncated INTEGER NOT NULL DEFAULT 0,
    body_html_stored   TEXT,
    PRIMARY KEY (store_id, product_id)
);
INSERT INTO products_new (store_id, product_id, content_hash, deleted_at, first_seen_at,
    content_changed_at, written_run, handle, title, vendor, product_type, tags, published_at,
    created_at, raw_json, source, availability_source, variants_truncated, body_html_stored)
SELECT store_id, product_id, content_hash, deleted_at, first_seen_at, content_changed_at,
    written_run, handle, title, vendor, product_type, tags, published_at, created_at, raw_json,
    source, availability_source, variants_truncated,
    CASE WHEN body_html IS coalesce(json_extract(raw_json, '$.body_html'), '')
              AND instr(CAST(body_html AS BLOB), x'00') = 0
         THEN NULL ELSE body_html END
FROM products;
DROP TABLE products;
ALTER TABLE products_new RENAME TO products;
CREATE INDEX products_by_handle ON products(store_id, handle);
CREATE INDEX products_by_state ON products(store_id, deleted_at);
CREATE INDEX products_truncated ON products(store_id, deleted_at) WHERE variants_truncated = 1;
-- The rebuild dropped what version 10 put on products: the index of tombstoned products and
-- the search index's triggers (the search rows themselves are untouched), made again as they were.
CREATE INDEX products_deleted ON products(store_id) WHERE deleted_at IS NOT NULL;
CREATE TRIGGER product_search_added AFTER INSERT ON products BEGIN
    INSERT INTO product_search_keys (store_id, product_id) VALUES (new.store_id, new.product_id);
    INSERT INTO product_search (rowid, title, handle, vendor, store_id)
        SELECT search_id, new.title, new.handle, new.vendor, new.store_id
        FROM product_search_keys WHERE store_id = new.store_id AND product_id = new.product_id;
END;
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

-- The views, as before.
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
-- one distinct content (content_hash) between two changes; content that returns after a change
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
