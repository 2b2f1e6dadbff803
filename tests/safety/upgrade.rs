//! Upgrading an archived database (item 14): readers of an older database name
//! `shopmirror db upgrade`, which needs no configured store, keeps a backup copy first (named in
//! its output) and brings the schema up to date.

use super::support;

use std::path::PathBuf;

use support::{binary, run, scalar, sqlite3};

use super::assert_code;

const CURRENT: i64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_upgrade_keeps_a_backup_and_readers_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.db");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema_v1.db"),
        &db,
    )
    .unwrap();
    let products = scalar(&db, "SELECT count(*) FROM products");
    assert!(products > 0);
    let cmd = |args: &[&str]| {
        let mut command = tokio::process::Command::from(binary());
        command.arg("--db").arg(&db).args(args).kill_on_drop(true);
        command.current_dir(dir.path());
        command
    };
    // The hint names the command that upgrades.
    let status = run(cmd(&["status"])).await;
    assert_code(&status, 1);
    assert!(
        status.stderr.contains("shopmirror") && status.stderr.contains("db upgrade"),
        "{}",
        status.stderr
    );
    assert_eq!(
        sqlite3(&db, "PRAGMA user_version"),
        "1",
        "readers change nothing"
    );

    let upgrade = run(cmd(&["db", "upgrade"])).await;
    assert_code(&upgrade, 0);
    let backup = upgrade
        .stdout
        .split_whitespace()
        .map(|w| w.trim_end_matches([',', ';', ')', '.']))
        .find(|w| w.contains(".bak"))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("the backup is named: {}", upgrade.stdout));
    assert!(
        backup.is_absolute() && backup.exists(),
        "{}",
        backup.display()
    );
    assert_eq!(sqlite3(&backup, "PRAGMA user_version"), "1");
    assert_eq!(scalar(&backup, "SELECT count(*) FROM products"), products);
    assert!(sqlite3(&backup, "PRAGMA integrity_check") == "ok");
    assert!(sqlite3(&db, "PRAGMA user_version").parse::<i64>().unwrap() >= CURRENT);
    assert_eq!(scalar(&db, "SELECT count(*) FROM products"), products);
    assert_code(&run(cmd(&["status"])).await, 0);

    // Nothing to do the second time: no second backup.
    let again = run(cmd(&["db", "upgrade"])).await;
    assert_code(&again, 0);
    assert!(again.stdout.contains("already"), "{}", again.stdout);
    let baks = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".bak")
        })
        .count();
    assert_eq!(baks, 1);
    // A database that does not exist is not created.
    let missing = dir.path().join("missing.db");
    let mut command = tokio::process::Command::from(binary());
    command.arg("--db").arg(&missing).args(["db", "upgrade"]);
    assert_code(&run(command).await, 1);
    assert!(!missing.exists());
}
