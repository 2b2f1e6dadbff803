//! Sync runs and their resume cursor: moving between phases,
//! checking deletion candidates in batches, and finishing a run with its outcome. Every cursor
//! move commits with the rows it vouches for.

use rusqlite::params;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use super::breaker::HttpTotals;
use super::collection_quarantine::clear_resolved_collections;
use super::quarantine::clear_resolved;
use super::requests::{add_requests, Requests};
use super::write::WriteDb;
use super::{now_text, Context, Error};
use crate::outcome::{RunState, RunStatus};

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
    /// The page size `next_page` counts in; None for cursors written before it was recorded.
    pub page_size: Option<i64>,
    /// Deletions phase: the lowest product id not checked yet; sitemap phase: entries of the
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

/// The phases of a run, in order of cost per product: the listing, then the collection feeds
/// (when enabled), then the sitemap (only after a capped listing, fetching one by one only the
/// products no page showed), then deletions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Products,
    Collections,
    CollectionProducts,
    Sitemap,
    Deletions,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Products,
        Phase::Collections,
        Phase::CollectionProducts,
        Phase::Sitemap,
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

    /// The cursor position a phase starts at: the smallest integer for the phases that walk
    /// ids upward (deletions, collection_products: every id, 0 and below included, is
    /// walked), 0 for the others (the sitemap counts entries).
    pub fn start(self) -> i64 {
        match self {
            Phase::Deletions | Phase::CollectionProducts => i64::MIN,
            Phase::Products | Phase::Collections | Phase::Sitemap => 0,
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

// The status word of a run's row is `RunStatus::as_str`; a row still going says `running`.
impl ToSql for RunStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for RunStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<RunStatus> {
        let word = value.as_str()?;
        RunStatus::parse(word)
            .ok_or_else(|| FromSqlError::Other(format!("not an ended run: {word}").into()))
    }
}

impl ToSql for RunState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for RunState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<RunState> {
        let word = value.as_str()?;
        RunState::parse(word)
            .ok_or_else(|| FromSqlError::Other(format!("not a run status: {word}").into()))
    }
}

/// A run's totals, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCounts {
    pub run_id: i64,
    pub status: RunStatus,
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
    pub requests_by_source: Requests,
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
    pub fn mark_capped(&mut self, run_id: i64, requests: Requests) -> Result<(), Error> {
        self.transaction(|tx, path| {
            tx.execute(
                "UPDATE sync_runs SET listing_capped = 1 WHERE run_id = ?1",
                params![run_id],
            )
            .ctx(path, "marking run capped")?;
            add_requests(tx, path, run_id, &requests)
        })
    }

    /// Moves the run's cursor into `phase`, at its start. `sitemap_complete` records, in the
    /// same transaction, that the sitemap phase just walked the whole sitemap.
    pub fn enter_phase(
        &mut self,
        store_id: i64,
        phase: Phase,
        sitemap_complete: bool,
        requests: Requests,
    ) -> Result<(), Error> {
        self.transaction(|tx, path| {
            let run_id: i64 = tx
                .query_row(
                    "UPDATE sync_cursor SET phase = ?2, next_page = 1, position = ?4,
                         sitemap_index = 0, sitemap_complete = sitemap_complete OR ?3
                     WHERE store_id = ?1 RETURNING run_id",
                    params![store_id, phase.as_str(), sitemap_complete, phase.start()],
                    |r| r.get(0),
                )
                .ctx(path, "moving cursor to next phase")?;
            add_requests(tx, path, run_id, &requests)
        })
    }

    /// Ends a run with `status` (one it can reach by itself). Complete and capped runs drop
    /// their cursor; failed and interrupted runs keep it so the next run resumes there.
    pub fn finish_run(
        &mut self,
        store_id: i64,
        run_id: i64,
        status: RunStatus,
        error: Option<&str>,
        requests: Requests,
        http: &HttpTotals,
    ) -> Result<RunCounts, Error> {
        let counts = self.transaction(|tx, path| {
            // An interruption says nothing about the store: the run and the store keep the
            // error they had (a resumed failed run that was then interrupted still failed).
            let interrupted = status == RunStatus::Interrupted;
            add_requests(tx, path, run_id, &requests)?;
            tx.execute(
                "UPDATE sync_runs SET status = ?2, finished_at = ?3,
                     error = CASE WHEN ?8 THEN error ELSE ?4 END,
                     retries = retries + ?5, wait_ms = wait_ms + ?6, breaker_state = ?7
                 WHERE run_id = ?1",
                params![
                    run_id,
                    status,
                    now_text(),
                    error,
                    http.retries,
                    http.wait_ms,
                    http.breaker_state,
                    interrupted
                ],
            )
            .ctx(path, "finishing run")?;
            if status.finished() {
                tx.execute("DELETE FROM sync_cursor WHERE run_id = ?1", [run_id])
                    .ctx(path, "dropping cursor")?;
            }
            if status == RunStatus::Complete {
                clear_resolved(tx, path, store_id, run_id)?;
                clear_resolved_collections(tx, path, store_id, run_id)?;
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
                     quarantined, deletions_inconclusive,
                     requests_listing, requests_collections, requests_sitemap,
                     requests_single, requests_deletions
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
                        requests_by_source: Requests {
                            listing: r.get(12)?,
                            collections: r.get(13)?,
                            sitemap: r.get(14)?,
                            single: r.get(15)?,
                            deletions: r.get(16)?,
                        },
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
