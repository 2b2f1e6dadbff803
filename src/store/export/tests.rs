//! Tests of the export reads: filters, one product per handle, children in position order.

use super::*;

/// A database with two stores: a live product, a deleted one and an old unchanged one.
fn database() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    let conn = crate::store::schema::open_writer(&path).unwrap();
    conn.execute_batch(
        "INSERT INTO stores (store_id, name, base_url, added_at) VALUES
             (1, 'a', 'http://a', 'x'), (2, 'b', 'http://b', 'x');
         INSERT INTO products (store_id, product_id, handle, title, vendor, product_type,
             tags, content_hash, raw_json, first_seen_at, content_changed_at,
             written_run, deleted_at) VALUES
             (1, 10, 'live', 'Live', 'V', 'T', '[\"x\",\"y\"]', 'h', '{\"id\":10}',
              '2026-01-01 00:00:00', '2026-01-15 00:00:00', 1, NULL),
             (1, 11, 'gone', 'Gone', 'V', 'T', '[]', 'h', '{\"id\":11}',
              '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, '2026-01-20 00:00:00'),
             (2, 20, 'old', 'Old', 'V', 'T', '[]', 'h', '{\"id\":20}',
              '2025-01-01 00:00:00', '2025-01-01 00:00:00', 1, NULL);
         INSERT INTO product_seen (store_id, product_id, last_seen_run, last_seen_at) VALUES
             (1, 10, 1, '2026-02-01 00:00:00'), (1, 11, 1, '2026-01-02 00:00:00'),
             (2, 20, 1, '2026-02-01 00:00:00');
         INSERT INTO variants (store_id, variant_id, product_id, position, title, price,
             price_cents, written_run) VALUES (1, 101, 10, 1, 'S', '1.50', 150, 1),
             (1, 100, 10, 2, 'M', '2.00', 200, 1);",
    )
    .unwrap();
    (dir, path)
}

fn ids(path: &std::path::Path, filter: &ExportFilter) -> Vec<i64> {
    let reader = Reader::open(path).unwrap();
    let mut seen = Vec::new();
    reader
        .for_each_product(filter, false, |p| {
            seen.push(p.product_id);
            Ok::<_, Error>(())
        })
        .unwrap();
    seen
}

#[test]
fn filters_select_the_right_products() {
    let (_dir, path) = database();
    let all = ExportFilter::default();
    assert_eq!(ids(&path, &all), [10, 20]);
    let deleted = ExportFilter {
        include_deleted: true,
        ..all.clone()
    };
    assert_eq!(ids(&path, &deleted), [10, 11, 20]);
    let store_a = ExportFilter {
        store: Some("a".into()),
        ..all.clone()
    };
    assert_eq!(ids(&path, &store_a), [10]);
    let since = ExportFilter {
        changed_since: Some("2026-01-10 00:00:00".into()),
        ..all.clone()
    };
    assert_eq!(ids(&path, &since), [10]);
    let since_with_deleted = ExportFilter {
        include_deleted: true,
        ..since
    };
    assert_eq!(ids(&path, &since_with_deleted), [10, 11], "deleted after");
}

#[test]
fn one_per_handle_marks_products_whose_handle_another_keeps() {
    let (_dir, path) = database();
    // 12 was deleted before live 10 took its handle; 13 and 11 are both deleted as 'gone',
    // 13 later; 21 in the other store shares a handle with nobody there.
    crate::store::schema::open_writer(&path)
        .unwrap()
        .execute_batch(
            "INSERT INTO products (store_id, product_id, handle, title, vendor, product_type,
                 tags, content_hash, raw_json, first_seen_at, content_changed_at,
                 written_run, deleted_at) VALUES
                 (1, 12, 'live', 'Old', '', '', '[]', 'h', '{}', 'x', 'x', 1,
                  '2025-06-01 00:00:00'),
                 (1, 13, 'gone', 'Gone2', '', '', '[]', 'h', '{}', 'x', 'x', 1,
                  '2026-01-25 00:00:00'),
                 (2, 21, 'gone', 'Other', '', '', '[]', 'h', '{}', 'x', 'x', 1, NULL);
             INSERT INTO product_seen (store_id, product_id, last_seen_run, last_seen_at)
                 VALUES (1, 12, 1, 'x'), (1, 13, 1, 'x'), (2, 21, 1, 'x');",
        )
        .unwrap();
    let reader = Reader::open(&path).unwrap();
    let kept_by = |one_per_handle| {
        let filter = ExportFilter {
            include_deleted: true,
            one_per_handle,
            ..ExportFilter::default()
        };
        let mut seen = Vec::new();
        reader
            .for_each_product(&filter, false, |p| {
                seen.push((p.product_id, p.handle_kept_by));
                Ok::<_, Error>(())
            })
            .unwrap();
        seen
    };
    assert_eq!(
        kept_by(true),
        [
            (10, None),
            (11, Some(13)),
            (12, Some(10)),
            (13, None),
            (20, None),
            (21, None)
        ]
    );
    assert!(kept_by(false).iter().all(|(_, by)| by.is_none()));
    assert_eq!(reader.store_names().unwrap(), ["a", "b"]);
}

