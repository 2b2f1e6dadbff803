-- Version 10 (from 9): the full-text product index of the web pages' search, kept in step by
-- triggers, filled from the products already mirrored; variants by SKU; deleted products by store.

-- product_search: a full-text index (FTS5) over every product's title, handle and vendor, for
-- the web pages' search. Kept in step with products by the triggers below, so it changes in the
-- same transaction as the rows it indexes and the write path does not know it exists.
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
-- total (from its primary key) minus these, without reading every products row.
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
CREATE TRIGGER product_search_key_removed AFTER DELETE ON product_search_keys BEGIN
    DELETE FROM product_search WHERE rowid = old.search_id;
END;

INSERT INTO product_search_keys (store_id, product_id)
    SELECT store_id, product_id FROM products ORDER BY store_id, product_id;
INSERT INTO product_search (rowid, title, handle, vendor, store_id)
    SELECT k.search_id, p.title, p.handle, p.vendor, p.store_id
    FROM product_search_keys k JOIN products p USING (store_id, product_id);
