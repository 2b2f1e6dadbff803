//! Shared helpers for integration tests: the fake storefront, running the real binary against
//! it, and comparing the mirror with the fake's catalogue.

pub mod alerting;
pub mod browser;
pub mod daemon;
pub mod fakeshop;
pub mod http;
pub mod mirror;
pub mod proxy;
pub mod receiver;
pub mod site;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;

use fakeshop::FakeShop;

/// How long any poller waits for the event it stands for before failing the test: a guard
/// against hanging, never a measure of speed.
pub const WAIT: Duration = Duration::from_secs(60);

/// `program` with none of the caller's SHOPMIRROR_* environment nor a systemd socket or
/// watchdog.
pub fn clean(program: impl AsRef<OsStr>) -> StdCommand {
    let mut command = StdCommand::new(program);
    for (key, _) in std::env::vars() {
        if key.starts_with("SHOPMIRROR_") || key == "NOTIFY_SOCKET" || key.starts_with("WATCHDOG_")
        {
            command.env_remove(key);
        }
    }
    command
}

/// The real binary in a clean environment, nothing set.
pub fn binary() -> StdCommand {
    clean(env!("CARGO_BIN_EXE_shopmirror"))
}

/// The environment that sets the binary up for a loopback fake store: private addresses
/// allowed, no pacing.
pub const LOOPBACK: [(&str, &str); 2] = [
    ("SHOPMIRROR_HTTP__ALLOW_PRIVATE", "true"),
    ("SHOPMIRROR_HTTP__MIN_DELAY", "0s"),
];

/// The real binary, set up for a loopback fake store (LOOPBACK), no colour, and none of the
/// caller's SHOPMIRROR_* environment.
pub fn shopmirror() -> tokio::process::Command {
    let mut command = tokio::process::Command::from(binary());
    command
        .envs(LOOPBACK)
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    command
}

/// `shopmirror --config DIR/config.toml ARGS...`, as `shopmirror()` sets it up.
pub fn configured(dir: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = shopmirror();
    command
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args);
    command
}

/// Runs the test `name` (its exact path in this test binary) alone in a fresh process of the
/// binary, for measurements another test in the same process would pollute (peak memory).
/// True in that process, where the caller goes on with its body; false in the caller's own
/// process once the lone run passed.
pub fn in_own_process(name: &str) -> bool {
    const MARK: &str = "SUPPORT_OWN_PROCESS";
    if std::env::var(MARK).as_deref() == Ok(name) {
        return true;
    }
    let output = StdCommand::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(MARK, name)
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed in its own process:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(" 1 passed;"),
        "{name} did not run in its own process:\n{stdout}"
    );
    false
}

/// Writes DIR/config.toml and returns its path: `sections` (whole TOML tables, e.g.
/// `"[sync]\npage_size = 100\n"`), `[database] path = DB`, and a `[stores.NAME] url = URL`
/// table per store.
pub fn write_config(
    dir: &Path,
    db: &Path,
    sections: &str,
    stores: &[(&str, &str)],
) -> std::path::PathBuf {
    let mut text = format!("{sections}\n[database]\npath = {db:?}\n");
    for (name, url) in stores {
        text.push_str(&format!("[stores.{name:?}]\nurl = {url:?}\n"));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Polls until `check` is true; fails the test naming `what` after WAIT.
pub async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(http::POLL).await;
    }
}

/// Output of one finished command.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `shopmirror --db DB sync URL` to its end.
pub async fn sync(db: &Path, url: &str) -> Finished {
    let mut command = shopmirror();
    command.arg("--db").arg(db).arg("sync").arg(url);
    run(command).await
}

/// Starts `shopmirror --db DB sync URL` as a quiet child process, to be killed or waited for.
pub fn spawn_sync(db: &Path, url: &str) -> tokio::process::Child {
    let mut command = shopmirror();
    command.arg("--db").arg(db).arg("sync").arg(url);
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("binary starts")
}

/// Runs `shopmirror sync shop` with a config naming the store `shop` at `url`, plus `extra`
/// lines in its table (e.g. `collections = false`).
pub async fn sync_configured(db: &Path, url: &str, extra: &str) -> Finished {
    sync_configured_env(db, url, extra, &[]).await
}

/// Like `sync_configured`, with `env` set for the binary (e.g. SHOPMIRROR_SYNC__PAGE_SIZE).
pub async fn sync_configured_env(
    db: &Path,
    url: &str,
    extra: &str,
    env: &[(&str, &str)],
) -> Finished {
    let config = db.with_extension("toml");
    let text = format!("[stores.shop]\nurl = \"{url}\"\n{extra}\n");
    std::fs::write(&config, text).unwrap();
    let mut command = shopmirror();
    command
        .envs(env.iter().copied())
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(db)
        .arg("sync")
        .arg("shop");
    run(command).await
}

