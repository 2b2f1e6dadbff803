//! The mirror's semantics in the corners, against a small controllable fake store with page
//! size 1 and the real binary: re-created collections, variants seen under two products or
//! moving between them, renamed products missing from a shifting listing, unusable products
//! quarantined, and the smaller truths (duplicates in one listing, price text, unknown
//! availability, resumed runs).

use crate::support;

use std::path::Path;

use rusqlite::Connection;
use serde_json::{json, Value};
use support::fakeshop::faults::{Edit, Fault};
use support::fakeshop::{Catalog, Collection, FakeShop, Rule};
use support::{rows, run, scalar, shopmirror, sync_configured_env, Finished};

/// A list-shape product with one option and the given variants (price 10.00, available).
fn product(id: u64, handle: &str, title: &str, variants: &[u64]) -> Value {
    let variants: Vec<Value> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({"id": v, "title": format!("V{v}"), "option1": format!("V{v}"),
                   "option2": null, "option3": null, "sku": format!("SKU{v}"),
                   "requires_shipping": true, "taxable": true, "featured_image": null,
                   "available": true, "price": "10.00", "grams": 100,
                   "compare_at_price": null, "position": i + 1, "product_id": id,
                   "created_at": "2026-01-01T00:00:00-04:00",
                   "updated_at": "2026-01-02T00:00:00-04:00"})
        })
        .collect();
    let values: Vec<Value> = variants.iter().map(|v| v["option1"].clone()).collect();
    json!({"id": id, "title": title, "handle": handle, "body_html": "<p>x</p>",
           "published_at": "2026-01-01T00:00:00-04:00",
           "created_at": "2026-01-01T00:00:00-04:00",
           "updated_at": "2026-01-02T00:00:00-04:00",
           "vendor": "Vendor", "product_type": "Thing", "tags": ["a"],
           "variants": variants, "images": [],
           "options": [{"name": "Choice", "position": 1, "values": values}]})
}

fn collection(id: u64, handle: &str, members: Vec<u64>) -> Collection {
    Collection {
        id,
        handle: handle.into(),
        title: handle.to_uppercase(),
        body_html: String::new(),
        published_at: "2026-01-01T00:00:00-04:00".into(),
        updated_at: "2026-01-01T00:00:00-04:00".into(),
        sort_order: "manual",
        rule: Rule::Ids(std::sync::Arc::new(members.into_iter().collect())),
    }
}

/// `shopmirror sync shop` with page size 1; `collections` switches the collection phases.
async fn sync1(db: &Path, shop: &FakeShop, collections: bool) -> Finished {
    let extra = format!("collections = {collections}");
    let page_size = [("SHOPMIRROR_SYNC__PAGE_SIZE", "1")];
    sync_configured_env(db, &shop.url(), &extra, &page_size).await
}

async fn sync_ok(db: &Path, shop: &FakeShop, collections: bool) -> Finished {
    let done = sync1(db, shop, collections).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    done
}

