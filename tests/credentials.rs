//! Credentials never leave the store URL: a store at `http://user:password@host` fails in each
//! phase in turn (listing, collections list, collection feed, sitemap, single product,
//! deletion check), through `sync` (configured and ad hoc) and the daemon; then every column of
//! every table, all output at trace level, `status`, `status --json`, `check-config`, every
//! export format and `/metrics` are searched for the password.

use crate::support;

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use support::daemon::Daemon;
use support::fakeshop::{Catalog, FakeShop, Fault, Faults};
use support::http::get;
use support::{shopmirror, until};

const SECRET: &str = "pa55-s3cret-w0rd";

fn secret_url(shop: &FakeShop) -> String {
    format!("http://preview:{SECRET}@{}", shop.addr())
}

fn write_config(dir: &Path, shop: &FakeShop) {
    let sections = "[sync]\npage_size = 50\n[daemon]\nlisten = \"127.0.0.1:0\"\njitter = \"0s\"\n\
                    schedule = \"0 0 0 1 1 *\"\n";
    let db = dir.join("mirror.db");
    support::write_config(dir, &db, sections, &[("shop", &secret_url(shop))]);
}

async fn run(dir: &Path, args: &[&str]) -> String {
    let command = support::configured(dir, args);
    let done = support::run(command).await;
    format!("{}\n{}", done.stdout, done.stderr)
}

/// Every text or blob value of every table that contains the password, as "table.column",
/// and any database file whose raw bytes contain it.
fn leaks_in_db(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut leaks = Vec::new();
    for table in tables {
        let mut select = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns: Vec<String> = select
            .column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let mut rows = select.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for (i, column) in columns.iter().enumerate() {
                let bytes = match row.get_ref(i).unwrap() {
                    ValueRef::Text(b) | ValueRef::Blob(b) => b,
                    _ => continue,
                };
                if String::from_utf8_lossy(bytes).contains(SECRET) {
                    leaks.push(format!("{table}.{column}"));
                }
            }
        }
    }
    // Not even in a page since overwritten: the database file and its WAL, byte for byte.
    for file in [db.to_path_buf(), db.with_extension("db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        if bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()) {
            leaks.push(format!("bytes of {}", file.display()));
        }
    }
    leaks
}

/// Everything a reader of the database prints: status, status --json, check-config, every
/// export format and history.
async fn reader_outputs(dir: &Path) -> String {
    let mut all = String::new();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["check-config"],
        &["export"],
        &["export", "--variants"],
        &["export", "--format", "jsonl", "--include-deleted"],
        &["export", "--format", "shopify-csv"],
    ] {
        all.push_str(&run(dir, args).await);
    }
    all
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the password:\n{text}");
}

/// One scenario: a fresh store and database, `prepare` arranges the failure, then a sync at
/// trace level must fail and nothing anywhere may carry the password.
async fn scenario(phase: &str, seed: u64, prepare: impl AsyncFnOnce(&FakeShop, &Path)) {
    let shop = FakeShop::start(Catalog::generate(120, seed)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &shop);
    prepare(&shop, dir.path()).await;
    let mut command = shopmirror();
    command
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .args(["-vv", "sync", "shop"]);
    let done = support::run(command).await;
    assert_eq!(
        done.code,
        Some(1),
        "{phase}: the injected failure ends the run"
    );
    assert!(shop.request_count() > 0);
    assert_clean(&format!("{phase}: sync output"), &done.stdout);
    assert_clean(&format!("{phase}: sync logs"), &done.stderr);
    assert_clean(
        &format!("{phase}: readers"),
        &reader_outputs(dir.path()).await,
    );
    let leaks = leaks_in_db(&dir.path().join("mirror.db"));
    assert!(leaks.is_empty(), "{phase}: password stored in {leaks:?}");
}

