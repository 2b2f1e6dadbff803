//! Render times of the web pages on synthetic data (BENCHMARKS.md, "Web pages"): a product with
//! `--points` recorded prices, an overview of `--stores` stores, and search over `--products`
//! products (indexed for search in one statement, as the sync's writer indexes what it added).
//! The rows are written directly with SQL, in the shape the sync writes them; the pages are
//! served by the release binary (`shopmirror serve`) and timed over loopback, end to end.
//!
//! `cargo build --release --bin shopmirror --example web_bench &&
//!  target/release/examples/web_bench [--stores 200] [--points 1000] [--products 100000]`

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

/// Writes the rows; returns the seconds the products and variants took.
fn fill(conn: &mut Connection, stores: usize, points: usize, products: usize) -> f64 {
    let tx = conn.transaction().unwrap();
    let at = |s: i64| {
        chrono::DateTime::from_timestamp(1_760_000_000 + s, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let per_store = products / stores;
    let started = Instant::now();
    for s in 1..=stores as i64 {
        tx.execute(
            "INSERT INTO stores (store_id, name, base_url, added_at, next_sync_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![
                s,
                format!("store-{s:03}"),
                format!("https://store-{s}.example/"),
                at(0)
            ],
        )
        .unwrap();
        for r in 1..=3i64 {
            tx.execute(
                "INSERT INTO sync_runs (store_id, started_at, finished_at, status, requests,
                     products_new, products_changed)
                 VALUES (?1, ?2, ?3, ?4, 12, 3, 7)",
                params![
                    s,
                    at(r * 3600),
                    at(r * 3600 + 95),
                    if r == 3 && s % 7 == 0 {
                        "failed"
                    } else {
                        "complete"
                    }
                ],
            )
            .unwrap();
        }
        for p in 0..per_store as i64 {
            let id = s * 1_000_000 + p;
            tx.execute(
                "INSERT INTO products (store_id, product_id, content_hash, first_seen_at,
                     content_changed_at, written_run, handle, title, vendor, product_type, tags,
                     raw_json)
                 VALUES (?1, ?2, 'h', ?3, ?3, 1, ?4, ?5, ?6, 'Shirts', '[]', '{}')",
                params![
                    s,
                    id,
                    at(0),
                    format!("shirt-{id}"),
                    format!("Cotton shirt number {id}"),
                    format!("Vendor {}", p % 50)
                ],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO product_seen (store_id, product_id, last_seen_run, last_seen_at)
                 VALUES (?1, ?2, 3, ?3)",
                params![s, id, at(points as i64 * 3600)],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO product_versions (store_id, product_id, content_hash,
                     first_observed_at, run_id) VALUES (?1, ?2, 'h', ?3, 1)",
                params![s, id, at(0)],
            )
            .unwrap();
            for v in 0..3i64 {
                tx.execute(
                    "INSERT INTO variants (store_id, variant_id, product_id, position, title, sku,
                         price, price_cents, available, written_run)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, '19.99', 1999, 1, 1)",
                    params![
                        s,
                        id * 10 + v,
                        id,
                        v + 1,
                        format!("Size {v}"),
                        format!("SKU-{id}-{v}")
                    ],
                )
                .unwrap();
            }
        }
    }
    let took = started.elapsed().as_secs_f64();
    // The charted product: `points` recorded prices of its first variant (the first price,
    // then one change per hour), and stock going out and back every 10 changes.
    let (store, product, variant) = (1i64, 1_000_000i64, 10_000_000i64);
    let mut price = 1999i64;
    for i in 1..points as i64 {
        let new = if i % 2 == 0 { price + 150 } else { price - 100 };
        let text = |c: i64| format!("{}.{:02}", c / 100, c % 100);
        tx.execute(
            "INSERT INTO variant_changes (store_id, product_id, variant_id, field, old_value,
                 new_value, observed_at, run_id) VALUES (?1, ?2, ?3, 'price', ?4, ?5, ?6, 1)",
            params![
                store,
                product,
                variant,
                text(price),
                text(new),
                at(i * 3600)
            ],
        )
        .unwrap();
        if i % 10 == 0 {
            let (old, new) = if i % 20 == 0 { ("0", "1") } else { ("1", "0") };
            tx.execute(
                "INSERT INTO variant_changes (store_id, product_id, variant_id, field, old_value,
                     new_value, observed_at, run_id)
                 VALUES (?1, ?2, ?3, 'available', ?4, ?5, ?6, 1)",
                params![store, product, variant, old, new, at(i * 3600 + 60)],
            )
            .unwrap();
        }
        price = new;
    }
    tx.execute(
        "UPDATE variants SET price = ?1, price_cents = ?2 WHERE variant_id = ?3",
        params![
            format!("{}.{:02}", price / 100, price % 100),
            price,
            variant
        ],
    )
    .unwrap();
    // The search index, as the writer fills it at the end of each write (store/search_index.rs).
    tx.execute_batch(
        "INSERT INTO product_search_keys (store_id, product_id)
             SELECT store_id, product_id FROM products;
         INSERT INTO product_search (rowid, title, handle, vendor, store_id)
             SELECT k.search_id, p.title, p.handle, p.vendor, p.store_id
             FROM product_search_keys k JOIN products p USING (store_id, product_id);",
    )
    .unwrap();
    tx.commit().unwrap();
    took
}

