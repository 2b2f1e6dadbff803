-- Version 3 (from 2): time indices for cross-store history queries ("price drops in the last 7
-- days" over every store, "products added since a date"), which filter on observed_at alone.
CREATE INDEX variant_changes_by_observed ON variant_changes(observed_at);
CREATE INDEX product_events_by_observed ON product_events(observed_at);
CREATE INDEX collection_changes_by_observed ON collection_changes(observed_at);
