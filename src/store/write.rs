//! The single writer: one thread owns the read-write connection and runs closures sent to it,
//! so every write of every store goes through one connection in one order. Callers send work
//! with `Writer::call` and await the answer; the SQL itself lives in the `WriteDb` methods of
//! this module's siblings.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::funnel::{ChangeObserver, WriteCtx};
use super::{now_text, schema, Error};

type Job = Box<dyn FnOnce(&mut WriteDb) + Send>;

/// Handle to the writer thread. Cheap to clone; the thread ends when the last handle drops.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

/// The writer thread's connection; methods are defined in page.rs, runs.rs and the other
/// write modules.
pub struct WriteDb {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    /// (device, inode) of the file the connection opened.
    identity: (u64, u64),
    /// Sees every change before its transaction commits (alerts), when set.
    observer: Option<Box<dyn ChangeObserver>>,
}

impl Writer {
    /// Opens (creating and migrating if needed) the database and starts the writer thread.
    pub fn open(path: &Path) -> Result<Writer, Error> {
        let conn = schema::open_writer(path)?;
        let identity = file_identity(path).map_err(|source| Error::FileGone {
            path: path.to_path_buf(),
            source,
        })?;
        let (jobs, mut queue) = mpsc::channel::<Job>(16);
        let mut db = WriteDb {
            conn,
            path: path.to_path_buf(),
            identity,
            observer: None,
        };
        std::thread::Builder::new()
            .name("shopmirror-writer".into())
            .spawn(move || {
                while let Some(job) = queue.blocking_recv() {
                    job(&mut db);
                }
            })
            .map_err(|_| Error::WriterGone)?;
        Ok(Writer {
            jobs,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the observer that sees every change of every later write inside its transaction.
    pub async fn set_observer(&self, observer: Box<dyn ChangeObserver>) -> Result<(), Error> {
        self.call(move |db| {
            db.observer = Some(observer);
            Ok(())
        })
        .await
    }

    /// Runs `work` on the writer thread and returns its result.
    pub async fn call<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteDb) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |db| {
            let _ = reply.send(work(db));
        });
        self.jobs.send(job).await.map_err(|_| Error::WriterGone)?;
        answer.await.map_err(|_| Error::WriterGone)?
    }
}

/// (device, inode) of the file at `path`.
fn file_identity(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

impl WriteDb {
    /// Fails when the database file was deleted or replaced since it was opened: writes would
    /// go into a file nobody can read any more.
    pub fn check_file(&self) -> Result<(), Error> {
        let found = file_identity(&self.path).map_err(|source| Error::FileGone {
            path: self.path.clone(),
            source,
        })?;
        if found != self.identity {
            return Err(Error::FileReplaced {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Runs `body` in one BEGIN IMMEDIATE transaction: all of it commits, or none of it.
    pub(super) fn transaction<T>(
        &mut self,
        body: impl FnOnce(&rusqlite::Transaction, &Path) -> Result<T, Error>,
    ) -> Result<T, Error> {
        use super::Context;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx(&path, "beginning transaction")?;
        let value = body(&tx, &path)?;
        tx.commit().ctx(&path, "committing")?;
        Ok(value)
    }

    /// Runs `body` as one write of `store_id`'s run `run_id`: one BEGIN IMMEDIATE transaction
    /// with its `WriteCtx`, whose changes the observer sees before the commit.
    pub(super) fn write<T>(
        &mut self,
        store_id: i64,
        run_id: i64,
        body: impl FnOnce(&WriteCtx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        use super::Context;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx(&path, "beginning transaction")?;
        let ctx = WriteCtx::new(&tx, &path, store_id, run_id, now_text());
        let value = body(&ctx)?;
        ctx.finish(self.observer.as_mut())?;
        tx.commit().ctx(&path, "committing")?;
        Ok(value)
    }
}
