//! What a newcomer runs first, through the real binary and the sqlite3 CLI: every SQL query of
//! the README against a two-store database (each answers, and for both stores where it is not
//! about one), a store's URL wherever a store name is accepted, an unknown name answered with
//! the names there are, and `status` before any database saying how to get one.

use crate::support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use support::fakeshop::{Catalog, FakeShop};
use support::{configured, run, Finished};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// The store names the README's queries use, and a second store.
const STORES: [&str; 2] = ["kiids-kingdom", "annie-thompson"];

/// Two stores (200 products: enough for the fake's `sale` collection) synced twice, with a price drop, a variant out of stock, a product removed and
/// one added in each between the runs; the first store has a product with the handle
/// `some-handle` (the README's example). Returns the shops and the database path.
async fn two_store_database(dir: &Path) -> ([FakeShop; 2], std::path::PathBuf) {
    let shops = [
        FakeShop::start(Catalog::generate(200, 11)).await,
        FakeShop::start(Catalog::generate(200, 12)).await,
    ];
    let first = shops[0].product_ids()[0];
    shops[0].modify_product(first, |p| p["handle"] = "some-handle".into());
    let db = dir.join("shopmirror.db");
    let urls: Vec<String> = shops.iter().map(FakeShop::url).collect();
    let stores: Vec<(&str, &str)> = STORES
        .iter()
        .copied()
        .zip(urls.iter().map(String::as_str))
        .collect();
    support::write_config(dir, &db, "", &stores);
    let synced = run(configured(dir, &["sync"])).await;
    assert_eq!(synced.code, Some(0), "{}", synced.stderr);
    for shop in &shops {
        let ids = shop.product_ids();
        shop.set_price(ids[0], 0, "0.01");
        shop.set_available(ids[1], 0, false);
        assert!(shop.remove_product(ids[2]));
        shop.add_product();
    }
    let synced = run(configured(dir, &["sync"])).await;
    assert_eq!(synced.code, Some(0), "{}", synced.stderr);
    (shops, db)
}

/// The README's ```sql blocks, without the DuckDB one (not SQLite).
fn readme_sql_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("```sql\n") {
        let body = &rest[start + 7..];
        let end = body.find("```").expect("a closed sql block");
        if !body.starts_with("-- duckdb") {
            blocks.push(body[..end].to_string());
        }
        rest = &body[end + 3..];
    }
    assert!(blocks.len() >= 10, "README sql blocks: {}", blocks.len());
    blocks
}

/// Runs `script` with `sqlite3 -readonly -header` on `db`; its rows as header + cells.
fn sqlite3(db: &Path, script: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut child = StdCommand::new("sqlite3")
        .args(["-readonly", "-bail", "-header", "-separator", "\t"])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sqlite3 CLI is installed");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(script.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{script}\n{stderr}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text
        .lines()
        .map(|l| l.split('\t').map(String::from).collect());
    let header = lines.next().unwrap_or_default();
    (header, lines.collect())
}

