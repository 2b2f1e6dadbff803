//! Crash safety: a real `shopmirror sync` child is killed with SIGKILL at random moments, again
//! and again, and restarted each time. After every kill an outside reader (the sqlite3 CLI)
//! finds an intact database whose cursor is never ahead of its rows; at the end the mirror
//! equals the store's catalogue exactly.

mod support;

use std::path::Path;
use std::process::Stdio;

use rand::{Rng, SeedableRng};
use support::fakeshop::{Catalog, FakeShop};
use support::{assert_mirror_equals, scalar, shopmirror};

const KILLS: usize = 24;

/// Runs the sqlite3 CLI read-only on `db` and returns its output.
fn sqlite3(db: &Path, sql: &str) -> String {
    let output = std::process::Command::new("sqlite3")
        .arg("-readonly")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 CLI is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn assert_consistent(db: &Path) {
    if !db.exists() {
        return;
    }
    assert_eq!(sqlite3(db, "PRAGMA integrity_check"), "ok");
    // The cursor commits with its page: a run in the listing phase has written exactly the
    // pages before its cursor.
    let ahead = sqlite3(
        db,
        "SELECT count(*) FROM sync_cursor c JOIN sync_runs r USING (run_id)
         WHERE c.phase = 'products' AND r.pages != c.next_page - 1",
    );
    assert!(ahead == "0" || ahead.is_empty(), "cursor ahead of its rows");
    let duplicates = sqlite3(
        db,
        "SELECT count(*) FROM (SELECT variant_id FROM variants GROUP BY store_id, variant_id
         HAVING count(*) > 1)",
    );
    assert!(duplicates == "0" || duplicates.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_the_sync_resumes_and_ends_with_an_exact_mirror() {
    let seed: u64 = std::env::var("SHOPMIRROR_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (set SHOPMIRROR_CRASH_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let shop = FakeShop::start(Catalog::generate(4_000, 21)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");

    // Time one whole sync so the kills spread over the run, startup to finish.
    let timing_db = dir.path().join("timing.db");
    let started = std::time::Instant::now();
    assert_eq!(support::sync(&timing_db, &shop.url()).await.code, Some(0));
    let full_run = started.elapsed();

    let mut removed = Vec::new();
    let mut killed = 0;
    for attempt in 0..KILLS * 2 {
        if killed == KILLS {
            break;
        }
        if attempt == KILLS / 2 {
            // The catalogue changes between crashes: some products go, some prices move.
            let ids = shop.product_ids();
            for &id in &ids[100..103] {
                shop.remove_product(id);
                removed.push(id);
            }
            for &id in &ids[2000..2003] {
                shop.set_price(id, 0, "4.56");
            }
        }
        let mut child = shopmirror()
            .arg("--db")
            .arg(&db)
            .arg("sync")
            .arg(shop.url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moment = full_run.mul_f64(rng.random_range(0.0..1.1));
        tokio::select! {
            status = child.wait() => {
                assert!(status.unwrap().success(), "a run that was not killed failed");
            }
            _ = tokio::time::sleep(moment) => {
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                killed += 1;
            }
        }
        assert_consistent(&db);
    }
    assert_eq!(killed, KILLS, "not enough runs were killed");

    // Two complete runs: the first finishes whatever was resumed, the second is a fresh
    // complete enumeration that confirms every deletion.
    for _ in 0..2 {
        let done = support::sync(&db, &shop.url()).await;
        assert_eq!(done.code, Some(0), "{}", done.stderr);
    }
    assert_consistent(&db);
    assert_mirror_equals(&shop, &db);
    for id in removed {
        let sql = format!(
            "SELECT count(*) FROM products WHERE product_id = {id} AND deleted_at IS NOT NULL"
        );
        assert_eq!(
            scalar(&db, &sql),
            1,
            "removed product {id} is not tombstoned"
        );
    }
    let resumed = scalar(&db, "SELECT coalesce(sum(resumes), 0) FROM sync_runs");
    assert!(resumed > 0, "no run was ever resumed from its cursor");
    let versions = scalar(
        &db,
        "SELECT count(*) FROM (SELECT product_id FROM product_versions
         GROUP BY store_id, product_id, content_hash HAVING count(*) > 1)",
    );
    assert_eq!(versions, 0, "a content version was recorded twice");
}
