//! Stores past the 25,000 listing cap: collection feeds complete them at page cost before the
//! sitemap fetches what no page showed one by one; requests are counted by source; `.js`
//! supplies availability the single shape lacks; 100-variant lists are treated as possibly cut.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use shopmirror::outcome::RunStatus;
use shopmirror::store::{Reader, Requests, RunCounts};
use support::expected_hashes;
use support::fakeshop::{Catalog, FakeShop};
use support::mirror::{requests_by_endpoint, store, Mirror};

/// The fake's log, summed into the run's sources.
fn logged_by_source(shop: &FakeShop) -> Requests {
    let log = requests_by_endpoint(shop);
    let n = |kind: &str| log.get(kind).copied().unwrap_or(0) as i64;
    Requests {
        listing: n("listing"),
        collections: n("collections") + n("collection products"),
        sitemap: n("sitemap index") + n("product sitemap"),
        single: n("single product") + n("single product js"),
        deletions: 0,
    }
}

/// Handles of the single-product requests in the fake's log.
fn single_handles(shop: &FakeShop) -> BTreeSet<String> {
    shop.request_log()
        .iter()
        .filter_map(|r| r.path.strip_prefix("/products/"))
        .filter_map(|p| p.strip_suffix(".json"))
        .map(str::to_string)
        .collect()
}

/// A first sync and a re-sync of a capped store whose collections cover `percent` of it: both
/// complete and exact, with the requests the run recorded equal to those the fake answered.
async fn sync_twice(shop: &FakeShop, m: &Mirror) -> [(RunCounts, BTreeSet<String>); 2] {
    let s = store(shop, true);
    let mut runs = Vec::new();
    for _ in 0..2 {
        shop.clear_request_log();
        let run = m.sync(&s).await;
        assert_eq!(
            (run.status.as_str(), run.listing_capped),
            ("complete", true)
        );
        assert_eq!(m.hashes(), expected_hashes(shop.expected_catalog()));
        assert_eq!(run.requests_by_source, logged_by_source(shop));
        assert_eq!(run.requests, run.requests_by_source.total());
        runs.push((run, single_handles(shop)));
    }
    let second = &runs[1].0;
    assert_eq!((second.new, second.changed), (0, 0));
    assert_eq!(m.rows_written_by(second.run_id), 0);
    runs.try_into().unwrap_or_else(|_| unreachable!())
}

/// Products neither listed (the newest `cap`) nor in any collection feed (each capped too).
fn uncovered_handles(shop: &FakeShop, cap: usize) -> BTreeSet<String> {
    let mut seen: BTreeSet<u64> = shop.product_ids().into_iter().take(cap).collect();
    for handle in shop.collection_handles() {
        let members = shop.collection_product_ids(&handle).unwrap();
        seen.extend(members.into_iter().take(cap));
    }
    shop.all_product_ids()
        .into_iter()
        .filter(|id| !seen.contains(id))
        .map(|id| shop.handle_of(id).unwrap())
        .collect()
}

/// `n` products under a listing cap of `cap`, collections of `size` covering `percent`.
async fn capped_store(n: usize, cap: usize, size: usize, percent: usize) -> FakeShop {
    let mut catalog = Catalog::generate(n, 31);
    catalog.cover_with_collections(size, percent);
    let shop = FakeShop::start(catalog).await;
    shop.set_cap(cap);
    shop
}

fn assert_page_cost(runs: &[(RunCounts, BTreeSet<String>)], n: usize) {
    for (run, singles) in runs {
        let r = run.requests_by_source;
        eprintln!("run {}: {r:?}", run.run_id);
        assert!(r.total() as usize * 250 <= 4 * n, "{r:?} for {n} products");
        assert!((r.single as usize) * 100 < n, "{r:?}");
        assert!(singles.is_empty());
    }
}

/// 3,000 products under a cap of 1,250 take the path of 60,000 under 25,000 (the same ratio):
/// the listing stops at the cap, collections reach the rest, the sitemap fetches nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_complete_a_capped_store_at_page_cost() {
    let shop = capped_store(3_000, 1_250, 250, 100).await;
    let m = Mirror::new();
    let runs = sync_twice(&shop, &m).await;
    assert_page_cost(&runs, 3_000);
}

