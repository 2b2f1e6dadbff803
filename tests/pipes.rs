//! Exits as scripts expect, through the real binary: every export format and `history` end
//! quietly with exit 0 when their stdout is closed (`| head`); a URL without a scheme is a
//! usage error suggesting https://; a host that does not exist fails at once; an ad-hoc URL
//! whose first sync fails leaves no store row; `-q` prints nothing but errors.

use crate::support;

use std::path::Path;
use std::process::Stdio;

use support::fakeshop::{Catalog, FakeShop, Fault, Faults};
use support::{scalar, shopmirror, WAIT};

/// Runs `args` on `db` with stdout closed by its reader before anything is written.
async fn closed_stdout(db: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = shopmirror()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_format_and_history_end_quietly_on_a_closed_stdout() {
    let shop = FakeShop::start(Catalog::generate(300, 3)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    assert_eq!(support::sync(&db, &shop.url()).await.code, Some(0));
    let store = shop.addr().to_string();
    let product = shop.product_ids()[0].to_string();
    for args in [
        &["export"][..],
        &["export", "--variants"],
        &["export", "--format", "jsonl"],
        &["export", "--format", "shopify-csv"],
        &["history", &store, &product],
        &["history", "--json", &store, &product],
        &["status"],
    ] {
        let (code, stderr) = closed_stdout(&db, args).await;
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed {stderr:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_without_scheme_is_a_usage_error_suggesting_https() {
    let dir = tempfile::tempdir().unwrap();
    let done = support::sync(&dir.path().join("m.db"), "shop.example.com").await;
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains("https://shop.example.com"),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("invalid config"), "{}", done.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_does_not_exist_fails_at_once_and_leaves_no_store_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // Every retry would wait a draw of up to an hour: ending at all means none was made.
    let mut command = shopmirror();
    command
        .env("SHOPMIRROR_HTTP__BACKOFF_BASE", "1h")
        .env("SHOPMIRROR_HTTP__BACKOFF_CAP", "1h")
        .arg("--db")
        .arg(&db)
        .args(["sync", "https://no-such-host.invalid"]);
    let done = tokio::time::timeout(WAIT, support::run(command))
        .await
        .expect("ends without a retry");
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(scalar(&db, "SELECT count(*) FROM stores"), 0);
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ad_hoc_first_failure_leaves_no_row_but_a_configured_store_keeps_its_error() {
    let shop = FakeShop::start(Catalog::generate(30, 4)).await;
    shop.set_faults(Faults::always(Fault::Html200).only_paths(&["/products.json"]));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let done = support::sync(&db, &shop.url()).await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(scalar(&db, "SELECT count(*) FROM stores"), 0);
    assert_eq!(scalar(&db, "SELECT count(*) FROM sync_runs"), 0);

    let done = support::sync_configured(&db, &shop.url(), "").await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let errors = "SELECT count(*) FROM stores WHERE name = 'shop' AND last_error IS NOT NULL";
    assert_eq!(scalar(&db, errors), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_prints_only_errors() {
    let shop = FakeShop::start(Catalog::generate(30, 5)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = shopmirror();
    command
        .arg("--db")
        .arg(dir.path().join("m.db"))
        .args(["-q", "sync", &shop.url()]);
    let done = support::run(command).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, "");
    assert_eq!(done.stderr, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_sync_commits_what_it_has_and_exits_130() {
    let shop = FakeShop::start(Catalog::generate(800, 6)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let gate = shop.pause_nth("/products.json", 3);
    let child = shopmirror()
        .arg("--db")
        .arg(&db)
        .args(["sync", &shop.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    gate.reached().await;
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-s", "INT", &pid])
        .status();
    assert!(killed.unwrap().success());
    let out = child.wait_with_output().await.unwrap();
    gate.release();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM products"),
        500,
        "two pages committed"
    );
    let status = "SELECT count(*) FROM sync_runs WHERE status = 'interrupted'";
    assert_eq!(scalar(&db, status), 1);
    assert_eq!(support::sync(&db, &shop.url()).await.code, Some(0));
    support::assert_mirror_equals(&shop, &db);
}
