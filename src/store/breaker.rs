//! What the HTTP layer reports to the database: a store's circuit-breaker state, and the
//! retries and waiting of a run (written by `finish_run`).

use rusqlite::params;

use super::write::WriteDb;
use super::{Context, Error};

/// A run's HTTP totals beyond its request count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTotals {
    pub retries: i64,
    pub wait_ms: i64,
    /// closed, open or half-open; None when unknown.
    pub breaker_state: Option<String>,
}

impl WriteDb {
    /// Records the store's circuit-breaker state (closed, open, half-open).
    pub fn set_breaker_state(&mut self, store_id: i64, state: &str) -> Result<(), Error> {
        let path = self.path.clone();
        self.conn
            .prepare_cached("UPDATE stores SET breaker_state = ?2 WHERE store_id = ?1")
            .and_then(|mut s| s.execute(params![store_id, state]))
            .ctx(&path, "recording breaker state")?;
        Ok(())
    }
}