pub async fn run(mut command: tokio::process::Command) -> Finished {
    let output = command.output().await.expect("binary runs");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// What a product looks like in comparisons: content hash plus its child rows.
#[derive(Debug, PartialEq, Eq)]
pub struct ProductShape {
    pub hash: String,
    /// (variant id, exact price string, availability)
    pub variants: Vec<(i64, String, Option<bool>)>,
    /// image ids in position order
    pub images: Vec<i64>,
    /// option names in position order
    pub options: Vec<String>,
}

/// The fake's live listing as shopmirror would store it, parsed by the library itself.
pub fn expected_mirror(shop: &FakeShop) -> BTreeMap<i64, ProductShape> {
    expected_from(shop.expected_products())
}

/// Like `expected_mirror` for an explicit list of list-shape products.
pub fn expected_from(products: Vec<Value>) -> BTreeMap<i64, ProductShape> {
    let body = serde_json::to_vec(&serde_json::json!({ "products": products })).unwrap();
    shopmirror::catalog::parse_products_page(&body)
        .expect("the fake's catalogue parses")
        .products
        .into_iter()
        .map(|parsed| {
            let p = parsed.product;
            let mut images: Vec<_> = p.images.iter().map(|i| (i.position, i.id)).collect();
            images.sort();
            let mut options: Vec<_> = p
                .options
                .iter()
                .map(|o| (o.position, o.name.clone()))
                .collect();
            options.sort();
            let mut variants: Vec<_> = p
                .variants
                .iter()
                .map(|v| (v.id, v.price.clone(), v.available))
                .collect();
            variants.sort();
            let shape = ProductShape {
                hash: parsed.content_hash,
                variants,
                images: images.into_iter().map(|(_, id)| id).collect(),
                options: options.into_iter().map(|(_, name)| name).collect(),
            };
            (p.id, shape)
        })
        .collect()
}

/// List-shape products hashed by the library: id -> content hash. The fake names the part
/// compared: `shop.expected_products()` (its live listing) or `shop.expected_catalog()` (hidden
/// products too).
pub fn expected_hashes(products: Vec<Value>) -> BTreeMap<i64, String> {
    expected_from(products)
        .into_iter()
        .map(|(id, shape)| (id, shape.hash))
        .collect()
}

/// Live products in the mirror: id -> content hash.
pub fn mirrored_hashes(db: &Path) -> BTreeMap<i64, String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT product_id, content_hash FROM products WHERE deleted_at IS NULL")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

/// The live products of the mirror's only store, read back from the database.
pub fn mirror(db: &Path) -> BTreeMap<i64, ProductShape> {
    let conn = Connection::open(db).unwrap();
    let mut products = BTreeMap::new();
    let mut rows = conn
        .prepare("SELECT product_id, content_hash FROM products WHERE deleted_at IS NULL")
        .unwrap();
    let pairs: Vec<(i64, String)> = rows
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, hash) in pairs {
        let variants = conn
            .prepare("SELECT variant_id, price, available FROM variants WHERE product_id = ?1 ORDER BY variant_id")
            .unwrap()
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let images = conn
            .prepare(
                "SELECT image_id FROM images WHERE product_id = ?1 ORDER BY position, image_id",
            )
            .unwrap()
            .query_map([id], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let options = conn
            .prepare("SELECT name FROM options WHERE product_id = ?1 ORDER BY position")
            .unwrap()
            .query_map([id], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        products.insert(
            id,
            ProductShape {
                hash,
                variants,
                images,
                options,
            },
        );
    }
    products
}

/// Asserts the mirror holds exactly the fake's live catalogue, product by product.
pub fn assert_mirror_equals(shop: &FakeShop, db: &Path) {
    let expected = expected_mirror(shop);
    let actual = mirror(db);
    let missing: Vec<_> = expected
        .keys()
        .filter(|id| !actual.contains_key(id))
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|id| !expected.contains_key(id))
        .collect();
    assert!(
        missing.is_empty(),
        "products missing from the mirror: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "products in the mirror but not in the store: {extra:?}"
    );
    for (id, shape) in &expected {
        assert_eq!(&actual[id], shape, "product {id} differs");
    }
}

/// One value from the database, e.g. `scalar(db, "SELECT count(*) FROM products")`.
pub fn scalar(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// The first column of every row of `sql`, as text.
pub fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Runs the sqlite3 CLI read-only on `db` (an outside reader) and returns its output.
pub fn sqlite3(db: &Path, sql: &str) -> String {
    let output = StdCommand::new("sqlite3")
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
