//! The collection quarantine: collections /collections.json sent as valid JSON that could not
//! be used. Each is kept raw with its reason in the transaction of the page it came from; one
//! with a usable id keeps its last good row, which counts as listed by the run (restored if it
//! was tombstoned, so its membership is walked under its stored handle); one without makes the
//! run's collection tombstones inconclusive. Rows the store stopped sending are cleared when a
//! complete run ends (with the product quarantine's).

use std::path::Path;

use rusqlite::{params, Transaction};

use super::write::WriteDb;
use super::{now_text, Context, Error};
use crate::catalog::Unusable;

/// Quarantines the unusable collections of the page at `url` for the run.
pub(super) fn quarantine_collections(
    tx: &Transaction,
    path: &Path,
    (store_id, run_id): (i64, i64),
    url: &str,
    unusable: &[Unusable],
) -> Result<(), Error> {
    let now = now_text();
    for u in unusable {
        if let Some(id) = u.id {
            tx.prepare_cached(
                "DELETE FROM collection_quarantine WHERE store_id = ?1 AND collection_id = ?2",
            )
            .and_then(|mut s| s.execute(params![store_id, id]))
            .ctx(path, "replacing quarantined collection")?;
            tx.prepare_cached(
                "UPDATE collections SET last_seen_at = ?3, last_seen_run = ?4, deleted_at = NULL
                 WHERE store_id = ?1 AND collection_id = ?2",
            )
            .and_then(|mut s| s.execute(params![store_id, id, now, run_id]))
            .ctx(path, "keeping quarantined collection listed")?;
        }
        tx.prepare_cached(
            "INSERT INTO collection_quarantine (store_id, collection_id, handle, reason, url,
                 run_id, quarantined_at, raw_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut s| {
            s.execute(params![
                store_id, u.id, u.handle, u.reason, url, run_id, now, u.raw_json
            ])
        })
        .ctx(path, "quarantining collection")?;
    }
    Ok(())
}

impl WriteDb {
    /// True when this run quarantined a collection without a usable id: it may be any of the
    /// collections the run did not list, so none is tombstoned this run.
    pub fn collection_tombstones_inconclusive(
        &mut self,
        store_id: i64,
        run_id: i64,
    ) -> Result<bool, Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM collection_quarantine
                                WHERE store_id = ?1 AND run_id = ?2 AND collection_id IS NULL)",
            )
            .and_then(|mut s| s.query_row(params![store_id, run_id], |r| r.get(0)))
            .ctx(&path, "looking for quarantined collections without id")
    }
}

/// After a complete run: drops the rows of collections this run did not quarantine again.
pub(super) fn clear_resolved_collections(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
) -> Result<(), Error> {
    tx.prepare_cached("DELETE FROM collection_quarantine WHERE store_id = ?1 AND run_id != ?2")
        .and_then(|mut s| s.execute(params![store_id, run_id]))
        .ctx(path, "clearing resolved collection quarantine")?;
    Ok(())
}
