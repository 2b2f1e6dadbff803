-- Version 7 (from 6): variant changes keep their prices in cents beside the text the store
-- wrote (old_cents, new_cents: set for price, compare_at_price, variant_added and
-- variant_removed rows, NULL for availability), so readers compare integers instead of parsing
-- text. Rows written before are filled from their text. price_changes and variant_history read
-- the stored cents.

ALTER TABLE variant_changes ADD COLUMN old_cents INTEGER;
ALTER TABLE variant_changes ADD COLUMN new_cents INTEGER;

UPDATE variant_changes
SET old_cents = CAST(round(CAST(old_value AS REAL) * 100) AS INTEGER),
    new_cents = CAST(round(CAST(new_value AS REAL) * 100) AS INTEGER)
WHERE field != 'available';

DROP VIEW price_drops;
DROP VIEW price_changes;
DROP VIEW variant_history;

CREATE VIEW price_changes AS
SELECT s.name AS store, c.product_id, p.handle, c.variant_id, c.old_value AS old_price,
       c.new_value AS new_price, c.old_cents, c.new_cents, c.observed_at, c.run_id
FROM variant_changes c
JOIN stores s USING (store_id)
LEFT JOIN products p USING (store_id, product_id)
WHERE c.field = 'price';

CREATE VIEW price_drops AS
SELECT * FROM price_changes WHERE new_cents < old_cents;

CREATE VIEW variant_history AS
SELECT s.name AS store, c.change_id, c.product_id, p.handle, c.variant_id,
       v.title AS variant_title, c.field, c.old_value, c.new_value, c.old_cents, c.new_cents,
       c.observed_at, c.run_id
FROM variant_changes c
JOIN stores s USING (store_id)
LEFT JOIN products p USING (store_id, product_id)
LEFT JOIN variants v USING (store_id, product_id, variant_id);
