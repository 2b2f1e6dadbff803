//! Sync runs and their resume cursor: moving between phases,
//! checking deletion candidates in batches, and finishing a run with its outcome. Every cursor
//! move commits with the rows it vouches for.

use rusqlite::params;

use super::breaker::HttpTotals;
use super::products::{add_counts, insert_event, WriteCounts};
use super::quarantine::clear_resolved;
use super::seen::mark_seen;
use super::write::WriteDb;
use super::{now_text, Context, Error};

/// Where a run starts: fresh, or resumed from its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStart {
    pub store_id: i64,
    pub run_id: i64,
    /// The unfinished run left behind because it was made for another URL of the store.
    pub abandoned: Option<i64>,
    pub resumed: bool,
    pub phase: Phase,
    pub next_page: i64,
    /// Deletions phase: the last product id already checked; sitemap phase: entries of the
    /// current product sitemap already handled; collection_products phase: the collection id
    /// being paged (lower ids are done).
    pub position: i64,
    /// Sitemap phase: which product sitemap (0-based, index order) is in progress.
    pub sitemap_index: i64,
    /// The listing of this run hit the cap.
    pub listing_capped: bool,
    /// The sitemap of this run was walked to its end.
    pub sitemap_complete: bool,
}

/// The phases of a run, in order. Sitemap runs only after a capped listing; the collection
/// phases only when the store has collections enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Products,
    Sitemap,
    Collections,
    CollectionProducts,
    Deletions,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Products,
        Phase::Sitemap,
        Phase::Collections,
        Phase::CollectionProducts,
        Phase::Deletions,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Phase::Products => "products",
            Phase::Sitemap => "sitemap",
            Phase::Collections => "collections",
            Phase::CollectionProducts => "collection_products",
            Phase::Deletions => "deletions",
        }
    }

    /// Reads a stored phase name; an unknown name restarts at the listing.
    pub(super) fn parse(name: &str) -> Phase {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .unwrap_or(Phase::Products)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Everything enumerated and deletions checked.
    Complete,
    /// Finished, but the listing was capped and the sitemap could not complete the
    /// enumeration: deletions were not checked.
    Capped,
    /// A request or page failed; the cursor stays for the next run.
    Failed,
    /// Stopped by a signal; the cursor stays.
    Interrupted,
}

impl RunOutcome {
    fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Complete => "complete",
            RunOutcome::Capped => "capped",
            RunOutcome::Failed => "failed",
            RunOutcome::Interrupted => "interrupted",
        }
    }
}

/// A run's totals, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub run_id: i64,
    pub status: String,
    pub pages: i64,
    pub requests: i64,
    pub new: i64,
    pub changed: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub restored: i64,
    pub listing_capped: bool,
    /// Unusable products this run put in quarantine.
    pub quarantined: i64,
    /// A quarantined product had no usable id: no product was tombstoned by this run.
    pub deletions_inconclusive: bool,
}

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
    /// Last product id covered by this batch: the cursor moves here.
    pub position: i64,
    pub requests: i64,
}

impl WriteDb {
    /// Registers a store (or updates its URL) and returns its id.
    pub fn ensure_store(&mut self, name: &str, base_url: &str) -> Result<i64, Error> {
        self.transaction(|tx, path| {
            tx.prepare_cached(
                "INSERT INTO stores (name, base_url, added_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET base_url = excluded.base_url
                 RETURNING store_id",
            )
            .and_then(|mut s| s.query_row(params![name, base_url, now_text()], |r| r.get(0)))
            .ctx(path, "registering store")
        })
    }

    /// Records that the listing hit the cap (the run will end capped).
    pub fn mark_capped(&mut self, run_id: i64, requests: i64) -> Result<(), Error> {
        self.transaction(|tx, path| {
            tx.execute(
                "UPDATE sync_runs SET listing_capped = 1, requests = requests + ?2
                 WHERE run_id = ?1",
                params![run_id, requests],
            )
            .ctx(path, "marking run capped")?;
            Ok(())
        })
    }

    /// Moves the run's cursor into `phase`, at its start. `sitemap_complete` records, in the
    /// same transaction, that the sitemap phase just walked the whole sitemap.
    pub fn enter_phase(
        &mut self,
        store_id: i64,
        phase: Phase,
        sitemap_complete: bool,
        requests: i64,
    ) -> Result<(), Error> {
        self.transaction(|tx, path| {
            tx.execute(
                "UPDATE sync_cursor SET phase = ?2, next_page = 1, position = 0,
                     sitemap_index = 0, sitemap_complete = sitemap_complete OR ?3
                 WHERE store_id = ?1",
                params![store_id, phase.as_str(), sitemap_complete],
            )
            .ctx(path, "moving cursor to next phase")?;
            tx.execute(
                "UPDATE sync_runs SET requests = requests + ?2
                 WHERE run_id = (SELECT run_id FROM sync_cursor WHERE store_id = ?1)",
                params![store_id, requests],
            )
            .ctx(path, "counting requests")?;
            Ok(())
        })
    }

