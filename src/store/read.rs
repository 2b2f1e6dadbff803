//! Read-only access for commands and outside tools: a separate read-only connection that never
//! blocks the writer (WAL) and never writes.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::Serialize;

use super::{schema, Context, Error, Requests};
use crate::outcome::RunState;

/// A read-only view of the database.
pub struct Reader {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

/// One store's health as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StoreStatus {
    pub store: String,
    pub base_url: String,
    pub live_products: i64,
    pub deleted_products: i64,
    pub last_run_id: Option<i64>,
    pub last_run_status: Option<RunState>,
    pub last_run_started_at: Option<String>,
    pub last_run_finished_at: Option<String>,
    pub last_run_new: Option<i64>,
    pub last_run_changed: Option<i64>,
    pub last_run_deleted: Option<i64>,
    /// Products currently in quarantine (see the quarantine table).
    pub quarantined: i64,
    pub listing_capped: Option<bool>,
    /// The last run's requests by source (None before the first run).
    pub last_run_requests: Option<Requests>,
    /// Live products whose variant list had exactly 100 entries: possibly truncated.
    pub possibly_truncated_products: i64,
    pub next_sync_at: Option<String>,
    pub breaker_state: String,
    pub last_error: Option<String>,
}

/// Every store with its latest run and product counts, by name (`status`, `stores list`).
const STATUS: &str = "SELECT s.name, s.base_url,
         (SELECT count(*) FROM products p
          WHERE p.store_id = s.store_id AND p.deleted_at IS NULL),
         (SELECT count(*) FROM products p
          WHERE p.store_id = s.store_id AND p.deleted_at IS NOT NULL),
         r.run_id, r.status, r.started_at, r.finished_at, r.products_new,
         r.products_changed, r.products_deleted, r.listing_capped,
         s.next_sync_at, s.breaker_state, s.last_error,
         (SELECT count(*) FROM quarantine q WHERE q.store_id = s.store_id),
         r.requests_listing, r.requests_collections, r.requests_sitemap,
         r.requests_single, r.requests_deletions,
         (SELECT count(*) FROM products p INDEXED BY products_truncated
          WHERE p.store_id = s.store_id AND p.variants_truncated = 1
            AND p.deleted_at IS NULL)
     FROM stores s
     LEFT JOIN sync_runs r ON r.run_id =
         (SELECT max(run_id) FROM sync_runs WHERE store_id = s.store_id)
     ORDER BY s.name";

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, Error> {
        Ok(Reader {
            conn: schema::open_reader(path)?,
            path: path.to_path_buf(),
        })
    }

    /// Every store's name and base URL, by name.
    pub fn store_urls(&self) -> Result<Vec<(String, String)>, Error> {
        self.conn
            .prepare("SELECT name, base_url FROM stores ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .ctx(&self.path, "listing stores")
    }

    /// Every store with its latest run, by name.
    pub fn store_statuses(&self) -> Result<Vec<StoreStatus>, Error> {
        self.conn
            .prepare(STATUS)
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(StoreStatus {
                        store: r.get(0)?,
                        base_url: r.get(1)?,
                        live_products: r.get(2)?,
                        deleted_products: r.get(3)?,
                        last_run_id: r.get(4)?,
                        last_run_status: r.get(5)?,
                        last_run_started_at: r.get(6)?,
                        last_run_finished_at: r.get(7)?,
                        last_run_new: r.get(8)?,
                        last_run_changed: r.get(9)?,
                        last_run_deleted: r.get(10)?,
                        quarantined: r.get(15)?,
                        listing_capped: r.get(11)?,
                        next_sync_at: r.get(12)?,
                        breaker_state: r.get(13)?,
                        last_error: r.get(14)?,
                        last_run_requests: match r.get::<_, Option<i64>>(16)? {
                            Some(listing) => Some(Requests {
                                listing,
                                collections: r.get(17)?,
                                sitemap: r.get(18)?,
                                single: r.get(19)?,
                                deletions: r.get(20)?,
                            }),
                            None => None,
                        },
                        possibly_truncated_products: r.get(21)?,
                    })
                })?
                .collect()
            })
            .ctx(&self.path, "reading store status")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of `sql` on a fresh database, one detail a line.
    fn plan(sql: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let conn = schema::open_writer(&dir.path().join("p.db")).unwrap();
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details: Vec<String> = statement
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        details.join("\n")
    }

    #[test]
    fn status_counts_products_from_indexes_alone() {
        let plan = plan(STATUS);
        let products: Vec<&str> = plan.lines().filter(|l| l.contains(" p ")).collect();
        assert_eq!(products.len(), 3, "{plan}");
        assert!(
            products.iter().all(|l| l.contains("USING COVERING INDEX")),
            "every count of products reads an index alone:\n{plan}"
        );
    }
}
