//! The README's own queries ("Querying the mirror") against a database the library created: each
//! prepares, and those that filter on a run, a time, a product, availability or a collection
//! read an index for it (EXPLAIN QUERY PLAN), so they stay fast at a million products (BENCHMARKS.md).

use rusqlite::Connection;

/// Every SQL statement of the README's "Querying the mirror" section.
fn readme_queries() -> Vec<String> {
    let readme = include_str!("../README.md");
    let section = readme
        .split("\n## Querying the mirror\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README has a section Querying the mirror");
    section
        .split("```sql\n")
        .skip(1)
        .filter_map(|block| block.split("\n```").next())
        .flat_map(|block| block.split(';'))
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty())
        .collect()
}

/// The planner's statistics (sqlite_stat1, as `PRAGMA optimize` at the end of every run leaves
/// them) of a mirror like bench/million.sh's: the statistics of its 10,000-product seed store
/// times 100, with a year of daily runs (365 runs, about 3,000 product events each).
const LARGE_MIRROR_STATISTICS: &str = "ANALYZE; DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
  ('collection_changes', 'collection_changes_by_collection', '3676900 3676900 18500 1'),
  ('collection_changes', 'collection_changes_by_observed', '3676900 24700'),
  ('collection_changes', 'collection_changes_by_time', '3676900 3676900 24700'),
  ('collection_products', 'collection_products', '3676900 3676900 18500 1'),
  ('collection_products', 'collection_products_by_position', '3676900 3676900 18500 1'),
  ('collection_products', 'collection_products_by_product', '3676900 3676900 4'),
  ('collections', 'collections_by_handle', '200 200 1'),
  ('collections', 'sqlite_autoindex_collections_1', '200 200 1'),
  ('images', 'sqlite_autoindex_images_1', '3405800 3405800 4 1'),
  ('options', 'sqlite_autoindex_options_1', '1111300 1111300 2 1'),
  ('product_events', 'product_events_by_observed', '1100000 3000'),
  ('product_events', 'product_events_by_product', '1100000 1100000 1'),
  ('product_events', 'product_events_by_run', '1100000 3000'),
  ('product_events', 'product_events_by_time', '1100000 1100000 3000'),
  ('product_seen', 'product_seen', '1000000 1000000 1'),
  ('product_versions', 'product_versions_by_product', '1040000 1040000 1 1'),
  ('products', 'products_by_handle', '1000000 1000000 1'),
  ('products', 'products_by_state', '1000000 1000000 1000000'),
  ('products', 'sqlite_autoindex_products_1', '1000000 1000000 1'),
  ('stores', 'sqlite_autoindex_stores_1', '1 1'),
  ('sync_runs', 'sync_runs_by_store', '365 365 1'),
  ('variant_changes', 'variant_changes_by_observed', '40000 110'),
  ('variant_changes', 'variant_changes_by_product', '40000 40000 1 1'),
  ('variant_changes', 'variant_changes_by_time', '40000 40000 110'),
  ('variants', 'sqlite_autoindex_variants_1', '2484000 2484000 3 1'),
  ('variants', 'variants_by_availability', '2484000 2484000 1242000 64');";

fn plan(conn: &Connection, sql: &str) -> String {
    let mut statement = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let details: Vec<String> = statement
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    details.join("\n")
}

#[test]
fn the_readme_queries_read_indexes_at_a_million_products() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    drop(shopmirror::store::Writer::open(&db).unwrap());
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(LARGE_MIRROR_STATISTICS).unwrap();
    let conn = Connection::open(&db).unwrap();
    let queries = readme_queries();
    assert!(queries.len() >= 10, "{queries:#?}");
    // (a piece of the query, what its plan must hold, what it must not)
    let expected = [
        (
            "FROM product_changes\nWHERE run_id",
            "SEARCH e USING INDEX product_events_by_run (run_id=?)",
            "SCAN e",
        ),
        (
            "observed_at >= datetime('now', '-7 days')",
            "SEARCH c USING INDEX variant_changes_by_observed (observed_at>?)",
            "SCAN c",
        ),
        (
            "event IN ('added', 'deleted') AND observed_at >= '2026-11-01'",
            "SEARCH e USING INDEX product_events_by_observed (observed_at>?)",
            "SCAN e",
        ),
        ("FROM variant_history WHERE", "SEARCH c USING INDEX", "SCAN c"),
        (
            "WHERE store = 'kiids-kingdom' AND available = 1",
            "SEARCH v USING INDEX variants_by_availability (store_id=? AND available=?)",
            "SCAN p",
        ),
        (
            "FROM out_of_stock_variants",
            "SEARCH v USING INDEX variants_by_availability (store_id=? AND available=?)",
            "SCAN p",
        ),
        (
            "FROM product_history WHERE",
            "USING INDEX product_versions_by_product (store_id=? AND product_id=?)",
            "SCAN v",
        ),
        (
            "FROM collection_contents\nWHERE",
            "SEARCH cp USING COVERING INDEX collection_products_by_position (store_id=? AND collection_id=?)",
            "SCAN",
        ),
    ];
    for (piece, holds, never) in expected {
        let query = queries
            .iter()
            .find(|q| q.contains(piece))
            .unwrap_or_else(|| panic!("no README query with {piece:?}"));
        let plan = plan(&conn, query);
        assert!(
            plan.contains(holds) && !plan.contains(never),
            "{query}\nplan:\n{plan}\nwants {holds:?}, never {never:?}"
        );
    }
    for query in &queries {
        plan(&conn, query);
    }
}
