-- Version 5 (from 4), big stores: requests by source per run, which endpoint supplied each product, where its
-- availability came from, and products whose variant list may be truncated at 100.
ALTER TABLE sync_runs ADD COLUMN requests_listing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN requests_collections INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN requests_sitemap INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN requests_single INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN requests_deletions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE products ADD COLUMN source TEXT;
ALTER TABLE products ADD COLUMN availability_source TEXT;
ALTER TABLE products ADD COLUMN variants_truncated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX products_truncated ON products(store_id) WHERE variants_truncated = 1;
