//! The web pages' database access: a few read-only `store::Reader`s reused across requests,
//! each query run on a blocking thread under the request's deadline (a query still running
//! then is interrupted). The web code gets nothing else from `store`: it cannot write.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::Error;
use crate::store::{self, Reader};

/// Readers of one database file, at most `READERS` at work at once.
pub struct Db {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
    permits: Arc<Semaphore>,
    deadline: Duration,
}

/// Queries running at once; more requests wait for a reader (within their deadline).
const READERS: usize = 4;

impl Db {
    /// Opens one reader now, so a missing or incompatible database is refused at start.
    pub fn open(path: &Path, deadline: Duration) -> Result<Db, store::Error> {
        let first = Reader::open(path)?;
        Ok(Db {
            path: path.to_path_buf(),
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(READERS)),
            deadline,
        })
    }

    /// Runs `query` with a reader, within the deadline.
    pub async fn read<T, F>(self: &Arc<Self>, query: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> Result<T, store::Error> + Send + 'static,
    {
        let deadline = tokio::time::Instant::now() + self.deadline;
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Error::Busy)?
            .expect("the semaphore is never closed");
        let db = self.clone();
        let (interrupt_tx, interrupt_rx) = std::sync::mpsc::channel();
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let reader = match db.idle.lock().expect("reader pool").pop() {
                Some(reader) => reader,
                None => Reader::open(&db.path)?,
            };
            let _ = interrupt_tx.send(reader.interrupt_handle());
            let result = query(&reader);
            if result.is_ok() {
                db.idle.lock().expect("reader pool").push(reader);
            }
            result
        });
        match tokio::time::timeout_at(deadline, work).await {
            Ok(joined) => joined
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(Error::Store),
            Err(_) => {
                if let Ok(handle) = interrupt_rx.try_recv() {
                    handle.interrupt();
                }
                Err(Error::Timeout(self.deadline))
            }
        }
    }
}
