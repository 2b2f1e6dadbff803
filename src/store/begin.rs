//! Starting a sync run: resuming the store's unfinished run from its cursor, or, when there is
//! none or it was made for another URL of the store (then it is ended `abandoned`), a fresh run
//! for the store's current URL.

use rusqlite::{params, OptionalExtension, Transaction};

use super::runs::{Phase, RunStart};
use super::write::WriteDb;
use super::{now_text, Context, Error};
use crate::outcome::{RunState, RunStatus};

impl WriteDb {
    /// Resumes the store's unfinished run from its cursor, or starts a new run for `base_url`
    /// (credentials removed). A cursor made for another URL is not resumed: its run is ended
    /// `abandoned` and a fresh run starts.
    pub fn begin_run(&mut self, store_id: i64, base_url: &str) -> Result<RunStart, Error> {
        self.transaction(|tx, path| {
            let cursor = tx
                .query_row(
                    "SELECT c.run_id, c.phase, c.next_page, c.position, c.sitemap_index,
                         c.sitemap_complete, r.listing_capped, r.base_url, c.page_size
                     FROM sync_cursor c JOIN sync_runs r USING (run_id)
                     WHERE c.store_id = ?1",
                    [store_id],
                    |r| {
                        let start = RunStart {
                            store_id,
                            run_id: r.get(0)?,
                            abandoned: None,
                            resumed: true,
                            phase: Phase::parse(&r.get::<_, String>(1)?),
                            next_page: r.get(2)?,
                            page_size: r.get(8)?,
                            position: r.get(3)?,
                            sitemap_index: r.get(4)?,
                            sitemap_complete: r.get(5)?,
                            listing_capped: r.get(6)?,
                        };
                        Ok((start, r.get::<_, Option<String>>(7)?))
                    },
                )
                .optional()
                .ctx(path, "reading cursor")?;
            let abandoned = match cursor {
                Some((start, made_for)) if made_for.as_deref().is_none_or(|u| u == base_url) => {
                    // A resumed run keeps the error it failed with until it ends otherwise.
                    tx.execute(
                        "UPDATE sync_runs SET status = ?2, finished_at = NULL,
                             resumes = resumes + 1
                         WHERE run_id = ?1",
                        params![start.run_id, RunState::Running],
                    )
                    .ctx(path, "resuming run")?;
                    return Ok(start);
                }
                Some((old, _)) => {
                    abandon(tx, path, store_id, old.run_id)?;
                    Some(old.run_id)
                }
                None => None,
            };
            tx.execute(
                "INSERT INTO sync_runs (store_id, started_at, status, base_url)
                 VALUES (?1, ?2, ?4, ?3)",
                params![store_id, now_text(), base_url, RunState::Running],
            )
            .ctx(path, "starting run")?;
            let run_id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO sync_cursor (store_id, run_id, phase, next_page)
                 VALUES (?1, ?2, 'products', 1)",
                params![store_id, run_id],
            )
            .ctx(path, "writing cursor")?;
            Ok(RunStart {
                store_id,
                run_id,
                abandoned,
                resumed: false,
                phase: Phase::Products,
                next_page: 1,
                page_size: None,
                position: Phase::Products.start(),
                sitemap_index: 0,
                listing_capped: false,
                sitemap_complete: false,
            })
        })
    }
}

/// Ends a run whose cursor belongs to another URL of the store, and drops that cursor.
fn abandon(
    tx: &Transaction,
    path: &std::path::Path,
    store_id: i64,
    run_id: i64,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE sync_runs SET status = ?3, finished_at = ?2 WHERE run_id = ?1",
        params![run_id, now_text(), RunStatus::Abandoned],
    )
    .ctx(path, "abandoning run")?;
    tx.execute("DELETE FROM sync_cursor WHERE store_id = ?1", [store_id])
        .ctx(path, "dropping abandoned cursor")?;
    Ok(())
}