/// Variant ids stored under a product, ascending.
fn variants_of(db: &Path, product: u64) -> Vec<i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT variant_id FROM variants WHERE product_id = ?1 ORDER BY variant_id")
        .unwrap();
    stmt.query_map([product as i64], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Asserts that every live product's variant rows are exactly the variants of its stored JSON.
fn assert_rows_match_stored_content(db: &Path) {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT product_id, raw_json FROM products WHERE deleted_at IS NULL")
        .unwrap();
    let products: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, raw) in products {
        let raw: Value = serde_json::from_str(&raw).unwrap();
        let mut want: Vec<i64> = raw["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_i64().unwrap())
            .collect();
        want.sort();
        assert_eq!(variants_of(db, id as u64), want, "variant rows of {id}");
    }
}

// ----- 1. re-created collections --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_recreated_under_its_handle_replaces_the_old_one() {
    let (p1, p2, p3) = (
        product(1, "p1", "P1", &[11]),
        product(2, "p2", "P2", &[21]),
        product(3, "p3", "P3", &[31]),
    );
    let shop = FakeShop::start(Catalog::from_products(&[p1, p2, p3])).await;
    shop.set_collections(vec![collection(9001, "sale", vec![1, 2])]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, true).await;
    shop.set_collections(vec![collection(9002, "sale", vec![2, 3])]);
    let order: Vec<String> = shop
        .collection_product_ids("sale")
        .unwrap()
        .iter()
        .map(|id| format!("p{id}"))
        .collect();
    for _ in 0..2 {
        sync_ok(&db, &shop, true).await;
        let live = "SELECT CAST(collection_id AS TEXT) FROM collections
                    WHERE deleted_at IS NULL ORDER BY collection_id";
        assert_eq!(rows(&db, live), ["9002"]);
        let contents = "SELECT handle FROM collection_contents
                        WHERE collection_handle = 'sale' ORDER BY position";
        assert_eq!(rows(&db, contents), order);
        let mut export = shopmirror();
        export
            .arg("--db")
            .arg(&db)
            .args(["export", "--format", "jsonl", "--collection", "sale"]);
        let out = run(export).await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let handles: Vec<String> = out
            .stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["handle"]
                    .as_str()
                    .unwrap()
                    .into()
            })
            .collect();
        assert_eq!(handles, order);
    }
}

