//! Collections walked only when their /collections.json entry changed
//! (`collections.full_walk_every`), through the real binary and the fake storefront: an
//! unchanged entry costs no request of its feed and keeps its membership exactly, a changed
//! `updated_at` or `products_count` is walked, a change hidden from the entry waits for the full
//! walk, the default still walks everything, and a walk interrupted mid-feed is not recorded as
//! complete.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use support::fakeshop::{Catalog, FakeShop};
use support::{scalar, sqlite3, sync_configured_env, Finished};

const OPT_IN: &str = "collections_full_walk_every = \"7d\"";

async fn shop() -> FakeShop {
    FakeShop::start(Catalog::generate(600, 24)).await
}

async fn synced(db: &Path, shop: &FakeShop, extra: &str, env: &[(&str, &str)]) {
    shop.clear_request_log();
    let done: Finished = sync_configured_env(db, &shop.url(), extra, env).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let status = sqlite3(
        db,
        "SELECT status FROM sync_runs ORDER BY run_id DESC LIMIT 1",
    );
    assert_eq!(status, "complete");
}

/// Handles of the collection feeds the fake was asked for since its log was cleared.
fn walked(shop: &FakeShop) -> BTreeSet<String> {
    shop.request_log()
        .iter()
        .filter_map(|r| {
            let rest = r.path.strip_prefix("/collections/")?;
            Some(rest.split_once("/products.json")?.0.to_string())
        })
        .collect()
}

/// Requests in the fake's log whose path starts with `prefix`.
fn asked(shop: &FakeShop, prefix: &str) -> usize {
    let log = shop.request_log();
    log.iter().filter(|r| r.path.starts_with(prefix)).count()
}

/// Every membership row as stored (collection, product, position, run that last saw it).
fn membership(db: &Path) -> String {
    sqlite3(
        db,
        "SELECT group_concat(collection_id || ':' || product_id || ':' || position || ':'
                             || last_seen_run, ' ')
         FROM (SELECT * FROM collection_products ORDER BY collection_id, product_id)",
    )
}

/// The stored members of `handle`, in the collection's order.
fn members(db: &Path, handle: &str) -> Vec<u64> {
    let sql = format!(
        "SELECT CAST(cp.product_id AS TEXT) FROM collection_products cp
         JOIN collections c USING (store_id, collection_id)
         WHERE c.handle = '{handle}' ORDER BY cp.position"
    );
    support::rows(db, &sql)
        .iter()
        .map(|r| r.parse().unwrap())
        .collect()
}

