//! Reads for the web overview and store pages: every store with its counts and last run, a
//! store's recent runs, and (once the alerts outbox exists) its rows per sink and state. No
//! formatting here.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::read::Reader;
use super::{Context, Error};
use crate::outcome::RunState;

/// One store as the overview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StoreOverview {
    pub store: String,
    pub base_url: String,
    pub live_products: i64,
    pub live_variants: i64,
    pub last_run: Option<RunSummary>,
    pub next_sync_at: Option<String>,
    /// Failed runs since the last complete or capped one.
    pub failure_streak: i64,
    pub last_error: Option<String>,
    pub quarantined: i64,
}

/// One sync run, as the pages list it.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub status: RunState,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Whole seconds between start and finish; None while unfinished.
    pub duration_seconds: Option<i64>,
    pub requests: i64,
    pub products_new: i64,
    pub products_changed: i64,
    pub products_deleted: i64,
    pub products_restored: i64,
    pub error: Option<String>,
}

/// Rows of the alert outbox of one sink in one state.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxCount {
    pub sink: String,
    pub state: String,
    pub rows: i64,
}

const RUN_COLUMNS: &str = "r.run_id, r.status, r.started_at, r.finished_at,
     CAST(round((julianday(r.finished_at) - julianday(r.started_at)) * 86400) AS INTEGER),
     r.requests, r.products_new, r.products_changed, r.products_deleted, r.products_restored,
     r.error";

fn run_summary(r: &Row<'_>, at: usize) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        run_id: r.get(at)?,
        status: r.get(at + 1)?,
        started_at: r.get(at + 2)?,
        finished_at: r.get(at + 3)?,
        duration_seconds: r.get(at + 4)?,
        requests: r.get(at + 5)?,
        products_new: r.get(at + 6)?,
        products_changed: r.get(at + 7)?,
        products_deleted: r.get(at + 8)?,
        products_restored: r.get(at + 9)?,
        error: r.get(at + 10)?,
    })
}

impl Reader {
    /// Every store, by name, with its live counts and latest run (a stale `running` run is
    /// corrected as `status` does).
    pub fn store_overviews(&self) -> Result<Vec<StoreOverview>, Error> {
        let sql = format!(
            "SELECT s.name, s.base_url,
                 (SELECT count(*) FROM products p WHERE p.store_id = s.store_id)
                 - (SELECT count(*) FROM products p INDEXED BY products_deleted
                    WHERE p.store_id = s.store_id AND p.deleted_at IS NOT NULL),
                 (SELECT count(*) FROM variants v WHERE v.store_id = s.store_id)
                 - (SELECT count(*) FROM products p INDEXED BY products_deleted
                    JOIN variants v USING (store_id, product_id)
                    WHERE p.store_id = s.store_id AND p.deleted_at IS NOT NULL),
                 s.next_sync_at, s.last_error,
                 (SELECT count(*) FROM quarantine q WHERE q.store_id = s.store_id),
                 (SELECT count(*) FROM sync_runs f WHERE f.store_id = s.store_id
                      AND f.status = 'failed' AND f.run_id > ifnull(
                          (SELECT max(run_id) FROM sync_runs g WHERE g.store_id = s.store_id
                           AND g.status IN ('complete', 'capped')), 0)),
                 {RUN_COLUMNS}
             FROM stores s
             LEFT JOIN sync_runs r ON r.run_id =
                 (SELECT max(run_id) FROM sync_runs WHERE store_id = s.store_id)
             ORDER BY s.name"
        );
        let mut stores: Vec<StoreOverview> = self
            .conn
            .prepare(&sql)
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(StoreOverview {
                        store: r.get(0)?,
                        base_url: r.get(1)?,
                        live_products: r.get(2)?,
                        live_variants: r.get(3)?,
                        next_sync_at: r.get(4)?,
                        last_error: r.get(5)?,
                        quarantined: r.get(6)?,
                        failure_streak: r.get(7)?,
                        last_run: match r.get::<_, Option<i64>>(8)? {
                            Some(_) => Some(run_summary(r, 8)?),
                            None => None,
                        },
                    })
                })?
                .collect()
            })
            .ctx(&self.path, "reading the store overview")?;
        for s in &mut stores {
            if let Some(run) = &mut s.last_run {
                if let Some(now) = self.run_state_now(&s.store, Some(run.status)) {
                    run.status = now;
                }
            }
        }
        Ok(stores)
    }

    /// The latest `limit` runs of `store`, newest first; a stale `running` run is corrected.
    pub fn recent_runs(&self, store: &str, limit: u32) -> Result<Vec<RunSummary>, Error> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs r JOIN stores s USING (store_id)
             WHERE s.name = ?1 ORDER BY r.run_id DESC LIMIT ?2"
        );
        let mut runs: Vec<RunSummary> = self
            .conn
            .prepare(&sql)
            .and_then(|mut s| {
                s.query_map(params![store, limit], |r| run_summary(r, 0))?
                    .collect()
            })
            .ctx(&self.path, "reading recent runs")?;
        if let Some(latest) = runs.first_mut() {
            if let Some(now) = self.run_state_now(store, Some(latest.status)) {
                latest.status = now;
            }
        }
        Ok(runs)
    }

    /// The store's base URL; None when there is no such store.
    pub fn store_base_url(&self, store: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row(
                "SELECT base_url FROM stores WHERE name = ?1",
                [store],
                |r| r.get(0),
            )
            .optional()
            .ctx(&self.path, "looking up a store")
    }

    /// Alert outbox rows not delivered yet (pending, dead) per sink and state.
    pub fn outbox_counts(&self) -> Result<Vec<OutboxCount>, Error> {
        self.conn
            .prepare(
                "SELECT sink, state, count(*) FROM alert_outbox WHERE state != 'delivered'
                 GROUP BY sink, state ORDER BY sink, state",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(OutboxCount {
                        sink: r.get(0)?,
                        state: r.get(1)?,
                        rows: r.get(2)?,
                    })
                })?
                .collect()
            })
            .ctx(&self.path, "counting the alert outbox")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_counts_are_the_pending_and_dead_rows_per_sink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = super::super::schema::open_writer(&path).unwrap();
        let reader = Reader::open(&path).unwrap();
        assert!(
            reader.outbox_counts().unwrap().is_empty(),
            "no alerts: nothing"
        );
        conn.execute_batch(
            "INSERT INTO alert_outbox (message_id, rule, sink, source, store_id, product_id,
                 event, body, created_at, state, next_attempt_at)
             SELECT 'msg_' || n, 'r', sink, 'product_event:' || n, 1, 1, 'product.added', '{}',
                 't', state, 't'
             FROM (SELECT 1 AS n, 'ops' AS sink, 'pending' AS state
                   UNION ALL SELECT 2, 'ops', 'pending' UNION ALL SELECT 3, 'ops', 'dead'
                   UNION ALL SELECT 4, 'phone', 'pending'
                   UNION ALL SELECT 5, 'phone', 'delivered');",
        )
        .unwrap();
        let reader = Reader::open(&path).unwrap();
        let counts: Vec<(String, String, i64)> = reader
            .outbox_counts()
            .unwrap()
            .into_iter()
            .map(|c| (c.sink, c.state, c.rows))
            .collect();
        assert_eq!(
            counts,
            [
                ("ops".into(), "dead".into(), 1),
                ("ops".into(), "pending".into(), 2),
                ("phone".into(), "pending".into(), 1)
            ]
        );
    }
}
