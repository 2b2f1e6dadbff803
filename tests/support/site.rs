//! A mirrored fake store for the web tests: three real syncs with price, compare-at and stock
//! changes between them, a hostile product title and a known SKU; and `shopmirror serve`
//! over its database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use super::fakeshop::{Catalog, FakeShop};
use super::{rows, WAIT};

/// A product title no page may execute or mangle.
pub const HOSTILE: &str = "<script>document.title='pwned';document.documentElement.setAttribute('data-pwned','1')</script><img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\"> Tom & Jerry \"quoted\" 🙂 שלום";
pub const SKU: &str = "WEB-SKU-4242";

/// A database made by three syncs with changes between them, and the fake it mirrors.
pub struct Mirrored {
    pub dir: tempfile::TempDir,
    pub shop: FakeShop,
    pub db: PathBuf,
    /// The product whose prices and stock changed, and its two variant ids.
    pub tracked: u64,
    pub variants: [i64; 2],
    pub hostile: u64,
}

pub async fn mirrored() -> Mirrored {
    let shop = FakeShop::start(Catalog::generate(30, 23)).await;
    let products = shop.expected_products();
    let with_two = |p: &&Value| p["variants"].as_array().is_some_and(|v| v.len() >= 2);
    let tracked_json = products
        .iter()
        .find(with_two)
        .expect("a product with 2 variants");
    let tracked = tracked_json["id"].as_u64().unwrap();
    let variants = [0, 1].map(|i| tracked_json["variants"][i]["id"].as_i64().unwrap());
    let hostile = products
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .find(|id| *id != tracked)
        .unwrap();
    shop.set_title(hostile, HOSTILE);
    shop.modify_product(tracked, |p| {
        p["variants"][0]["sku"] = SKU.into();
        p["variants"][0]["price"] = "20.00".into();
        p["variants"][0]["compare_at_price"] = "25.00".into();
        p["variants"][0]["available"] = true.into();
        p["variants"][1]["price"] = "30.00".into();
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mirror.db");
    let sync = async |db: &Path| {
        let run = super::sync(db, &shop.url()).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    };
    sync(&db).await;
    shop.set_price(tracked, 0, "17.50");
    shop.set_available(tracked, 0, false);
    shop.set_price(tracked, 1, "27.00");
    sync(&db).await;
    shop.set_price(tracked, 0, "15.00");
    shop.set_available(tracked, 0, true);
    shop.modify_product(tracked, |p| {
        p["variants"][0]["compare_at_price"] = Value::Null
    });
    sync(&db).await;
    Mirrored {
        dir,
        shop,
        db,
        tracked,
        variants,
        hostile,
    }
}

/// A running `shopmirror serve` and its base URL.
pub struct Served {
    _child: Child,
    pub base: String,
}

/// Starts `shopmirror --db DB serve ARGS` and waits for the address it serves on.
pub async fn serve(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut command = super::shopmirror();
    command
        .arg("--db")
        .arg(db)
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("serving the web pages on ").nth(1) {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        }
        panic!("serve ended without serving");
    })
    .await
    .expect("serve starts");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Served {
        _child: child,
        base,
    }
}

pub fn store_of(m: &Mirrored) -> String {
    rows(&m.db, "SELECT name FROM stores").remove(0)
}

/// Every (source, id) of the store's changes, as the feeds and lists name them.
pub fn change_ids(db: &Path) -> BTreeSet<String> {
    rows(
        db,
        "SELECT 'product:' || event_id FROM product_events
         UNION ALL SELECT 'variant:' || change_id FROM variant_changes
         UNION ALL SELECT 'collection:' || change_id FROM collection_changes",
    )
    .into_iter()
    .collect()
}

pub async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}
