//! One sync run of one store: start or resume the run, enumerate the listing page by page
//! (listing), confirm deletions (deletions), and record how it ended. It owns the order of
//! phases and the run's outcome; HTTP lives in storefront, SQL in store.

mod deletions;
mod listing;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::StoreConfig;
use crate::store::{self, Phase, RunCounts, RunOutcome, Writer};
use crate::storefront::{self, Client};

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
}

/// What every run shares: the HTTP client, the writer, settings and the stop signal.
pub struct SyncContext {
    pub client: Arc<Client>,
    pub writer: Writer,
    pub page_size: u32,
    pub cancel: CancellationToken,
    pub progress: Arc<Progress>,
}

/// Live counters for progress displays, summed over all stores of the process.
#[derive(Debug, Default)]
pub struct Progress {
    pub pages: AtomicU64,
    pub products: AtomicU64,
    pub requests: AtomicU64,
}

impl Progress {
    fn add(&self, pages: u64, products: u64) {
        self.pages.fetch_add(pages, Ordering::Relaxed);
        self.products.fetch_add(products, Ordering::Relaxed);
    }
}

/// Requests made by one run and not yet added to its row; each write takes what accumulated.
#[derive(Debug, Default)]
pub(crate) struct RequestCounter(AtomicU64);

impl RequestCounter {
    pub(crate) fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn take(&self) -> i64 {
        self.0.swap(0, Ordering::Relaxed) as i64
    }
}

/// How the listing phase ended.
pub(crate) enum Listing {
    /// An empty or short page was reached: every listed product was seen.
    Complete,
    /// Shopify's page * limit cap stopped the listing.
    Capped,
}

/// Runs (or resumes) one sync of `store` to its end and returns the run's totals.
pub async fn sync_store(ctx: &SyncContext, store: &StoreConfig) -> Result<RunCounts, Error> {
    let name = store.name.clone();
    let store_err = |source| Error::Store {
        store: name.clone(),
        source,
    };
    let (store_name, base) = (store.name.clone(), store.url.to_string());
    let store_id = ctx
        .writer
        .call(move |db| db.ensure_store(&store_name, &base))
        .await
        .map_err(store_err)?;
    let start = ctx
        .writer
        .call(move |db| db.begin_run(store_id))
        .await
        .map_err(store_err)?;
    if start.resumed {
        info!(store = %store.name, run = start.run_id, page = start.next_page,
              phase = ?start.phase, "resuming interrupted run");
    }
    let requests = RequestCounter::default();
    let result = run_phases(ctx, store, &start, &requests).await;
    let (outcome, error) = match &result {
        Ok(Listing::Complete) => (RunOutcome::Complete, None),
        Ok(Listing::Capped) => (RunOutcome::Capped, None),
        Err(Error::Interrupted(_)) => (RunOutcome::Interrupted, None),
        Err(e) => (RunOutcome::Failed, Some(e.to_string())),
    };
    let run_id = start.run_id;
    let message = error.clone();
    let unflushed = requests.take();
    let counts = ctx
        .writer
        .call(move |db| db.finish_run(store_id, run_id, outcome, message.as_deref(), unflushed))
        .await
        .map_err(store_err)?;
    match result {
        Ok(_) => {
            info!(store = %store.name, run = run_id, status = %counts.status,
                  pages = counts.pages, requests = counts.requests, new = counts.new,
                  changed = counts.changed, unchanged = counts.unchanged,
                  deleted = counts.deleted, "sync finished");
            Ok(counts)
        }
        Err(e) => {
            info!(store = %store.name, run = run_id, error = %e, "sync did not complete");
            Err(e)
        }
    }
}

async fn run_phases(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &store::RunStart,
    requests: &RequestCounter,
) -> Result<Listing, Error> {
    let store_err = |source| Error::Store {
        store: store.name.clone(),
        source,
    };
    let mut position = start.position;
    if start.phase == Phase::Products {
        match listing::enumerate(ctx, store, start, requests).await? {
            Listing::Capped => {
                let (run_id, count) = (start.run_id, requests.take());
                ctx.writer
                    .call(move |db| db.mark_capped(run_id, count))
                    .await
                    .map_err(store_err)?;
                return Ok(Listing::Capped);
            }
            Listing::Complete => {
                let (store_id, count) = (start.store_id, requests.take());
                ctx.writer
                    .call(move |db| db.enter_phase(store_id, Phase::Deletions, count))
                    .await
                    .map_err(store_err)?;
                position = 0;
            }
        }
    }
    deletions::confirm(ctx, store, start, position, requests).await?;
    Ok(Listing::Complete)
}
