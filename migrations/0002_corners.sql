-- Version 2 (from 1): the mirror tells the truth in the corners (issue 14).
--   * variants are keyed by their product too: one variant id shown under two products no longer
--     lets one product's write take the other's row.
--   * quarantine: products sent as valid JSON that could not be used.
--   * sync_runs: how many products a run quarantined, and whether its deletions were
--     inconclusive (a quarantined product without a usable id).

-- Views that read variants are dropped and recreated around the table rebuild.
DROP VIEW out_of_stock_variants;
DROP VIEW current_variants;
DROP VIEW variant_history;

CREATE TABLE variants_new (
    store_id               INTEGER NOT NULL,
    variant_id             INTEGER NOT NULL,
    product_id             INTEGER NOT NULL,
    position               INTEGER NOT NULL,
    title                  TEXT NOT NULL,
    option1                TEXT,
    option2                TEXT,
    option3                TEXT,
    sku                    TEXT,
    price                  TEXT NOT NULL,
    price_cents            INTEGER NOT NULL,
    compare_at_price       TEXT,
    compare_at_price_cents INTEGER,
    available              INTEGER,
    requires_shipping      INTEGER,
    taxable                INTEGER,
    grams                  INTEGER,
    featured_image_id      INTEGER,
    written_run            INTEGER NOT NULL,
    PRIMARY KEY (store_id, product_id, variant_id),
    FOREIGN KEY (store_id, product_id) REFERENCES products(store_id, product_id)
);
INSERT INTO variants_new SELECT store_id, variant_id, product_id, position, title, option1,
    option2, option3, sku, price, price_cents, compare_at_price, compare_at_price_cents,
    available, requires_shipping, taxable, grams, featured_image_id, written_run
FROM variants;
DROP TABLE variants;
ALTER TABLE variants_new RENAME TO variants;

CREATE VIEW current_variants AS
SELECT s.name AS store, p.handle, p.title AS product_title, v.*
FROM variants v
JOIN products p USING (store_id, product_id)
JOIN stores s USING (store_id)
WHERE p.deleted_at IS NULL;

CREATE VIEW variant_history AS
SELECT s.name AS store, c.change_id, c.product_id, p.handle, c.variant_id,
       v.title AS variant_title, c.field, c.old_value, c.new_value, c.observed_at, c.run_id
FROM variant_changes c
JOIN stores s USING (store_id)
LEFT JOIN products p USING (store_id, product_id)
LEFT JOIN variants v USING (store_id, product_id, variant_id);

CREATE VIEW out_of_stock_variants AS
SELECT * FROM current_variants WHERE available = 0;

ALTER TABLE sync_runs ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN deletions_inconclusive INTEGER NOT NULL DEFAULT 0;

CREATE TABLE quarantine (
    quarantine_id  INTEGER PRIMARY KEY,
    store_id       INTEGER NOT NULL REFERENCES stores(store_id),
    product_id     INTEGER,
    handle         TEXT,
    reason         TEXT NOT NULL,
    url            TEXT NOT NULL,
    run_id         INTEGER NOT NULL,
    quarantined_at TEXT NOT NULL,
    raw_json       TEXT NOT NULL
);
CREATE INDEX quarantine_by_store ON quarantine(store_id, product_id);