/// The values of the store column (`store` or `name`) of a result, if it has one.
fn stores_in(header: &[String], rows: &[Vec<String>]) -> Option<BTreeSet<String>> {
    let column = header.iter().position(|c| c == "store" || c == "name")?;
    Some(rows.iter().map(|r| r[column].clone()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_query_answers_for_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    let (_shops, db) = two_store_database(dir.path()).await;
    let both: BTreeSet<String> = STORES.iter().map(|s| s.to_string()).collect();
    let mut statements = 0;
    for block in readme_sql_blocks() {
        let mut block = block;
        if let Some(shard1) = block
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-- sqlite3 -readonly "))
        {
            // The sharding example: copies of the database as the other shards.
            let shards = Path::new(shard1.trim())
                .parent()
                .unwrap()
                .display()
                .to_string();
            for n in 2..=4 {
                let copy = dir.path().join(format!("shard{n}.db"));
                sqlite3(&db, &format!("VACUUM INTO '{}';", copy.display()));
            }
            block = block.replace(&format!("{shards}/"), &format!("{}/", dir.path().display()));
        }
        // ATTACH and CREATE set up the queries after them in the same session.
        let mut setup = String::new();
        for statement in block
            .split_inclusive(";\n")
            .filter(|s| !s.trim().is_empty())
        {
            let code = statement
                .lines()
                .find(|l| !l.starts_with("--") && !l.trim().is_empty());
            if code.is_some_and(|c| c.starts_with("ATTACH") || c.starts_with("CREATE")) {
                setup.push_str(statement);
                continue;
            }
            let (header, rows) = sqlite3(&db, &format!("{setup}{statement}"));
            assert!(!rows.is_empty(), "no rows:\n{statement}");
            if !statement.contains("'kiids-kingdom'") {
                if let Some(seen) = stores_in(&header, &rows) {
                    assert_eq!(seen, both, "{statement}");
                }
            }
            statements += 1;
        }
    }
    assert!(statements >= 14, "{statements} statements");
}

async fn command(dir: &Path, args: &[&str]) -> Finished {
    run(configured(dir, args)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_url_works_wherever_a_store_name_does() {
    let dir = tempfile::tempdir().unwrap();
    let shop = FakeShop::start(Catalog::generate(20, 5)).await;
    let other = FakeShop::start(Catalog::generate(20, 6)).await;
    let db = dir.path().join("m.db");
    support::write_config(dir.path(), &db, "", &[]);
    // Ad-hoc URL targets: the stores are named host:port.
    for url in [shop.url(), other.url()] {
        let synced = command(dir.path(), &["sync", &url]).await;
        assert_eq!(synced.code, Some(0), "{}", synced.stderr);
    }
    let url = shop.url();
    let name = url.trim_start_matches("http://").to_string();
    let handle = shop.handle_of(shop.product_ids()[0]).unwrap();

    let by_url = command(
        dir.path(),
        &["history", &format!("{url}/"), &handle, "--json"],
    )
    .await;
    let by_name = command(dir.path(), &["history", &name, &handle, "--json"]).await;
    assert_eq!(by_url.code, Some(0), "{}", by_url.stderr);
    assert_eq!(by_url.stdout, by_name.stdout);

    let export = command(
        dir.path(),
        &["export", "--store", &url, "--format", "shopify-csv"],
    )
    .await;
    assert_eq!(export.code, Some(0), "{}", export.stderr);
    assert!(export.stdout.contains(&handle), "{}", export.stdout);

    let renamed = command(dir.path(), &["stores", "rename", &url, "mine"]).await;
    assert_eq!(renamed.code, Some(0), "{}", renamed.stderr);
    let names = support::rows(&db, "SELECT name FROM stores ORDER BY name");
    assert!(
        names.contains(&"mine".to_string()) && !names.contains(&name),
        "{names:?}"
    );
    let forgotten = command(dir.path(), &["stores", "forget", &other.url(), "--yes"]).await;
    assert_eq!(forgotten.code, Some(0), "{}", forgotten.stderr);
    assert_eq!(support::rows(&db, "SELECT name FROM stores"), ["mine"]);

    // An unknown name or URL: refused, naming the stores there are.
    for unknown in ["nope", "https://shop.example.com"] {
        for args in [
            vec!["history", unknown, &handle],
            vec!["export", "--store", unknown],
            vec!["stores", "forget", unknown, "--yes"],
        ] {
            let refused = command(dir.path(), &args).await;
            assert_ne!(refused.code, Some(0), "{args:?}");
            assert!(
                refused.stderr.contains(unknown),
                "{args:?}: {}",
                refused.stderr
            );
            assert!(
                refused.stderr.contains("its stores: mine"),
                "{args:?}: {}",
                refused.stderr
            );
            assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        }
    }
    assert_eq!(support::rows(&db, "SELECT name FROM stores"), ["mine"]);
}

#[tokio::test]
async fn status_before_any_database_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    support::write_config(dir.path(), &dir.path().join("none.db"), "", &[]);
    let status = command(dir.path(), &["status"]).await;
    assert_eq!(status.code, Some(1));
    // For a one-off mirror and for the installed service.
    assert!(
        status.stderr.contains("shopmirror sync URL"),
        "{}",
        status.stderr
    );
    assert!(
        status.stderr.contains("systemctl reload shopmirror"),
        "{}",
        status.stderr
    );
    assert!(!dir.path().join("none.db").exists());
}

/// The lines of `text` that install a completion script (`shopmirror completions SHELL > ...`).
fn install_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("shopmirror completions ") && l.contains(" > "))
        .map(String::from)
        .collect()
}

#[test]
fn completion_install_paths_are_one_answer_in_help_and_readme() {
    let help = support::binary()
        .args(["completions", "--help"])
        .output()
        .unwrap();
    let help = install_lines(&String::from_utf8(help.stdout).unwrap());
    assert_eq!(help.len(), 3, "{help:?}");
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    assert_eq!(install_lines(&readme), help);
}

#[test]
fn the_example_log_file_is_writable_under_the_packaged_units() {
    let read = |p: &str| std::fs::read_to_string(Path::new(REPO).join(p)).unwrap();
    let example = read("config.toml");
    let file = example
        .lines()
        .find_map(|l| l.strip_prefix("# file = "))
        .expect("config.toml suggests a log.file")
        .trim_matches('"');
    for unit in ["systemd/shopmirror.service", "systemd/shopmirror@.service"] {
        let dirs: Vec<String> = read(unit)
            .lines()
            .filter_map(|l| l.strip_prefix("LogsDirectory="))
            .flat_map(|d| d.split_whitespace().map(|d| format!("/var/log/{d}/")))
            .collect();
        assert!(
            dirs.iter().any(|d| file.starts_with(d.as_str())),
            "{unit} cannot write log.file {file} (LogsDirectory: {dirs:?})"
        );
    }
}

/// Hosts a newcomer may copy: reserved example names (RFC 2606/6761), loopback, and the links
/// to the projects the documentation credits.
fn harmless(host: &str) -> bool {
    const LINKS: [&str; 8] = [
        "crates.io",
        "docs.rs",
        "www.standardwebhooks.com",
        "duckdb.org",
        "litestream.io",
        "no-color.org",
        "kubernetes.io",
        "github.com",
    ];
    let reserved = ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || [".example", ".test", ".invalid", ".localhost"]
            .iter()
            .any(|t| host.ends_with(t));
    reserved || host == "localhost" || host.starts_with("127.") || LINKS.contains(&host)
}

#[test]
fn documentation_and_examples_use_reserved_example_domains() {
    let files = [
        "README.md",
        "config.toml",
        "Dockerfile",
        "src/cli.rs",
        "systemd/INSTALL.md",
        "deploy/kubernetes/configmap.yaml",
        "deploy/kubernetes/statefulset.yaml",
    ];
    for file in files {
        let text = std::fs::read_to_string(Path::new(REPO).join(file)).unwrap();
        for (i, _) in text.match_indices("://") {
            let host: String = text[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || ".-".contains(*c))
                .collect();
            let host = host.trim_end_matches('.');
            if host.contains('.') {
                assert!(
                    harmless(host),
                    "{file}: {host} is not a reserved example domain"
                );
            }
        }
    }
}

#[test]
fn lock_directories_are_ignored_with_the_database_files() {
    let inside = StdCommand::new("git")
        .args(["-C", REPO, "rev-parse", "--is-inside-work-tree"])
        .output();
    if !inside.is_ok_and(|o| o.status.success()) {
        return; // A source tarball: no git, nothing to ignore.
    }
    for path in [
        "shopmirror.db",
        "shopmirror.db-wal",
        "shopmirror.db.locks/shop.lock",
        "data/mirror.db.locks/a.lock",
    ] {
        let ignored = StdCommand::new("git")
            .args(["-C", REPO, "check-ignore", "-q", "--no-index", path])
            .status()
            .unwrap();
        assert!(ignored.success(), "git status would show {path}");
    }
}
