//! What the daemon records and asks about its plans: each store's next planned sync (written,
//! and read back at start-up), which stores must sync at start-up (an unfinished run to
//! resume, or never synced), when each last succeeded, and WAL checkpoints so the log file
//! stays small while outside readers come and go.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::write::WriteDb;
use super::{Context, Error};
use crate::outcome::RunStatus;

impl WriteDb {
    /// Records when `store` syncs next (NULL: not planned, e.g. removed from the config).
    pub fn set_next_sync(&mut self, store: &str, at: Option<DateTime<Utc>>) -> Result<(), Error> {
        let text = at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        self.transaction(|tx, path| {
            tx.prepare_cached("UPDATE stores SET next_sync_at = ?2 WHERE name = ?1")
                .and_then(|mut s| s.execute(params![store, text]))
                .ctx(path, "recording next sync time")?;
            Ok(())
        })
    }

    /// Of `stores`, those to sync right away: an unfinished run waits in `sync_cursor`, or the
    /// store has no run at all yet.
    pub fn stores_due_now(&mut self, stores: &[String]) -> Result<Vec<String>, Error> {
        let path = self.path.clone();
        let mut due = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM stores s WHERE s.name = ?1 AND (
                     EXISTS (SELECT 1 FROM sync_cursor c WHERE c.store_id = s.store_id)
                     OR NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.store_id = s.store_id))",
            )
            .ctx(&path, "finding stores to sync at start-up")?;
        for store in stores {
            if stmt
                .exists([store])
                .ctx(&path, "finding stores to sync at start-up")?
            {
                due.push(store.clone());
            }
        }
        Ok(due)
    }

    /// Of `stores`, the planned next sync of each that has one (`next_sync_at`, UTC), so a
    /// restart keeps the plans it finds.
    pub fn planned_syncs(
        &mut self,
        stores: &[String],
    ) -> Result<Vec<(String, DateTime<Utc>)>, Error> {
        let path = self.path.clone();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT next_sync_at FROM stores WHERE name = ?1")
            .ctx(&path, "reading planned syncs")?;
        let mut planned = Vec::new();
        for store in stores {
            let text: Option<String> = stmt
                .query_row([store], |r| r.get(0))
                .optional()
                .ctx(&path, "reading planned syncs")?
                .flatten();
            let at = text
                .and_then(|t| chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S").ok());
            if let Some(at) = at {
                planned.push((store.clone(), at.and_utc()));
            }
        }
        Ok(planned)
    }

    /// Each store's last successful (complete or capped) run end, as unix seconds.
    pub fn last_successes(&mut self) -> Result<Vec<(String, i64)>, Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached(
                "SELECT s.name, CAST(strftime('%s', max(r.finished_at)) AS INTEGER)
                 FROM stores s JOIN sync_runs r USING (store_id)
                 WHERE r.status IN (?1, ?2) AND r.finished_at IS NOT NULL
                 GROUP BY s.name",
            )
            .and_then(|mut s| {
                let finished = params![RunStatus::Complete, RunStatus::Capped];
                s.query_map(finished, |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .ctx(&path, "reading last successful runs")
    }

    /// Copies the WAL back into the database and truncates it when no reader needs it, so the
    /// -wal file does not grow without bound (journal_size_limit caps what is left otherwise).
    /// Returns whether it completed and the WAL's size afterwards.
    pub fn checkpoint(&mut self) -> Result<Checkpoint, Error> {
        let path = self.path.clone();
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .ctx(&path, "checkpointing the WAL")?;
        let mut wal = path.into_os_string();
        wal.push("-wal");
        Ok(Checkpoint {
            complete: busy == 0,
            wal_bytes: std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0),
        })
    }
}

/// How a WAL checkpoint went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// False when readers kept it from copying (and truncating) the whole WAL.
    pub complete: bool,
    pub wal_bytes: u64,
}

impl Checkpoint {
    /// True when the WAL could not be emptied and is larger than the journal_size_limit it is
    /// cut back to otherwise: it grows while something keeps checkpoints from completing.
    pub fn wal_overgrown(&self) -> bool {
        !self.complete && self.wal_bytes > super::schema::JOURNAL_SIZE_LIMIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Writer;

    #[tokio::test]
    async fn a_checkpoint_blocked_by_a_reader_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let writer = Writer::open(&path).unwrap();
        writer
            .call(|db| db.ensure_store("a", "http://a/"))
            .await
            .unwrap();
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM stores;")
            .unwrap();
        // Written after the reader's snapshot: the checkpoint cannot copy it back yet.
        writer
            .call(|db| db.ensure_store("b", "http://b/"))
            .await
            .unwrap();
        let blocked = writer.call(|db| db.checkpoint()).await.unwrap();
        assert!(!blocked.complete);
        assert!(blocked.wal_bytes > 0);
        let overgrown = Checkpoint {
            wal_bytes: super::super::schema::JOURNAL_SIZE_LIMIT + 1,
            ..blocked
        };
        assert!(!blocked.wal_overgrown() && overgrown.wal_overgrown());
        reader.execute_batch("COMMIT").unwrap();
        let done = writer.call(|db| db.checkpoint()).await.unwrap();
        assert_eq!(
            done,
            Checkpoint {
                complete: true,
                wal_bytes: 0
            }
        );
    }
}
