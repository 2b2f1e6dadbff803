//! SQLite storage: the only module that contains SQL. Opens the database (WAL, schema
//! versioning), owns the single writer connection, and serves read-only queries.
//! It knows nothing about HTTP or stores' wire formats.

mod begin;
mod breaker;
mod changes;
mod children;
mod collection_quarantine;
mod collection_walks;
mod collections;
mod deletions;
mod export;
mod funnel;
mod history;
mod lifecycle;
mod outbox;
mod overview;
mod page;
mod product_page;
mod quarantine;
mod read;
mod rehash;
mod requests;
mod rows;
mod rules;
mod runs;
mod schedule;
mod schema;
mod search;
mod search_index;
mod seen;
mod single;
#[cfg(test)]
mod stored_once_tests;
mod upgrade;
mod upsert;
mod variant_changes;
mod words;
mod write;

pub use breaker::HttpTotals;
pub use changes::{ChangeCursor, ChangeFilter, ChangeRow, ChangeSource};
pub use collection_walks::CollectionRef;
pub use collection_walks::{WalkChoice, WalkEnd};
pub use collections::{CollectionPageWrite, CollectionsPageWrite};
pub use deletions::{DeletionCandidate, DeletionChecks};
pub use export::{ExportFilter, ExportImage, ExportOption, ExportProduct, ExportVariant};
pub use funnel::{ChangeObserver, ChangeView, Recorded};
pub use history::{HistoryEvent, ProductHistory, VariantChangeRow, Version};
pub use lifecycle::Renamed;
pub use outbox::{
    at_millis, now_millis, parse_time, AlertRow, Attempt, DueAlert, Outbox, RowFate, SinkFate,
    SinkState, SinkStats,
};
pub use overview::{OutboxCount, RunSummary, StoreOverview};
pub use page::{PageProduct, PageWrite};
pub use product_page::{ProductPage, VariantNow};
pub use read::{Reader, StoreStatus};
pub use requests::Requests;
pub use runs::{Phase, RunCounts, RunStart};
pub use schedule::Checkpoint;
pub use schema::SCHEMA_VERSION;
pub use search::Found;
pub use single::SingleBatch;
pub use upgrade::{upgrade, Upgrade};
pub use upsert::WriteCounts;
pub use write::{WriteDb, Writer};

use std::path::{Path, PathBuf};

/// Errors of the storage layer; each names the database file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this shopmirror supports \
         ({supported}); upgrade shopmirror"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "database {path} has schema version {found}, older than this shopmirror ({supported}); \
         run `shopmirror --db {path} db upgrade` to upgrade it (after a backup copy)"
    )]
    OlderSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path} is not a shopmirror database (schema version 0): nothing to upgrade")]
    NotShopmirror { path: PathBuf },
    #[error("database {path}: {context}: {source}")]
    Sqlite {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database writer has stopped")]
    WriterGone,
    #[error(
        "database {path}: product {product_id} was rewritten while its page was being read; \
         the run resumes from its cursor"
    )]
    RawHashMoved { path: PathBuf, product_id: i64 },
    #[error("database {path} was deleted under the running process: {source}; restart it")]
    FileGone {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path} was replaced by another file under the running process; restart it")]
    FileReplaced { path: PathBuf },
}

/// Adds the database path and what was being done to a rusqlite result.
pub(crate) trait Context<T> {
    fn ctx(self, path: &Path, context: &'static str) -> Result<T, Error>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, path: &Path, context: &'static str) -> Result<T, Error> {
        self.map_err(|source| Error::Sqlite {
            path: path.to_path_buf(),
            context,
            source,
        })
    }
}

/// Current UTC time in the format every shopmirror timestamp uses.
pub fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}