/// The real size, 60,000 products under Shopify's 25,000 cap, collections of 5,000 covering
/// every product. Slow in a debug build; run with
/// `cargo test --release --test big_stores -- --ignored --nocapture` (prints requests by source).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "60,000 products: run in release on demand"]
async fn sixty_thousand_products_covered_by_collections_at_page_cost() {
    let shop = capped_store(60_000, 25_000, 5_000, 100).await;
    let m = Mirror::new();
    let started = std::time::Instant::now();
    let runs = sync_twice(&shop, &m).await;
    eprintln!("two runs in {:?}", started.elapsed());
    assert_page_cost(&runs, 60_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_covering_80_percent_leave_exactly_the_rest_to_single_requests() {
    let shop = capped_store(2_500, 500, 250, 80).await;
    let uncovered = uncovered_handles(&shop, 500);
    assert_eq!(uncovered.len(), 500, "the oldest 20% are in no collection");
    let m = Mirror::new();
    for (run, singles) in sync_twice(&shop, &m).await {
        assert_eq!(singles, uncovered, "run {}", run.run_id);
        assert_eq!(run.requests_by_source.single, 500);
    }
    let sources = m.count(
        "SELECT count(*) FROM products WHERE source = 'single' AND availability_source = 'product'",
    );
    assert_eq!(
        sources, 500,
        "the single shape with inventory says availability itself"
    );
}

/// Availability of the products only the single endpoint supplies, as the catalogue has it.
fn availability(m: &Mirror, product: i64) -> Vec<(i64, Option<bool>)> {
    let conn = m.conn();
    let mut s = conn
        .prepare("SELECT variant_id, available FROM variants WHERE product_id = ?1 ORDER BY 1")
        .unwrap();
    let rows = s.query_map([product], |r| Ok((r.get(0)?, r.get(1)?)));
    rows.unwrap().collect::<Result<_, _>>().unwrap()
}

/// Variant ids and availability of every product of the fake's catalogue.
fn catalogue_availability(shop: &FakeShop) -> BTreeMap<u64, Vec<(i64, Option<bool>)>> {
    shop.expected_catalog()
        .iter()
        .map(|p| (p["id"].as_u64().unwrap(), variant_availability(p)))
        .collect()
}

fn variant_availability(p: &Value) -> Vec<(i64, Option<bool>)> {
    let mut out: Vec<(i64, Option<bool>)> = p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_i64().unwrap(), v["available"].as_bool()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_fills_availability_past_the_cap_only_when_its_prices_agree() {
    let shop = FakeShop::start(Catalog::generate(400, 9)).await;
    shop.set_cap(250);
    shop.set_single_inventory(false);
    let past_cap: Vec<u64> = shop.product_ids()[250..].to_vec();
    let m = Mirror::new();
    let s = store(&shop, false);
    let first = m.sync(&s).await;
    assert_eq!(first.status, RunStatus::Complete);
    assert_eq!(
        first.requests_by_source.single,
        2 * 150,
        ".json and .js each"
    );
    let catalogue = catalogue_availability(&shop);
    for &id in &past_cap {
        assert_eq!(availability(&m, id as i64), catalogue[&id]);
    }
    let hashes = m.hashes();
    assert_eq!(
        m.count(
            "SELECT count(*) FROM products
             WHERE source = 'single' AND availability_source = 'js'"
        ),
        150
    );

    // A change of availability past the cap: recorded, the content hash stays.
    let (product, variant) = (past_cap[10], 0);
    let listed = shop.expected_catalog();
    let listed = listed.iter().find(|p| p["id"] == product).unwrap();
    let (variant_id, was) = (
        listed["variants"][variant]["id"].as_i64().unwrap(),
        listed["variants"][variant]["available"].as_bool().unwrap(),
    );
    shop.set_available(product, variant, !was);
    let second = m.sync(&s).await;
    assert_eq!((second.changed, second.new), (0, 0));
    assert_eq!(m.hashes(), hashes);
    let change: (i64, String, String) = m
        .conn()
        .query_row(
            "SELECT variant_id, old_value, new_value FROM variant_changes
             WHERE field = 'available' AND run_id = ?1",
            [second.run_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    assert_eq!(change, (variant_id, flag(was), flag(!was)));
    assert_eq!(
        availability(&m, product as i64),
        catalogue_availability(&shop)[&product]
    );

    // `.js` in a visitor's currency: availability stays unknown, prices are the store's.
    shop.set_js_price_percent(92);
    let other = Mirror::new();
    other.sync(&s).await;
    assert_eq!(
        other.count(
            "SELECT count(*) FROM variants v JOIN products p USING (store_id, product_id)
             WHERE p.source = 'single' AND v.available IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        other.count(
            "SELECT count(*) FROM products WHERE source = 'single' AND availability_source IS NULL"
        ),
        150
    );
    assert_eq!(
        other.hashes(),
        hashes,
        "the .js answer never reaches a hash"
    );
}

/// Serves `variants[from..from + count]` (in that order) as the product's variant list.
fn serve_variants(shop: &FakeShop, product: u64, variants: &[Value], from: usize, count: usize) {
    let shown: Vec<Value> = variants[from..from + count].to_vec();
    shop.modify_product(product, |p| p["variants"] = Value::Array(shown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variants_moving_in_and_out_of_a_100_variant_view_are_not_added_or_removed() {
    let shop = FakeShop::start(Catalog::generate(40, 23)).await;
    let product = shop.product_ids()[5];
    let template = shop
        .expected_catalog()
        .into_iter()
        .find(|p| p["id"] == product)
        .unwrap()["variants"][0]
        .clone();
    let variants: Vec<Value> = (0..150u64)
        .map(|k| {
            let mut v = template.clone();
            v["id"] = json!(99_000_000_000_000 + k);
            v["title"] = json!(format!("Size {k}"));
            v["option1"] = json!(format!("Size {k}"));
            v["position"] = json!(k + 1);
            v["featured_image"] = Value::Null;
            v
        })
        .collect();
    // A product of 150 variants served as its first 100.
    serve_variants(&shop, product, &variants, 0, 100);
    let m = Mirror::new();
    let s = store(&shop, false);
    m.sync(&s).await;
    let truncated = |m: &Mirror| {
        m.count(&format!(
            "SELECT variants_truncated FROM products WHERE product_id = {product}"
        ))
    };
    assert_eq!(truncated(&m), 1);
    let status = &Reader::open(&m.db).unwrap().store_statuses().unwrap()[0];
    assert_eq!(status.possibly_truncated_products, 1);

    // The view moves: 50 variants leave it and 50 beyond it come in; one visible price moves.
    let mut moved = variants.clone();
    moved[60]["price"] = json!("1.23");
    serve_variants(&shop, product, &moved, 50, 100);
    let run = m.sync(&s).await;
    assert_eq!(run.changed, 1);
    let fields = |run: i64| -> Vec<String> {
        let conn = m.conn();
        let mut q = conn
            .prepare("SELECT field FROM variant_changes WHERE run_id = ?1 ORDER BY change_id")
            .unwrap();
        let rows = q.query_map([run], |r| r.get(0));
        rows.unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(fields(run.run_id), ["price"]);

    // 90 variants now: the list is whole, so the stored ones it lacks are really gone.
    serve_variants(&shop, product, &moved, 50, 90);
    let run = m.sync(&s).await;
    assert_eq!(truncated(&m), 0);
    assert_eq!(fields(run.run_id), vec!["variant_removed".to_string(); 10]);
    let status = &Reader::open(&m.db).unwrap().store_statuses().unwrap()[0];
    assert_eq!(status.possibly_truncated_products, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_by_source_reach_status_json_and_the_summary_line() {
    let shop = capped_store(1_000, 250, 250, 60).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let done = support::sync(&db, &shop.url()).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let logged = logged_by_source(&shop);
    assert_eq!(logged.single, 400, "the oldest 40% one by one");
    let summary = format!(
        "{} requests (listing {}, collections {}, sitemap {}, single {}, deletion checks 0)",
        logged.total(),
        logged.listing,
        logged.collections,
        logged.sitemap,
        logged.single
    );
    assert!(done.stdout.contains(&summary), "{}", done.stdout);

    let mut status = support::shopmirror();
    status.arg("--db").arg(&db).args(["status", "--json"]);
    let status = support::run(status).await;
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    let json: Value = serde_json::from_str(&status.stdout).unwrap();
    let shown: Requests = serde_json::from_value(json[0]["last_run_requests"].clone()).unwrap();
    assert_eq!(shown, logged);
}