/// Median, 90th percentile and maximum of `runs` GETs of `url` (after 5 unmeasured ones).
async fn time(client: &reqwest::Client, url: &str, runs: usize) -> (f64, f64, f64, usize) {
    let mut took = Vec::new();
    let mut bytes = 0;
    for i in 0..runs + 5 {
        let started = Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        bytes = response.bytes().await.unwrap().len();
        if i >= 5 {
            took.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    took.sort_by(f64::total_cmp);
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), took[took.len() - 1], bytes)
}

#[tokio::main]
async fn main() {
    let (stores, points, products) = (
        arg("--stores", 200),
        arg("--points", 1000),
        arg("--products", 100_000),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    drop(shopmirror::store::Writer::open(&db).unwrap());
    // The same rows without the search index's triggers: what the index costs the writes.
    let bare = dir.path().join("bare.db");
    drop(shopmirror::store::Writer::open(&bare).unwrap());
    let mut conn = Connection::open(&bare).unwrap();
    let triggers: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'product_search%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in &triggers {
        conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
    }
    let without = fill(&mut conn, stores, points, products);
    drop(conn);
    let mut conn = Connection::open(&db).unwrap();
    let with = fill(&mut conn, stores, points, products);
    drop(conn);
    println!(
        "{} products, {} variants written in one transaction: {with:.2} s with the search \
         index's {} triggers, {without:.2} s without",
        products / stores * stores,
        products / stores * stores * 3,
        triggers.len()
    );
    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("shopmirror");
    let mut child = Command::new(&binary)
        .args(["--db"])
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("target/release/shopmirror is built");
    let base = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            let rest = l.split("serving the web pages on ").nth(1)?;
            Some(
                rest.split_whitespace()
                    .next()?
                    .trim_end_matches('/')
                    .to_string(),
            )
        })
        .expect("serve starts");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    println!("| page | median ms | p90 ms | max ms | bytes |\n|---|---|---|---|---|");
    for (name, path) in [
        (format!("overview, {stores} stores"), "/".to_string()),
        (
            format!("product page, {points} price points"),
            "/stores/store-001/products/1000000".to_string(),
        ),
        (
            format!("price.svg, {points} points"),
            "/stores/store-001/products/1000000/price.svg?variant=10000000".to_string(),
        ),
        (
            format!("search by SKU over {products} products"),
            "/search?q=SKU-150000042-1".to_string(),
        ),
        (
            format!("search by two words every title has, over {products} products"),
            "/search?q=cotton+shirt".to_string(),
        ),
        (
            format!("search by a rare title word over {products} products"),
            "/search?q=number+150000042".to_string(),
        ),
        ("changes, 50 rows".to_string(), "/changes".to_string()),
    ] {
        let (median, p90, max, bytes) = time(&client, &format!("{base}{path}"), 50).await;
        println!("| {name} | {median:.1} | {p90:.1} | {max:.1} | {bytes} |");
    }
    let _ = child.kill();
    let _ = child.wait();
}
