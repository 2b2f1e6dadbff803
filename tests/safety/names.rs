//! Long store names (item 12): any name `check-config` accepts must sync. 28 Japanese
//! characters are 84 bytes; percent-encoded they made a 257-character lock file name
//! (ENAMETOOLONG on every sync).

use super::support;

use support::fakeshop::{Catalog, FakeShop};
use support::rows;

use super::{assert_code, cli, config_file, plain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_non_ascii_store_name_syncs() {
    let name: String = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふ".into();
    assert_eq!((name.chars().count(), name.len()), (28, 84));
    let shop = FakeShop::start(Catalog::from_products(&[plain(1), plain(2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let config = config_file(
        &db,
        &format!(
            "[stores.\"{name}\"]\nurl = \"{}\"\ncollections = false\n",
            shop.url()
        ),
    );
    assert_code(&cli(&config, &db, &["check-config"]).await, 0);
    for _ in 0..2 {
        assert_code(&cli(&config, &db, &["sync", &name]).await, 0);
    }
    assert_eq!(rows(&db, "SELECT name FROM stores"), vec![name.clone()]);
    assert_eq!(
        rows(&db, "SELECT CAST(count(*) AS TEXT) FROM products"),
        ["2"]
    );
    // Its lock file: a short readable name, still the store's own.
    let locks: Vec<String> = std::fs::read_dir(dir.path().join("m.db.locks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert!(locks[0].len() <= 120, "{}", locks[0]);
    assert!(
        locks[0].starts_with("%E3%81%82"),
        "readable prefix: {}",
        locks[0]
    );
    // status probes the same lock file: the finished run is not "running".
    let status = cli(&config, &db, &["status"]).await;
    assert_code(&status, 0);
    assert!(
        status.stdout.contains("last run complete"),
        "{}",
        status.stdout
    );
    // A different long name sharing the prefix gets its own lock file.
    let other = format!("{}へ", &name[..name.len() - 3]);
    let config = config_file(
        &db,
        &format!(
            "[stores.\"{other}\"]\nurl = \"{}\"\ncollections = false\n",
            shop.url()
        ),
    );
    assert_code(&cli(&config, &db, &["sync", &other]).await, 0);
    assert_eq!(
        std::fs::read_dir(dir.path().join("m.db.locks"))
            .unwrap()
            .count(),
        2
    );
}
