-- Version 13 (from 12): a cheaper write path (issue 24).
--
-- New products enter the search index once per write, not by a trigger per row. The AFTER
-- INSERT trigger made every product insert a statement that writes the FTS5 table, and FTS5
-- flushes its pending terms to disk at each such statement's savepoint: 7% of a first sync's
-- CPU, plus the statement journal and the generated body_html column the trigger's NEW row
-- computed. The writer now indexes the products a write added in one INSERT ... SELECT at its
-- end (store/search_index.rs), in the same transaction. Renames (the AFTER UPDATE OF trigger)
-- and removals keep their triggers: they are rare.
--
-- products_deleted also holds the product id, so a page of unchanged products learns which of
-- them are tombstoned from this small index instead of reading each product's wide row.

DROP TRIGGER product_search_added;

DROP INDEX products_deleted;
CREATE INDEX products_deleted ON products(store_id, product_id) WHERE deleted_at IS NOT NULL;