// ----- 2. and 3. variants that change products ------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_seen_under_two_products_in_one_run_never_vanishes() {
    let run1 = [
        product(20, "b", "B", &[201]),
        product(10, "a", "A", &[101, 102]),
    ];
    let shop = FakeShop::start(Catalog::from_products(&run1)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    // A move caught mid-crawl: 102 shows under both products in one run.
    shop.set_products(&[
        product(20, "b", "B", &[201, 102]),
        product(10, "a", "A", &[101, 102]),
    ]);
    sync_ok(&db, &shop, false).await;
    assert_eq!(
        scalar(
            &db,
            "SELECT products_unchanged FROM sync_runs WHERE run_id = 2"
        ),
        1
    );
    assert_rows_match_stored_content(&db);
    shop.set_products(&run1);
    for _ in 0..2 {
        sync_ok(&db, &shop, false).await;
        assert_eq!(variants_of(&db, 10), [101, 102]);
        assert_eq!(variants_of(&db, 20), [201]);
        assert_rows_match_stored_content(&db);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_moving_to_a_product_written_earlier_is_removed_from_the_one_it_left() {
    let shop = FakeShop::start(Catalog::from_products(&[
        product(20, "b", "B", &[201]),
        product(10, "a", "A", &[101, 102]),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    shop.set_products(&[
        product(20, "b", "B", &[201, 102]),
        product(10, "a", "A", &[101]),
    ]);
    sync_ok(&db, &shop, false).await;
    let changes = "SELECT product_id || ',' || variant_id || ',' || field FROM variant_changes
                   WHERE run_id = 2 ORDER BY product_id";
    assert_eq!(
        rows(&db, changes),
        ["10,102,variant_removed", "20,102,variant_added"]
    );
    assert_eq!(variants_of(&db, 10), [101]);
    assert_eq!(variants_of(&db, 20), [102, 201]);
}

// ----- 4. renamed products and a shifting listing -----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_product_missing_from_the_listing_is_not_tombstoned() {
    let shop = FakeShop::start(Catalog::from_products(&[
        product(1, "x", "P1", &[11]),
        product(2, "y", "P2", &[21]),
        product(3, "z", "P3", &[31]),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    // P1 is now "y", P2 now "x"; the listing shows P2 and P3 only.
    shop.set_products(&[
        product(1, "y", "P1", &[11]),
        product(2, "x", "P2", &[21]),
        product(3, "z", "P3", &[31]),
    ]);
    shop.hide_from_listing(1);
    sync_ok(&db, &shop, false).await;
    let events = "SELECT count(*) FROM product_events WHERE event IN ('deleted', 'restored')";
    assert_eq!(scalar(&db, events), 0, "no deleted event for P1");
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM products WHERE deleted_at IS NULL"
        ),
        3
    );
    // The listing settles: P1 is seen again, nothing was ever tombstoned or restored.
    shop.set_products(&[
        product(1, "y", "P1", &[11]),
        product(2, "x", "P2", &[21]),
        product(3, "z", "P3", &[31]),
    ]);
    sync_ok(&db, &shop, false).await;
    assert_eq!(scalar(&db, events), 0);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM products WHERE deleted_at IS NULL"
        ),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_whose_handle_went_to_another_is_tombstoned_after_two_complete_runs() {
    let shop = FakeShop::start(Catalog::from_products(&[
        product(1, "x", "P1", &[11]),
        product(2, "y", "P2", &[21]),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    // P1 is deleted and P2 takes its handle.
    shop.set_products(&[product(2, "x", "P2", &[21])]);
    sync_ok(&db, &shop, false).await;
    let gone = "SELECT count(*) FROM products WHERE product_id = 1 AND deleted_at IS NOT NULL";
    assert_eq!(scalar(&db, gone), 0, "one run is inconclusive");
    sync_ok(&db, &shop, false).await;
    assert_eq!(scalar(&db, gone), 1, "the second complete run confirms it");
    let deleted = "SELECT count(*) FROM product_events WHERE product_id = 1 AND event = 'deleted'";
    assert_eq!(scalar(&db, deleted), 1);
}

// ----- 5. quarantine ------------------------------------------------------------------------

fn no_variants(p: &mut Value) {
    p["variants"] = json!([]);
}

fn images_null(p: &mut Value) {
    p["images"] = Value::Null;
}

fn id_as_string(p: &mut Value) {
    p["id"] = json!(p["id"].to_string());
}

fn no_id(p: &mut Value) {
    p.as_object_mut().unwrap().remove("id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_product_is_quarantined_and_the_rest_is_mirrored() {
    let shop = FakeShop::start(Catalog::from_products(&[
        product(1, "p1", "P1", &[11]),
        product(2, "p2", "P2", &[21]),
        product(3, "p3", "P3", &[31]),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // A new store whose second product has no variants.
    shop.script_fault(
        "/products.json?limit=1&page=2",
        1,
        Fault::EditFirst(Edit(no_variants)),
    );
    let first = sync_ok(&db, &shop, false).await;
    assert!(first.stdout.contains("1 quarantined"), "{}", first.stdout);
    assert!(
        first.stderr.contains("WARN") && first.stderr.contains("quarantined"),
        "{}",
        first.stderr
    );
    assert_eq!(
        rows(
            &db,
            "SELECT CAST(product_id AS TEXT) FROM products ORDER BY 1"
        ),
        ["1", "3"]
    );
    let quarantined = "SELECT s.name || '|' || q.product_id || '|' || q.reason || '|'
                           || q.raw_json || '|' || q.quarantined_at
                       FROM quarantine q JOIN stores s USING (store_id)";
    let row = rows(&db, quarantined);
    assert_eq!(row.len(), 1, "{row:?}");
    assert!(
        row[0].starts_with("shop|2|") && row[0].contains("no variants"),
        "{row:?}"
    );
    assert!(row[0].contains("\"variants\":[]"), "{row:?}");
    assert_eq!(
        scalar(&db, "SELECT quarantined FROM sync_runs WHERE run_id = 1"),
        1
    );

    // Mirrored, then unusable everywhere (listing and its own URL): seen, never tombstoned.
    sync_ok(&db, &shop, false).await;
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM quarantine"),
        0,
        "a clean run clears it"
    );
    for edit in [images_null as fn(&mut Value), id_as_string] {
        shop.script_fault(
            "/products.json?limit=1&page=2",
            1,
            Fault::EditFirst(Edit(edit)),
        );
        shop.script_fault("/products/p2.json", 1, Fault::EditFirst(Edit(edit)));
        sync_ok(&db, &shop, false).await;
        let run = scalar(&db, "SELECT max(run_id) FROM sync_runs");
        assert_eq!(
            scalar(
                &db,
                "SELECT count(*) FROM products WHERE deleted_at IS NULL"
            ),
            3
        );
        assert_eq!(
            scalar(
                &db,
                "SELECT last_seen_run FROM product_seen WHERE product_id = 2"
            ),
            run
        );
        assert_eq!(
            scalar(
                &db,
                &format!("SELECT quarantined FROM sync_runs WHERE run_id = {run}")
            ),
            1
        );
        assert_eq!(scalar(&db, "SELECT product_id FROM quarantine"), 2);
    }
    let mut status = shopmirror();
    status.arg("--db").arg(&db).args(["status", "--json"]);
    let status = run(status).await;
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status[0]["quarantined"], 1, "{status}");

    // Without a usable id the run cannot tell which product it saw: no deletions this run.
    shop.remove_product(3);
    shop.script_fault(
        "/products.json?limit=1&page=2",
        1,
        Fault::EditFirst(Edit(no_id)),
    );
    sync_ok(&db, &shop, false).await;
    let gone = "SELECT count(*) FROM products WHERE product_id = 3 AND deleted_at IS NOT NULL";
    assert_eq!(scalar(&db, gone), 0);
    let run = scalar(&db, "SELECT max(run_id) FROM sync_runs");
    let inconclusive = format!("SELECT deletions_inconclusive FROM sync_runs WHERE run_id = {run}");
    assert_eq!(scalar(&db, &inconclusive), 1);
    sync_ok(&db, &shop, false).await;
    assert_eq!(scalar(&db, gone), 1, "the next clean run checks deletions");
}

// ----- smaller truths -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_listed_twice_in_one_run_is_counted_once() {
    let products = [
        product(1, "p1", "P1", &[11]),
        product(2, "p2", "P2", &[21]),
        product(3, "p3", "P3", &[31]),
    ];
    let shop = FakeShop::start(Catalog::from_products(&products)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    // Before page 2 is served a new product appears first, and P1 changes: the listing
    // shifts and shows P1 again (on page 2), with its new title.
    let hooked = shop.clone();
    shop.on_request(move |path, _| {
        if path == "/products.json?limit=1&page=2" {
            hooked.set_products(&[
                product(4, "p4", "P4", &[41]),
                product(1, "p1", "P1 renamed", &[11]),
                product(2, "p2", "P2", &[21]),
                product(3, "p3", "P3", &[31]),
            ]);
        }
    });
    sync_ok(&db, &shop, false).await;
    let counts = "SELECT products_new || '/' || products_changed || '/' || products_unchanged
                  FROM sync_runs WHERE run_id = 2";
    assert_eq!(
        rows(&db, counts),
        ["0/1/2"],
        "P1 once (changed), P2 and P3 unchanged"
    );
    shop.clear_on_request();
    // Unchanged, twice on one page (page size 250).
    shop.set_products(&[
        products[0].clone(),
        products[0].clone(),
        products[1].clone(),
    ]);
    let done = support::sync_configured(&db, &shop.url(), "collections = false").await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let counts = "SELECT products_new || '/' || products_changed || '/' || products_unchanged
                  FROM sync_runs WHERE run_id = 3";
    assert_eq!(rows(&db, counts), ["0/1/1"]);
}

/// Sets variant 0's fields of a product built by `product`.
fn with_variant(mut p: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    f(p["variants"][0].as_object_mut().unwrap());
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_price_text_only_keeps_the_text_of_the_stored_content() {
    let base = product(1, "p1", "P1", &[11]);
    let shop = FakeShop::start(Catalog::from_products(std::slice::from_ref(&base))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    let stored = "SELECT price || '|' || price_cents || '|' || coalesce(compare_at_price, 'NULL')
                  FROM variants";
    assert_eq!(rows(&db, stored), ["10.00|1000|NULL"]);
    for (price, compare_at) in [("10", json!("")), ("10.0", json!("0.00"))] {
        shop.set_products(&[with_variant(base.clone(), |v| {
            v.insert("price".into(), json!(price));
            v.insert("compare_at_price".into(), compare_at);
        })]);
        sync_ok(&db, &shop, false).await;
        assert_eq!(
            rows(&db, stored),
            ["10.00|1000|NULL"],
            "same amount: not rewritten"
        );
        assert_eq!(scalar(&db, "SELECT count(*) FROM variant_changes"), 0);
        assert_eq!(scalar(&db, "SELECT count(*) FROM product_versions"), 1);
    }
    // A real change stores the text exactly as sent.
    shop.set_products(&[with_variant(base, |v| {
        v.insert("price".into(), json!("9.5"));
    })]);
    sync_ok(&db, &shop, false).await;
    assert_eq!(rows(&db, stored), ["9.5|950|NULL"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_missing_from_one_answer_is_not_a_change() {
    let base = product(1, "p1", "P1", &[11]);
    let shop = FakeShop::start(Catalog::from_products(std::slice::from_ref(&base))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    shop.set_products(&[with_variant(base.clone(), |v| {
        v.remove("available");
    })]);
    sync_ok(&db, &shop, false).await;
    assert_eq!(
        scalar(&db, "SELECT available FROM variants"),
        1,
        "last stated value"
    );
    let source = "SELECT coalesce(availability_source, 'NULL') FROM products";
    assert_eq!(rows(&db, source), ["product"], "the kept value's source");
    shop.set_products(&[with_variant(base, |v| {
        v.insert("available".into(), json!(false));
    })]);
    sync_ok(&db, &shop, false).await;
    let changes = "SELECT coalesce(old_value, 'NULL') || '->' || coalesce(new_value, 'NULL')
                   FROM variant_changes WHERE field = 'available'";
    assert_eq!(rows(&db, changes), ["1->0"]);
    assert_eq!(scalar(&db, "SELECT available FROM variants"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_deleted_during_an_interrupted_run_is_tombstoned_by_the_next_complete_run() {
    let shop = FakeShop::start(Catalog::from_products(&[
        product(1, "p1", "P1", &[11]),
        product(2, "p2", "P2", &[21]),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, false).await;
    // Run 2 reads page 1 (P1), then fails on page 2; P1 is deleted before it resumes.
    shop.script_fault("/products.json?limit=1&page=2", 1, Fault::Status(403));
    assert_eq!(sync1(&db, &shop, false).await.code, Some(1));
    shop.remove_product(1);
    sync_ok(&db, &shop, false).await;
    let resumed = "SELECT status || '/' || resumes FROM sync_runs WHERE run_id = 2";
    assert_eq!(rows(&db, resumed), ["complete/1"]);
    let gone = "SELECT count(*) FROM products WHERE product_id = 1 AND deleted_at IS NOT NULL";
    assert_eq!(
        scalar(&db, gone),
        0,
        "seen by the run before it was interrupted"
    );
    sync_ok(&db, &shop, false).await;
    assert_eq!(
        scalar(&db, gone),
        1,
        "the next complete run confirms it gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_id_keeps_a_collection_from_losing_members_that_run() {
    let shop = FakeShop::start(Catalog::from_products(&[
        product(1, "p1", "P1", &[11]),
        product(2, "p2", "P2", &[21]),
    ]))
    .await;
    shop.set_collections(vec![collection(9001, "sale", vec![1, 2])]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    sync_ok(&db, &shop, true).await;
    assert_eq!(scalar(&db, "SELECT count(*) FROM collection_products"), 2);
    // P2 leaves the collection, and the feed sends its only member without an id.
    shop.set_collections(vec![collection(9001, "sale", vec![1])]);
    let feed = "/collections/sale/products.json?limit=1&page=1";
    shop.script_fault(feed, 1, Fault::EditFirst(Edit(no_id)));
    sync_ok(&db, &shop, true).await;
    assert_eq!(scalar(&db, "SELECT count(*) FROM collection_products"), 2);
    let removed = "SELECT count(*) FROM collection_changes WHERE change = 'removed'";
    assert_eq!(scalar(&db, removed), 0, "inconclusive: no member removed");
    let inconclusive = "SELECT deletions_inconclusive FROM sync_runs WHERE run_id = 2";
    assert_eq!(scalar(&db, inconclusive), 1);
    // A clean run removes P2 from the collection.
    sync_ok(&db, &shop, true).await;
    assert_eq!(scalar(&db, removed), 1);
}
