//! How a run can fail: the one error type of `sync` (a storefront failure, a storage failure,
//! an unusable page, an interruption, a busy store, a lost task), and what each means for the
//! run's status.

use crate::config::StoreConfig;
use crate::outcome::RunStatus;
use crate::store;
use crate::storefront;

/// Why a run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storefront(#[from] storefront::Error),
    #[error("store {store}: {source}")]
    Store {
        store: String,
        #[source]
        source: store::Error,
    },
    #[error("store {0}: sync interrupted")]
    Interrupted(String),
    /// Another process is crawling this store; nothing was written for it.
    #[error("store {store}: being synced by another process ({}); not synced now", crate::lock::describe(*pid))]
    Busy { store: String, pid: Option<u32> },
    #[error(transparent)]
    Lock(#[from] crate::lock::Error),
    /// An answer arrived but is not a usable page; the page is not written and the cursor
    /// stays before it.
    #[error("store {store}: {url}: {kind}")]
    BadPage {
        store: String,
        url: String,
        #[source]
        kind: PageError,
    },
    /// The run's task ended without an answer (a panic outside page work).
    #[error("store {store}: sync task ended abnormally: {why}")]
    Aborted { store: String, why: String },
}

/// Why an answer that arrived could not be used as a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not a usable page (see `catalog::ParseError`).
    #[error(transparent)]
    Parse(#[from] crate::catalog::ParseError),
    /// The parser of this answer failed (a bug shopmirror must fix).
    #[error("the page could not be read (parser failure: {0})")]
    ParserFailed(String),
}

impl Error {
    /// How a run that ended with this error ended; None when it never ran (the store was
    /// being synced by another process).
    pub fn run_status(&self) -> Option<RunStatus> {
        match self {
            Error::Busy { .. } => None,
            Error::Interrupted(_) => Some(RunStatus::Interrupted),
            _ => Some(RunStatus::Failed),
        }
    }

    /// Wraps a storage failure with the store it happened for: `.map_err(Error::store(store))`.
    pub(crate) fn store(store: &StoreConfig) -> impl Fn(store::Error) -> Error + Copy + '_ {
        move |source| Error::Store {
            store: store.name.clone(),
            source,
        }
    }
}
