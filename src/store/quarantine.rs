//! The quarantine: products a store sent as valid JSON that could not be used. Each is kept
//! raw with its reason in the same transaction as the page it came from; one with a usable id
//! counts as seen by the run (its stored product stays live, or is restored), one without makes
//! the run's deletions inconclusive. Rows the store stopped sending are cleared when a complete
//! run ends.

use std::path::Path;

use rusqlite::{params, OptionalExtension, Transaction};

use super::funnel::WriteCtx;
use super::rows::restore;
use super::seen::mark_seen;
use super::write::WriteDb;
use super::{Context, Error};
use crate::catalog::Unusable;

/// Quarantines `unusable` (found at `url`) for the run; returns how many are new to this run
/// and how many stored products this restored.
pub(super) fn quarantine(
    ctx: &WriteCtx,
    url: &str,
    unusable: &[Unusable],
) -> Result<(i64, i64), Error> {
    let (tx, path, store_id, run_id, now) = (ctx.tx, ctx.path, ctx.store_id, ctx.run_id, &ctx.now);
    if unusable.is_empty() {
        return Ok((0, 0));
    }
    let (mut new, mut restored) = (0, 0);
    for u in unusable {
        let earlier_this_run = match u.id {
            Some(id) => tx
                .prepare_cached(
                    "DELETE FROM quarantine WHERE store_id = ?1 AND product_id = ?2
                     RETURNING run_id = ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![store_id, id, run_id], |r| r.get::<_, bool>(0))?
                        .collect::<rusqlite::Result<Vec<bool>>>()
                })
                .ctx(path, "replacing quarantined product")?
                .contains(&true),
            None => false,
        };
        tx.prepare_cached(
            "INSERT INTO quarantine (store_id, product_id, handle, reason, url, run_id,
                 quarantined_at, raw_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut s| {
            s.execute(params![
                store_id, u.id, u.handle, u.reason, url, run_id, now, u.raw_json
            ])
        })
        .ctx(path, "quarantining product")?;
        if !earlier_this_run {
            new += 1;
        }
        let Some(id) = u.id else { continue };
        let deleted: Option<bool> = tx
            .prepare_cached(
                "SELECT deleted_at IS NOT NULL FROM products
                 WHERE store_id = ?1 AND product_id = ?2",
            )
            .and_then(|mut s| s.query_row(params![store_id, id], |r| r.get(0)).optional())
            .ctx(path, "looking up quarantined product")?;
        match deleted {
            Some(true) => {
                restore(ctx, id)?;
                restored += 1;
            }
            // Seen, with the raw hash of its stored content kept: the JSON quarantined is
            // not that content, so a later copy of it is never taken as unchanged.
            Some(false) => mark_seen(ctx, id, None)?,
            None => {}
        }
    }
    tx.prepare_cached("UPDATE sync_runs SET quarantined = quarantined + ?2 WHERE run_id = ?1")
        .and_then(|mut s| s.execute(params![run_id, new]))
        .ctx(path, "counting quarantined products")?;
    Ok((new, restored))
}

impl WriteDb {
    /// True when this run quarantined a product without a usable id: the run cannot tell
    /// which products it saw, so its deletions are inconclusive (recorded on the run).
    pub fn deletions_inconclusive(&mut self, store_id: i64, run_id: i64) -> Result<bool, Error> {
        self.transaction(|tx, path| {
            let inconclusive = idless_this_run(tx, store_id, run_id)
                .ctx(path, "looking for quarantined products without id")?;
            tx.prepare_cached("UPDATE sync_runs SET deletions_inconclusive = ?2 WHERE run_id = ?1")
                .and_then(|mut s| s.execute(params![run_id, inconclusive]))
                .ctx(path, "recording inconclusive deletions")?;
            Ok(inconclusive)
        })
    }
}

/// Whether the run quarantined a product without a usable id.
pub(super) fn idless_this_run(
    tx: &rusqlite::Connection,
    store_id: i64,
    run_id: i64,
) -> rusqlite::Result<bool> {
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM quarantine
                        WHERE store_id = ?1 AND run_id = ?2 AND product_id IS NULL)",
    )
    .and_then(|mut s| s.query_row(params![store_id, run_id], |r| r.get(0)))
}

/// After a complete run: drops the rows of products this run did not quarantine again.
pub(super) fn clear_resolved(
    tx: &Transaction,
    path: &Path,
    store_id: i64,
    run_id: i64,
) -> Result<(), Error> {
    tx.prepare_cached("DELETE FROM quarantine WHERE store_id = ?1 AND run_id != ?2")
        .and_then(|mut s| s.execute(params![store_id, run_id]))
        .ctx(path, "clearing resolved quarantine")?;
    Ok(())
}
