-- Version 6 (from 5): the seen-marker (last_seen_run, last_seen_at) moves out of the wide
-- products row into the narrow product_seen table, with a raw hash for skipping the parse of
-- unchanged products. The views that read the moved columns are recreated to join it.

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

INSERT INTO product_seen (store_id, product_id, last_seen_run, last_seen_at)
    SELECT store_id, product_id, last_seen_run, last_seen_at FROM products;

DROP VIEW current_products;
DROP VIEW product_history;
DROP INDEX products_by_seen_run;
ALTER TABLE products DROP COLUMN last_seen_run;
ALTER TABLE products DROP COLUMN last_seen_at;

CREATE VIEW current_products AS
SELECT s.name AS store, p.*, ps.last_seen_run, ps.last_seen_at
FROM products p JOIN stores s USING (store_id)
JOIN product_seen ps ON ps.store_id = p.store_id AND ps.product_id = p.product_id
WHERE p.deleted_at IS NULL;

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