    /// Live products of the store not seen by this run, after `after_id`, in id order, each
    /// with whether an earlier complete run (deletions checked) missed it too.
    pub fn deletion_candidates(
        &mut self,
        store_id: i64,
        run_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<DeletionCandidate>, Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                "SELECT p.product_id, p.handle,
                     EXISTS (SELECT 1 FROM sync_runs r
                             WHERE r.store_id = ?1 AND r.status = 'complete'
                               AND r.deletions_inconclusive = 0
                               AND r.run_id > s.last_seen_run AND r.run_id < ?2)
                 FROM product_seen s JOIN products p
                     ON p.store_id = s.store_id AND p.product_id = s.product_id
                 WHERE s.store_id = ?1 AND s.last_seen_run != ?2 AND s.product_id > ?3
                   AND p.deleted_at IS NULL
                 ORDER BY s.product_id LIMIT ?4",
            )
            .and_then(|mut s| {
                s.query_map(params![store_id, run_id, after_id, limit], |r| {
                    Ok(DeletionCandidate {
                        product_id: r.get(0)?,
                        handle: r.get(1)?,
                        missed_before: r.get(2)?,
                    })
                })?
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
                checks.requests,
            )?;
            tx.execute(
                "UPDATE sync_cursor SET position = ?2 WHERE store_id = ?1",
                params![checks.store_id, checks.position],
            )
            .ctx(path, "advancing deletion cursor")?;
            Ok(())
        })
    }

    /// Ends a run. Complete and capped runs drop their cursor; failed and interrupted runs
    /// keep it so the next run resumes there.
    pub fn finish_run(
        &mut self,
        store_id: i64,
        run_id: i64,
        outcome: RunOutcome,
        error: Option<&str>,
        requests: i64,
        http: &HttpTotals,
    ) -> Result<RunCounts, Error> {
        let counts = self.transaction(|tx, path| {
            // An interruption says nothing about the store: the run and the store keep the
            // error they had (a resumed failed run that was then interrupted still failed).
            let interrupted = outcome == RunOutcome::Interrupted;
            tx.execute(
                "UPDATE sync_runs SET status = ?2, finished_at = ?3,
                     error = CASE WHEN ?9 THEN error ELSE ?4 END,
                     requests = requests + ?5, retries = retries + ?6,
                     wait_ms = wait_ms + ?7, breaker_state = ?8
                 WHERE run_id = ?1",
                params![
                    run_id,
                    outcome.as_str(),
                    now_text(),
                    error,
                    requests,
                    http.retries,
                    http.wait_ms,
                    http.breaker_state,
                    interrupted
                ],
            )
            .ctx(path, "finishing run")?;
            if matches!(outcome, RunOutcome::Complete | RunOutcome::Capped) {
                tx.execute("DELETE FROM sync_cursor WHERE run_id = ?1", [run_id])
                    .ctx(path, "dropping cursor")?;
            }
            if outcome == RunOutcome::Complete {
                clear_resolved(tx, path, store_id, run_id)?;
            }
            if !interrupted {
                tx.execute(
                    "UPDATE stores SET last_error = ?2 WHERE store_id = ?1",
                    params![store_id, error],
                )
                .ctx(path, "recording store error")?;
            }
            tx.query_row(
                "SELECT run_id, status, pages, requests, products_new, products_changed,
                     products_unchanged, products_deleted, products_restored, listing_capped,
                     quarantined, deletions_inconclusive
                 FROM sync_runs WHERE run_id = ?1",
                [run_id],
                |r| {
                    Ok(RunCounts {
                        run_id: r.get(0)?,
                        status: r.get(1)?,
                        pages: r.get(2)?,
                        requests: r.get(3)?,
                        new: r.get(4)?,
                        changed: r.get(5)?,
                        unchanged: r.get(6)?,
                        deleted: r.get(7)?,
                        restored: r.get(8)?,
                        listing_capped: r.get(9)?,
                        quarantined: r.get(10)?,
                        deletions_inconclusive: r.get(11)?,
                    })
                },
            )
            .ctx(path, "reading run totals")
        })?;
        // Keeps the planner's statistics current (cheap with analysis_limit), so lookups by
        // handle use their index.
        self.conn
            .execute_batch("PRAGMA optimize")
            .ctx(&self.path, "optimizing")?;
        Ok(counts)
    }
}