fn html_on(paths: &[&str]) -> Faults {
    Faults::always(Fault::Html200).only_paths(paths)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_in_any_phase_never_stores_prints_or_exports_the_password() {
    scenario("listing", 1, async |shop, _| {
        shop.set_faults(html_on(&["/products.json"]))
    })
    .await;
    scenario("collections list", 2, async |shop, _| {
        shop.set_faults(html_on(&["/collections.json"]))
    })
    .await;
    scenario("collection feed", 3, async |shop, _| {
        shop.set_faults(html_on(&["/collections/"]))
    })
    .await;
    scenario("sitemap", 4, async |shop, _| {
        shop.set_cap(50);
        shop.set_faults(html_on(&["/sitemap"]));
    })
    .await;
    scenario("single product", 5, async |shop, _| {
        shop.set_cap(50);
        shop.set_faults(html_on(&["/products/"]));
    })
    .await;
    scenario("deletion check", 6, async |shop, dir| {
        let first = run(dir, &["sync", "shop"]).await;
        assert_clean("first sync", &first);
        let id = shop.product_ids()[7];
        shop.remove_product(id);
        shop.set_faults(html_on(&["/products/"]));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ad_hoc_url_with_credentials_is_stored_and_shown_without_them() {
    let shop = FakeShop::start(Catalog::generate(120, 7)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mirror.db");
    let url = secret_url(&shop);
    let mut command = shopmirror();
    command.arg("--db").arg(&db).args(["-vv", "sync", &url]);
    let done = support::run(command).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_clean("sync output", &format!("{}{}", done.stdout, done.stderr));
    // The password was sent: the mirror is complete.
    support::assert_mirror_equals(&shop, &db);
    shop.set_faults(html_on(&["/products.json"]));
    let mut command = shopmirror();
    command.arg("--db").arg(&db).args(["-vv", "sync", &url]);
    let failed = support::run(command).await;
    assert_eq!(failed.code, Some(1));
    assert_clean(
        "failed sync output",
        &format!("{}{}", failed.stdout, failed.stderr),
    );
    let leaks = leaks_in_db(&db);
    assert!(leaks.is_empty(), "password stored in {leaks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_never_stores_logs_or_serves_the_password() {
    // `shop` was synced before the daemon starts (not due: the daemon only registers it);
    // `failing` is new, so the daemon syncs it at once and the listing fails.
    let shop = FakeShop::start(Catalog::generate(120, 8)).await;
    let failing = FakeShop::start(Catalog::generate(120, 9)).await;
    failing.set_faults(html_on(&["/products.json"]));
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &shop);
    assert_clean("first sync", &run(dir.path(), &["sync", "shop"]).await);
    let mut text = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    text.push_str(&format!(
        "[stores.failing]\nurl = {:?}\n",
        secret_url(&failing)
    ));
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    // Everything the daemon logs, at trace level as `-vv` would, goes to daemon.log.
    let env = [
        &support::LOOPBACK[..],
        &[("RUST_LOG", "shopmirror=trace,warn")],
    ]
    .concat();
    let mut daemon = Daemon::start(dir.path(), &env).await;
    let db = dir.path().join("mirror.db");
    until("the daemon's run to fail", async || {
        support::scalar(
            &db,
            "SELECT count(*) FROM sync_runs WHERE status = 'failed'",
        ) > 0
    })
    .await;
    let (_, metrics) = get(&daemon.url("/metrics")).await;
    assert!(metrics.contains("shopmirror_runs_total"), "{metrics}");
    daemon.child.start_kill().unwrap();
    daemon.child.wait().await.unwrap();
    let notes = daemon.messages.concat();
    let log = dir.path().join("daemon.log");
    assert_clean("/metrics", &metrics);
    assert_clean("systemd notifications", &notes);
    assert_clean("daemon log", &std::fs::read_to_string(&log).unwrap());
    assert_clean("readers", &reader_outputs(dir.path()).await);
    let leaks = leaks_in_db(&db);
    assert!(leaks.is_empty(), "password stored in {leaks:?}");
}
