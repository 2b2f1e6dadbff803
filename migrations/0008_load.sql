-- Version 8 (from 7): readers at a million products. Indexes that let `status`, `stores list`,
-- exports and the README's queries read an index in the order they need instead of the wide
-- products table or a sort.
-- status / stores list: live and deleted products per store, counted from the index alone.
CREATE INDEX products_by_state ON products(store_id, deleted_at);
-- status: possibly truncated live products, counted from the index alone.
DROP INDEX products_truncated;
CREATE INDEX products_truncated ON products(store_id, deleted_at) WHERE variants_truncated = 1;
-- export --collection and collection_contents: members in the collection's order.
CREATE INDEX collection_products_by_position
    ON collection_products(store_id, collection_id, position);
-- "What changed in the last run" (README): events of one run.
CREATE INDEX product_events_by_run ON product_events(run_id);
-- "The ten cheapest in-stock variants of one store" and out_of_stock_variants (README): a
-- store's variants by availability, in price order.
CREATE INDEX variants_by_availability ON variants(store_id, available, price_cents);
