//! Deletion checks of a run: the live products it did not see (candidates, in id order), and
//! writing a checked batch (tombstones, seen-markers of the live ones, the cursor) atomically.

use rusqlite::params;

use super::products::{add_counts, insert_event, WriteCounts};
use super::requests::Requests;
use super::seen::mark_seen;
use super::write::WriteDb;
use super::{now_text, Context, Error};
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

    /// Tombstones confirmed-gone products, writes the live ones as seen, moves the cursor.
    pub fn apply_deletion_checks(&mut self, checks: DeletionChecks) -> Result<(), Error> {
        self.transaction(|tx, path| {
            let now = now_text();
            for &id in &checks.alive {
                mark_seen(tx, path, checks.store_id, checks.run_id, id, None, &now)?;
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
                    .execute(params![checks.store_id, id, now])
                    .ctx(path, "tombstoning product")?
                    == 1
                {
                    insert_event(
                        tx,
                        path,
                        checks.store_id,
                        id,
                        "deleted",
                        &now,
                        checks.run_id,
                    )?;
                    deleted += 1;
                }
            }
            tx.execute(
                "UPDATE sync_runs SET products_deleted = products_deleted + ?2 WHERE run_id = ?1",
                params![checks.run_id, deleted],
            )
            .ctx(path, "counting deletions")?;
            add_counts(
                tx,
                path,
                checks.run_id,
                WriteCounts::default(),
                0,
                &checks.requests,
            )?;
            tx.execute(
                "UPDATE sync_cursor SET position = ?2 WHERE store_id = ?1",
                params![checks.store_id, checks.position],
            )
            .ctx(path, "advancing deletion cursor")?;
            Ok(())
        })
    }
}