#[test]
fn children_come_in_position_order_and_the_callback_error_stops() {
    let (_dir, path) = database();
    let reader = Reader::open(&path).unwrap();
    let mut variants = Vec::new();
    let filter = ExportFilter {
        store: Some("a".into()),
        ..ExportFilter::default()
    };
    reader
        .for_each_product(&filter, true, |p| {
            assert_eq!(p.tags, ["x", "y"]);
            variants.extend(p.variants.iter().map(|v| v.variant_id));
            Ok::<_, Error>(())
        })
        .unwrap();
    assert_eq!(variants, [101, 100]);
    let mut calls = 0;
    let stopped = reader.for_each_product(&ExportFilter::default(), false, |_| {
        calls += 1;
        Err(Error::WriterGone)
    });
    assert!(matches!(stopped, Err(Error::WriterGone)));
    assert_eq!(calls, 1);
    let names: Vec<String> = reader
        .store_urls()
        .unwrap()
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert!(names.contains(&"b".to_string()) && !names.contains(&"c".to_string()));
}

/// Every combination of the export filters. The formats differ only in `one_per_handle`
/// (shopify-csv) and in reading children, which are per-product lookups, not the main query.
fn every_filter() -> Vec<ExportFilter> {
    let mut filters = Vec::new();
    for store in [None, Some("a".to_string())] {
        for collection in [None, Some("sale".to_string())] {
            for changed_since in [None, Some("2026-01-10 00:00:00".to_string())] {
                for include_deleted in [false, true] {
                    for one_per_handle in [false, true] {
                        filters.push(ExportFilter {
                            store: store.clone(),
                            collection: collection.clone(),
                            changed_since: changed_since.clone(),
                            include_deleted,
                            one_per_handle,
                        });
                    }
                }
            }
        }
    }
    filters
}

/// Statistics as bench/million.sh's million-product mirror has them just after the upgrade that
/// added products_by_state and collection_products_by_position (`PRAGMA optimize` with
/// `analysis_limit = 400` estimates; none yet for the new indexes).
const MILLION: &str = "DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
  ('products', 'products_by_handle', '10000 401 1'),
  ('products', 'sqlite_autoindex_products_1', '10000 401 1'),
  ('product_seen', 'product_seen', '10000 401 1'),
  ('collection_products', 'collection_products', '36769 401 401 1'),
  ('collection_products', 'collection_products_by_product', '36769 401 5'),
  ('collections', 'collections_by_handle', '200 200 1'),
  ('stores', 'sqlite_autoindex_stores_1', '1 1');
ANALYZE sqlite_schema;";

/// The query plan of the export's main query for `filter`, planned with the values an export
/// binds (store 1, collection 1): EXPLAIN QUERY PLAN details, one per line, those of the outer
/// query (not of a subquery) marked with "> ".
fn plan(conn: &rusqlite::Connection, filter: &ExportFilter) -> String {
    let mut statement = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", main_query(filter)))
        .unwrap();
    let args: [&dyn ToSql; 5] = [
        &1,
        &filter.include_deleted,
        &filter.changed_since,
        &filter.one_per_handle,
        &1,
    ];
    let details: Vec<String> = statement
        .query_map(&args[..statement.parameter_count()], |r| {
            let outer = if r.get::<_, i64>(1)? == 0 { "> " } else { "" };
            Ok(format!("{outer}{}", r.get::<_, String>(3)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    details.join("\n")
}

#[test]
fn every_export_reads_in_index_order_without_sorting() {
    let (_dir, path) = database();
    let conn = crate::store::schema::open_writer(&path).unwrap();
    let mut sorting = Vec::new();
    for statistics in ["none", "this database", "a million products"] {
        match statistics {
            "this database" => conn.execute_batch("ANALYZE").unwrap(),
            "a million products" => conn.execute_batch(MILLION).unwrap(),
            _ => {}
        }
        for filter in every_filter() {
            let plan = plan(&conn, &filter);
            let walk = match filter.collection {
                None => "> SEARCH p USING INDEX sqlite_autoindex_products_1 (store_id=?)",
                Some(_) => {
                    "> SEARCH cp USING COVERING INDEX collection_products_by_position \
                     (store_id=? AND collection_id=?)"
                }
            };
            if plan.contains("> USE TEMP B-TREE") || !plan.starts_with(walk) {
                sorting.push(format!("{filter:?} (statistics: {statistics}):\n{plan}"));
            }
        }
    }
    assert!(sorting.is_empty(), "{}", sorting.join("\n"));
}
