//! Deletion checks of a run: the live products it did not see (candidates, in id order), and
//! writing a checked batch (tombstones, seen-markers of the live ones, the cursor) atomically.

use rusqlite::params;

use super::page::add_counts;
use super::requests::Requests;
use super::seen::mark_seen;
use super::upsert::WriteCounts;
use super::write::WriteDb;
use super::{Context, Error};
use crate::change::{Change, ProductEvent};
use crate::outcome::RunStatus;

/// A live product the run did not see: possibly deleted, to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionCandidate {
    pub product_id: i64,
    pub handle: String,
    /// An earlier complete run, whose deletions were checked, did not see it either.
    pub missed_before: bool,
}

/// The result of checking a batch of candidates.
pub struct DeletionChecks {
    pub store_id: i64,
    pub run_id: i64,
    /// Confirmed gone (the single-product endpoint answered 404).
    pub gone: Vec<i64>,
    /// Still there (the single-product endpoint answered with the same product): only their
    /// seen-marker moves; the next listing pass brings their content up to date. Candidates
    /// in neither list (their handle answered another product) stay live and unseen.
    pub alive: Vec<i64>,
    /// The lowest product id not covered by this batch: the cursor moves here.
    pub position: i64,
    pub requests: Requests,
    /// The single-product endpoint answered 404 for a product this run saw live: the run's
    /// deletions are inconclusive (recorded on the run).
    pub inconclusive: bool,
}

impl WriteDb {
    /// Live products of the store not seen by this run, from `from_id` on, in id order, each
    /// with whether an earlier complete run (deletions checked) missed it too.
    pub fn deletion_candidates(
        &mut self,
        store_id: i64,
        run_id: i64,
        from_id: i64,
        limit: i64,
    ) -> Result<Vec<DeletionCandidate>, Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                "SELECT p.product_id, p.handle,
                     EXISTS (SELECT 1 FROM sync_runs r
                             WHERE r.store_id = ?1 AND r.status = ?5
                               AND r.deletions_inconclusive = 0
                               AND r.run_id > s.last_seen_run AND r.run_id < ?2)
                 FROM product_seen s JOIN products p
                     ON p.store_id = s.store_id AND p.product_id = s.product_id
                 WHERE s.store_id = ?1 AND s.last_seen_run != ?2 AND s.product_id >= ?3
                   AND p.deleted_at IS NULL
                 ORDER BY s.product_id LIMIT ?4",
            )
            .and_then(|mut s| {
                s.query_map(
                    params![store_id, run_id, from_id, limit, RunStatus::Complete],
                    |r| {
                        Ok(DeletionCandidate {
                            product_id: r.get(0)?,
                            handle: r.get(1)?,
                            missed_before: r.get(2)?,
                        })
                    },
                )?
                .collect()
            })
            .ctx(&path, "listing deletion candidates")
    }

    /// The handles of up to `limit` live products this run saw, in id order: the products
    /// asked for to learn whether the single-product endpoint answers at all.
    pub fn seen_live(
        &mut self,
        store_id: i64,
        run_id: i64,
        limit: i64,
    ) -> Result<Vec<String>, Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                "SELECT p.handle
                 FROM product_seen s JOIN products p
                     ON p.store_id = s.store_id AND p.product_id = s.product_id
                 WHERE s.store_id = ?1 AND s.last_seen_run = ?2 AND p.deleted_at IS NULL
                 ORDER BY s.product_id LIMIT ?3",
            )
            .and_then(|mut s| {
                s.query_map(params![store_id, run_id, limit], |r| r.get(0))?
                    .collect()
            })
            .ctx(&path, "listing products seen live")
    }

    /// Tombstones confirmed-gone products, writes the live ones as seen, moves the cursor.
    pub fn apply_deletion_checks(&mut self, checks: DeletionChecks) -> Result<(), Error> {
        self.write(checks.store_id, checks.run_id, |ctx| {
            let (tx, path) = (ctx.tx, ctx.path);
            for &id in &checks.alive {
                mark_seen(ctx, id, None)?;
            }
            let mut tombstone = tx
                .prepare_cached(
                    "UPDATE products SET deleted_at = ?3
                     WHERE store_id = ?1 AND product_id = ?2 AND deleted_at IS NULL",
                )
                .ctx(path, "preparing tombstone")?;
            let mut deleted = 0i64;
            for &id in &checks.gone {
                if tombstone
                    .execute(params![checks.store_id, id, ctx.now])
                    .ctx(path, "tombstoning product")?
                    == 1
                {
                    ctx.record(Change::Product {
                        product_id: id,
                        event: ProductEvent::Deleted,
                    })?;
                    deleted += 1;
                }
            }
            tx.execute(
                "UPDATE sync_runs SET products_deleted = products_deleted + ?2,
                     deletions_inconclusive = deletions_inconclusive OR ?3
                 WHERE run_id = ?1",
                params![checks.run_id, deleted, checks.inconclusive],
            )
            .ctx(path, "counting deletions")?;
            add_counts(ctx, WriteCounts::default(), 0, &checks.requests)?;
            tx.execute(
                "UPDATE sync_cursor SET position = ?2 WHERE store_id = ?1",
                params![checks.store_id, checks.position],
            )
            .ctx(path, "advancing deletion cursor")?;
            Ok(())
        })
    }
}
