//! An in-process mirror for integration tests: a database in a temp dir, the sync context runs
//! use, and readings of it compared with the fake storefront (hashes, rows written, requests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use shopmirror::config::{Config, StoreConfig};
use shopmirror::store::{RunCounts, Writer};
use shopmirror::storefront::{Client, ClientSettings};
use shopmirror::sync::{sync_store, Progress, SyncContext};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::fakeshop::FakeShop;

/// A database in a temp dir and the context syncs run with.
pub struct Mirror {
    _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub ctx: SyncContext,
}

/// The client settings of test syncs: the config's defaults, loopback allowed, no pacing,
/// bodies up to 64 MiB.
pub fn client_settings() -> ClientSettings {
    ClientSettings {
        user_agent: "shopmirror-test".into(),
        allow_private: true,
        min_delay: Duration::ZERO,
        max_body_bytes: 64 * 1024 * 1024,
        ..Config::load(None, None).unwrap().http
    }
}

/// A sync context writing to `db`, its client built from `settings`.
pub fn context(db: &Path, settings: ClientSettings, page_size: u32) -> SyncContext {
    SyncContext::new(
        Arc::new(Client::new(settings).unwrap()),
        Writer::open(db).unwrap(),
        page_size,
        CancellationToken::new(),
        Arc::new(Progress::default()),
    )
}

impl Mirror {
    pub fn new() -> Mirror {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mirror.db");
        let ctx = context(&db, client_settings(), 250);
        Mirror { _dir: dir, db, ctx }
    }

    pub async fn sync(&self, store: &StoreConfig) -> RunCounts {
        sync_store(&self.ctx, store).await.expect("sync succeeds")
    }

    pub fn conn(&self) -> Connection {
        Connection::open(&self.db).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Live products: id -> content hash.
    pub fn hashes(&self) -> BTreeMap<i64, String> {
        super::mirrored_hashes(&self.db)
    }

    /// Rows of variants, images and options (re)written by `run`.
    pub fn rows_written_by(&self, run: i64) -> i64 {
        ["variants", "images", "options"]
            .iter()
            .map(|t| {
                self.count(&format!(
                    "SELECT count(*) FROM {t} WHERE written_run = {run}"
                ))
            })
            .sum()
    }
}

/// The store `shop` at the fake, its collection phases on or off.
pub fn store(shop: &FakeShop, collections: bool) -> StoreConfig {
    named_store("shop", shop, collections)
}

/// The store `name` at the fake, its collection phases on or off.
pub fn named_store(name: &str, shop: &FakeShop, collections: bool) -> StoreConfig {
    let mut store = StoreConfig::new(name.into(), Url::parse(&shop.url()).unwrap());
    store.collections = collections;
    store
}

/// Requests logged by the fake, counted by endpoint kind.
pub fn requests_by_endpoint(shop: &FakeShop) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for r in shop.request_log() {
        let path = r.path.split('?').next().unwrap_or("");
        let kind = match path {
            "/products.json" => "listing",
            "/collections.json" => "collections",
            "/sitemap.xml" => "sitemap index",
            p if p.starts_with("/sitemap_products_") => "product sitemap",
            p if p.starts_with("/collections/") => "collection products",
            p if p.starts_with("/products/") && p.ends_with(".js") => "single product js",
            p if p.starts_with("/products/") => "single product",
            _ => "other",
        };
        *counts.entry(kind).or_insert(0) += 1;
    }
    counts
}

/// The cursor row of the store, if a run is unfinished: (phase, sitemap_index, position).
pub fn cursor(m: &Mirror) -> Option<(String, i64, i64)> {
    use rusqlite::OptionalExtension;
    m.conn()
        .query_row(
            "SELECT phase, sitemap_index, position FROM sync_cursor",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .unwrap()
}