fn every_handle(shop: &FakeShop) -> BTreeSet<String> {
    shop.collection_handles().into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_entries_are_left_unwalked_and_changed_ones_are_walked() {
    let shop = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // The global key from the environment: every store's default.
    let env = [("SHOPMIRROR_COLLECTIONS__FULL_WALK_EVERY", "7d")];
    synced(&db, &shop, "", &env).await;
    assert_eq!(
        walked(&shop),
        every_handle(&shop),
        "a first run walks every collection"
    );
    let recorded = scalar(
        &db,
        "SELECT count(*) FROM collection_walks WHERE run_id = 1",
    );
    assert_eq!(recorded as usize, shop.collection_handles().len());

    // Nothing changed: no feed is asked for, and the membership stays row for row.
    let before = membership(&db);
    let changes = scalar(&db, "SELECT count(*) FROM collection_changes");
    synced(&db, &shop, "", &env).await;
    assert_eq!(
        walked(&shop),
        BTreeSet::new(),
        "unchanged collections walked"
    );
    let total = shop.request_count();
    let listing = asked(&shop, "/products.json");
    assert_eq!(total, listing + asked(&shop, "/collections.json"));
    assert_eq!(
        membership(&db),
        before,
        "a skipped collection's membership moved"
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM collection_changes"),
        changes
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM collections WHERE deleted_at IS NOT NULL"
        ),
        0
    );

    // One entry's updated_at moves; another collection gains a member (its products_count
    // moves); a third swaps a member for another (its entry says nothing).
    let handles = shop.collection_handles();
    let (touched, grown, swapped) = (&handles[2], &handles[3], &handles[4]);
    shop.edit_collection(touched, |c| {
        c.updated_at = "2026-12-01T10:00:00-04:00".into()
    });
    let (joined, _) = shop.change_members(grown, false);
    let (_, left) = shop.change_members(swapped, true);
    let stale = members(&db, swapped);
    synced(&db, &shop, "", &env).await;
    let want: BTreeSet<String> = [touched.clone(), grown.clone()].into();
    assert_eq!(walked(&shop), want);
    assert!(members(&db, grown).contains(&joined));
    assert_eq!(
        members(&db, grown),
        shop.collection_product_ids(grown).unwrap()
    );
    assert_eq!(
        members(&db, swapped),
        stale,
        "the hidden change is not seen yet"
    );
    assert!(members(&db, swapped).contains(&left.unwrap()));

    // A collection gone from /collections.json is checked (its feed answers 404) and
    // tombstoned as without the opt-in.
    let gone = handles[5].clone();
    let kept = shop.with_catalog(|c| c.collections.clone());
    shop.set_collections(kept.into_iter().filter(|c| c.handle != gone).collect());
    synced(&db, &shop, "", &env).await;
    assert_eq!(walked(&shop), [gone.clone()].into(), "only the 404 check");
    let tombstoned = format!(
        "SELECT count(*) FROM collections WHERE handle = '{gone}' AND deleted_at IS NOT NULL"
    );
    assert_eq!(scalar(&db, &tombstoned), 1);

    // Eight days later (the walks' times moved back): every collection is walked again, and
    // the hidden change is picked up.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE collection_walks SET walked_at = datetime(walked_at, '-8 days')",
            [],
        )
        .unwrap();
    synced(&db, &shop, "", &env).await;
    assert_eq!(walked(&shop), every_handle(&shop), "the full walk is due");
    for handle in shop.collection_handles() {
        let want = shop.collection_product_ids(&handle).unwrap();
        assert_eq!(members(&db, &handle), want, "collection {handle}");
    }
    let removed = format!(
        "SELECT count(*) FROM collection_changes
         WHERE change = 'removed' AND product_id = {}",
        left.unwrap()
    );
    assert_eq!(scalar(&db, &removed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_every_collection_is_walked_every_run() {
    let shop = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    synced(&db, &shop, "", &[]).await;
    let first = shop.request_count();
    synced(&db, &shop, "", &[]).await;
    assert_eq!(walked(&shop), every_handle(&shop));
    assert_eq!(
        shop.request_count(),
        first,
        "an unchanged default run asks the same"
    );
    // A store may turn the global opt-in off again: "0s" walks everything.
    let env = [("SHOPMIRROR_COLLECTIONS__FULL_WALK_EVERY", "7d")];
    synced(&db, &shop, "collections_full_walk_every = \"0s\"", &env).await;
    assert_eq!(walked(&shop), every_handle(&shop));
    // The default run recorded its walks: the opt-in (here the store's own key, from the
    // environment) skips from its first run on.
    let env = [("SHOPMIRROR_STORES__SHOP__COLLECTIONS_FULL_WALK_EVERY", "7d")];
    synced(&db, &shop, "", &env).await;
    assert_eq!(walked(&shop), BTreeSet::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_interrupted_mid_feed_is_not_recorded_as_complete() {
    let shop = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    synced(&db, &shop, "", &[]).await;
    let record = "SELECT w.run_id || ' ' || w.walked_at FROM collection_walks w
                  JOIN collections c USING (store_id, collection_id) WHERE c.handle = 'all'";
    let first = sqlite3(&db, record);
    assert!(first.starts_with("1 "), "{first}");

    // A default run killed while `all` (600 members, 3 pages) is on its second page.
    let gate = shop.pause_nth("/collections/all/products.json", 2);
    let config = db.with_extension("toml");
    std::fs::write(
        &config,
        format!("[stores.shop]\nurl = \"{}\"\n", shop.url()),
    )
    .unwrap();
    let mut child = support::shopmirror()
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .args(["sync", "shop"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::select! {
        _ = gate.reached() => {}
        status = child.wait() => panic!("the run ended before the gate: {status:?}"),
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    drop(gate);
    assert_eq!(sqlite3(&db, record), first, "a half walk was recorded");

    // Resumed with the opt-in: `all` is unchanged and recently walked, but its walk is half
    // done, so it goes on from page 2 and only then is recorded; the rest is skipped.
    synced(&db, &shop, OPT_IN, &[]).await;
    let log = shop.request_log();
    let feed = log
        .iter()
        .find(|r| r.path.starts_with("/collections/"))
        .unwrap();
    assert_eq!(feed.path, "/collections/all/products.json?limit=250&page=2");
    assert_eq!(walked(&shop), ["all".to_string()].into());
    assert!(sqlite3(&db, record).starts_with("2 "));
    assert_eq!(
        members(&db, "all"),
        shop.collection_product_ids("all").unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_holding_products_the_run_has_not_seen_is_walked() {
    // 3,000 products, 12 collections of 250 in store order, the listing capped at 1,000: the
    // listing shows exactly the members of part-1 to part-4; the rest is reached through the
    // other collections, which the opt-in must therefore walk although their entries hold
    // still.
    let mut catalog = Catalog::generate(3_000, 41);
    catalog.cover_with_collections(250, 100);
    let shop = FakeShop::start(catalog).await;
    shop.set_cap(1_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    synced(&db, &shop, OPT_IN, &[]).await;
    synced(&db, &shop, OPT_IN, &[]).await;
    let rest: BTreeSet<String> = (5..=12).map(|i| format!("part-{i}")).collect();
    assert_eq!(walked(&shop), rest);
    assert_eq!(
        asked(&shop, "/products/"),
        0,
        "a product fetched one by one"
    );
    support::assert_mirror_equals(&shop, &db);

    // A product of part-2 now hidden from the listing: part-2 is walked to reach it.
    let hidden = shop.collection_product_ids("part-2").unwrap()[7];
    shop.hide_from_listing(hidden);
    synced(&db, &shop, OPT_IN, &[]).await;
    let mut with_part_2 = rest.clone();
    with_part_2.insert("part-2".into());
    assert_eq!(walked(&shop), with_part_2);
    assert_eq!(asked(&shop, "/products/"), 0);
    let seen = format!("SELECT last_seen_run FROM product_seen WHERE product_id = {hidden}");
    assert_eq!(scalar(&db, &seen), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_that_reaches_the_feeds_cap_is_recorded() {
    // 40 products titled in store order, the fake's cap at 20 items a feed (pages of 10): the
    // listing stops at the cap, and so does `big` (every product, alphabetical, so its first
    // 20 are the listing's 20). All the feed can show was read: recorded, and skipped next time.
    let generated = FakeShop::start(Catalog::generate(40, 7)).await;
    let mut products = generated.expected_products();
    for (i, p) in products.iter_mut().enumerate() {
        p["title"] = format!("Item {i:02}").into();
    }
    let shop = FakeShop::start(Catalog::from_products(&products)).await;
    shop.set_collections(vec![support::fakeshop::Collection {
        id: 270_000_000_001,
        handle: "big".into(),
        title: "Big".into(),
        body_html: String::new(),
        published_at: "2026-01-01T00:00:00-04:00".into(),
        updated_at: "2026-01-02T00:00:00-04:00".into(),
        sort_order: "alpha-asc",
        rule: support::fakeshop::Rule::All,
    }]);
    shop.set_cap(20);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let env = [("SHOPMIRROR_SYNC__PAGE_SIZE", "10")];
    synced(&db, &shop, OPT_IN, &env).await;
    assert_eq!(walked(&shop), ["big".to_string()].into());
    let record = "SELECT run_id || ' ' || products_count FROM collection_walks";
    assert_eq!(sqlite3(&db, record), "1 40");
    assert_eq!(members(&db, "big").len(), 20);
    synced(&db, &shop, OPT_IN, &env).await;
    assert_eq!(
        walked(&shop),
        BTreeSet::new(),
        "a capped walk is walked again"
    );
    assert_eq!(members(&db, "big").len(), 20);
    support::assert_mirror_equals(&shop, &db);
}
