//! The one-shot sync against a real HTTP fake storefront: exact mirror, incremental re-sync,
//! resumption after a failed page, the listing cap, deletions confirmed without false alarms,
//! and clear errors.

use crate::support;

use support::fakeshop::faults::Fault;
use support::fakeshop::{Catalog, FakeShop};
use support::{assert_mirror_equals, scalar, shopmirror, sync};

const NO_COLLECTIONS: &str = "collections = false";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sync_of_unchanged_store_rewrites_nothing() {
    let shop = FakeShop::start(Catalog::generate(2_500, 7)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");

    let first = sync(&db, &shop.url()).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_mirror_equals(&shop, &db);
    let run1 = "SELECT products_new FROM sync_runs WHERE run_id = 1";
    assert_eq!(scalar(&db, run1), 2_500);
    let variants = scalar(&db, "SELECT count(*) FROM variants");
    let images = scalar(&db, "SELECT count(*) FROM images");
    let options = scalar(&db, "SELECT count(*) FROM options");

    let second = sync(&db, &shop.url()).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let counts = "SELECT products_new || '/' || products_changed || '/' || products_unchanged
                  || '/' || products_deleted FROM sync_runs WHERE run_id = 2";
    let conn = rusqlite::Connection::open(&db).unwrap();
    let summary: String = conn.query_row(counts, [], |r| r.get(0)).unwrap();
    assert_eq!(summary, "0/0/2500/0");
    for table in ["variants", "images", "options"] {
        let rewritten = scalar(
            &db,
            &format!("SELECT count(*) FROM {table} WHERE written_run = 2"),
        );
        assert_eq!(rewritten, 0, "{table} rows rewritten by the no-change sync");
    }
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM products WHERE written_run = 2"),
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM product_seen WHERE last_seen_run = 2"
        ),
        2_500
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM variants"), variants);
    assert_eq!(scalar(&db, "SELECT count(*) FROM images"), images);
    assert_eq!(scalar(&db, "SELECT count(*) FROM options"), options);
    assert_eq!(scalar(&db, "SELECT count(*) FROM product_versions"), 2_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_changes_are_rewritten_and_recorded() {
    let shop = FakeShop::start(Catalog::generate(600, 3)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    assert_eq!(sync(&db, &shop.url()).await.code, Some(0));

    let ids = shop.product_ids();
    let in_stock = shop
        .expected_products()
        .iter()
        .find(|p| p["variants"][0]["available"] == true && p["id"] != ids[10] && p["id"] != ids[30])
        .map(|p| p["id"].as_u64().unwrap())
        .unwrap();
    shop.set_price(ids[10], 0, "1.23");
    shop.set_available(in_stock, 0, false);
    shop.set_title(ids[30], "A new title");
    let result = sync(&db, &shop.url()).await;
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert_mirror_equals(&shop, &db);
    assert_eq!(
        scalar(
            &db,
            "SELECT products_changed FROM sync_runs WHERE run_id = 2"
        ),
        3
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM products WHERE written_run = 2"),
        3
    );
    let price = format!(
        "SELECT count(*) FROM variant_changes WHERE field = 'price' AND product_id = {}
         AND new_value = '1.23'",
        ids[10]
    );
    assert_eq!(scalar(&db, &price), 1);
    let available = format!(
        "SELECT count(*) FROM variant_changes WHERE field = 'available' AND product_id = {}
         AND old_value = '1' AND new_value = '0'",
        in_stock
    );
    assert_eq!(scalar(&db, &available), 1);
    let versions = format!(
        "SELECT count(*) FROM product_versions WHERE product_id = {}",
        ids[30]
    );
    assert_eq!(scalar(&db, &versions), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_page_keeps_mirror_and_cursor_and_the_next_run_resumes_there() {
    let shop = FakeShop::start(Catalog::generate(1_500, 5)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // HTTP 403 is not transient: the page fails at once.
    shop.script_fault("/products.json?limit=250&page=3", 1, Fault::Status(403));
    let failed = sync(&db, &shop.url()).await;
    assert_eq!(failed.code, Some(1));
    let message = failed.stderr.trim();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("403"), "{message}");
    assert!(message.contains(&format!("{}/products.json?limit=250&page=3", shop.url())));
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 500);
    assert_eq!(scalar(&db, "SELECT next_page FROM sync_cursor"), 3);
    let status = "SELECT count(*) FROM sync_runs WHERE status = 'failed' AND error LIKE '%403%'";
    assert_eq!(scalar(&db, status), 1);

    shop.clear_request_log();
    let resumed = sync(&db, &shop.url()).await;
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    let listing: Vec<String> = shop
        .request_log()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with("/products.json"))
        .collect();
    assert_eq!(listing[0], "/products.json?limit=250&page=3", "{listing:?}");
    assert!(!listing
        .iter()
        .any(|p| p.ends_with("page=1") || p.ends_with("page=2")));
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 1);
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_cursor"), 0);
    assert_mirror_equals(&shop, &db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_listing_is_recorded_and_never_deletes() {
    // A store whose listing hits the cap and whose sitemap is unavailable, with collections
    // off: nothing can complete the enumeration, so the run ends capped.
    let shop = FakeShop::start(Catalog::generate(1_300, 9)).await;
    shop.set_cap(1_000);
    shop.script_fault("/sitemap.xml", 10, Fault::NotFound404);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let first = support::sync_configured(&db, &shop.url(), "collections = false").await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 1_000);
    let capped = "SELECT count(*) FROM sync_runs WHERE status = 'capped' AND listing_capped = 1";
    assert_eq!(scalar(&db, capped), 1);
    // Products pushed past the cap by new ones are not seen, yet must not be deleted.
    for _ in 0..250 {
        shop.add_product();
    }
    let second = support::sync_configured(&db, &shop.url(), "collections = false").await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM products WHERE deleted_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 1_250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_added_and_removed_during_a_sync_never_tombstone_a_live_product() {
    // Collections off: a collection walk would see the skipped products before the deletions
    // phase, and this test is about confirming candidates one by one.
    let shop = FakeShop::start(Catalog::generate(1_250, 11)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    assert_eq!(
        support::sync_configured(&db, &shop.url(), NO_COLLECTIONS)
            .await
            .code,
        Some(0)
    );

    // Mid-crawl (while page 3 is held), remove three products from pages already listed and
    // add one at the top: every later page shifts up by two, so this pass skips live products
    // at each page boundary. They must be confirmed alive, not tombstoned.
    let ids = shop.product_ids();
    let removed = [ids[5], ids[300], ids[400]];
    let gate = shop.pause_nth("/products.json", 3);
    let (db2, url) = (db.clone(), shop.url());
    let running =
        tokio::spawn(async move { support::sync_configured(&db2, &url, NO_COLLECTIONS).await });
    gate.reached().await;
    for id in removed {
        assert!(shop.remove_product(id));
    }
    let added = [shop.add_product()];
    shop.clear_request_log();
    gate.release();
    let result = running.await.unwrap();
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let checked_alive = shop
        .request_log()
        .iter()
        .filter(|r| r.path.starts_with("/products/") && r.status == 200)
        .count();

    let live: std::collections::BTreeSet<i64> =
        shop.product_ids().into_iter().map(|id| id as i64).collect();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tombstoned: Vec<i64> = conn
        .prepare("SELECT product_id FROM products WHERE deleted_at IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for id in &tombstoned {
        assert!(!live.contains(id), "live product {id} was marked deleted");
    }
    assert!(
        checked_alive >= 2,
        "the shifted listing skipped no product: test is not testing"
    );
    // The removed products were seen on pages 1-2 before removal in this run, so the next
    // complete run marks them; the new one arrives with it.
    let third = support::sync_configured(&db, &shop.url(), NO_COLLECTIONS).await;
    assert_eq!(third.code, Some(0), "{}", third.stderr);
    for id in removed {
        let sql = format!(
            "SELECT count(*) FROM products WHERE product_id = {id} AND deleted_at IS NOT NULL"
        );
        assert_eq!(scalar(&db, &sql), 1, "removed product {id} not tombstoned");
        let events = format!(
            "SELECT count(*) FROM product_events WHERE product_id = {id} AND event = 'deleted'"
        );
        assert_eq!(scalar(&db, &events), 1);
    }
    for id in added {
        let sql =
            format!("SELECT count(*) FROM products WHERE product_id = {id} AND deleted_at IS NULL");
        assert_eq!(scalar(&db, &sql), 1);
    }
    assert_mirror_equals(&shop, &db);

    // A tombstoned product that is listed again is restored, with an event.
    let back = shop.product_ids()[7] as i64;
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tombstone = "UPDATE products SET deleted_at = '2026-01-01 00:00:00' WHERE product_id = ?1";
    conn.execute(tombstone, [back]).unwrap();
    drop(conn);
    let again = support::sync_configured(&db, &shop.url(), NO_COLLECTIONS).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let restored =
        format!("SELECT count(*) FROM products WHERE product_id = {back} AND deleted_at IS NULL");
    assert_eq!(scalar(&db, &restored), 1);
    let event = format!(
        "SELECT count(*) FROM product_events WHERE product_id = {back} AND event = 'restored'"
    );
    assert_eq!(scalar(&db, &event), 1);
    assert_eq!(
        scalar(
            &db,
            "SELECT products_restored FROM sync_runs ORDER BY run_id DESC LIMIT 1"
        ),
        1
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM products WHERE deleted_at IS NOT NULL"
        ),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");

    // Unreachable host: nothing listens on this port.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut unreachable = shopmirror();
    unreachable.env("SHOPMIRROR_HTTP__BACKOFF_BASE", "10ms");
    unreachable.arg("--db").arg(&db).arg("sync").arg(&url);
    let unreachable = support::run(unreachable).await;
    assert_eq!(unreachable.code, Some(1));
    // Warnings (retries, the breaker opening) may come first; the failure is one line.
    let failures: Vec<&str> = unreachable
        .stderr
        .lines()
        .filter(|l| l.starts_with("shopmirror: "))
        .collect();
    assert_eq!(failures.len(), 1, "{}", unreachable.stderr);
    assert!(failures[0].contains(&format!("http://127.0.0.1:{port}/products.json")));

    // Private addresses are refused unless allowed.
    let mut refused = shopmirror();
    refused.env_remove("SHOPMIRROR_HTTP__ALLOW_PRIVATE");
    refused.arg("--db").arg(&db).arg("sync").arg(&url);
    let refused = support::run(refused).await;
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("allow_private"),
        "{}",
        refused.stderr
    );

    // Invalid config: exit 2, naming the key and the file.
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[sync]\npage_size = \"many\"\n").unwrap();
    let mut bad = shopmirror();
    bad.arg("--config").arg(&config).arg("sync");
    let bad = support::run(bad).await;
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr.contains("sync.page_size") && bad.stderr.contains("bad.toml"),
        "{}",
        bad.stderr
    );

    // Unwritable database path.
    let shop = FakeShop::start(Catalog::generate(10, 1)).await;
    let unwritable = sync(std::path::Path::new("/nonexistent-dir/m.db"), &shop.url()).await;
    assert_eq!(unwritable.code, Some(1));
    assert!(
        unwritable.stderr.contains("/nonexistent-dir/m.db"),
        "{}",
        unwritable.stderr
    );

    // Not a Shopify store: 200 with HTML.
    shop.script_fault("/products.json", 1, Fault::Html200);
    let html = sync(&db, &shop.url()).await;
    assert_eq!(html.code, Some(1));
    assert!(html.stderr.contains("not JSON"), "{}", html.stderr);
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_syncs_several_stores_in_one_process() {
    let first = FakeShop::start(Catalog::generate(300, 1)).await;
    let second = FakeShop::start(Catalog::generate(200, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let config = dir.path().join("fleet.json");
    let text = serde_json::json!({
        "database": { "path": db },
        "stores": {
            "first": { "url": first.url() },
            "second": { "url": second.url() },
        }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let mut command = shopmirror();
    command.arg("--config").arg(&config).arg("sync");
    let result = support::run(command).await;
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert!(
        result.stdout.contains("first: complete") && result.stdout.contains("second: complete")
    );
    let per_store = "SELECT group_concat(name || '=' || n, ',') FROM (SELECT s.name, count(*) AS n
                     FROM products p JOIN stores s USING (store_id) GROUP BY s.name ORDER BY s.name)";
    let conn = rusqlite::Connection::open(&db).unwrap();
    let counts: String = conn.query_row(per_store, [], |r| r.get(0)).unwrap();
    assert_eq!(counts, "first=300,second=200");

    // One store by name.
    let mut command = shopmirror();
    command
        .arg("--config")
        .arg(&config)
        .arg("sync")
        .arg("second");
    let result = support::run(command).await;
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 3);
}

#[tokio::test]
async fn check_config_prints_the_resolved_config_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[http]\nmin_delay = \"3s\"\n[stores.x]\nurl = \"https://bob:hunter2@shop.example.com\"\n",
    )
    .unwrap();
    let mut command = shopmirror();
    command.env_remove("SHOPMIRROR_HTTP__MIN_DELAY");
    command.arg("--config").arg(&config).arg("check-config");
    let result = support::run(command).await;
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    let resolved: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(resolved["http"]["min_delay"], "3s");
    assert_eq!(
        resolved["http"]["allow_private"], true,
        "the environment layer applies"
    );
    assert_eq!(resolved["stores"]["x"]["url"], "https://shop.example.com");
    assert!(!result.stdout.contains("hunter2"));
}
