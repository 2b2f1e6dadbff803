//! One sync run of one store: start or resume the run, enumerate the listing page by page
//! (listing; every paged feed is walked by pages, which knows where a feed ends), walk
//! collections and their membership (collections), complete a capped listing
//! through the sitemap (sitemap), confirm deletions (deletions), and record how it ended; every
//! request URL comes from urls. It owns the order of phases and the run's outcome; HTTP lives in
//! storefront, SQL in store.
mod collections;
mod deletions;
mod listing;
mod pages;
mod sitemap;
mod urls;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use pages::FeedEnd;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use url::Url;

use crate::config::StoreConfig;
use crate::outcome::RunStatus;
use crate::store::{self, HttpTotals, Phase, Requests, RunCounts, Writer};
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
    /// Another process is crawling this store; nothing was written for it.
    #[error("store {store}: being synced by another process ({}); not synced now", crate::lock::describe(*pid))]
    Busy { store: String, pid: Option<u32> },
    #[error(transparent)]
    Lock(#[from] crate::lock::Error),
    /// The run's task ended without an answer (a panic outside page work).
    #[error("store {store}: sync task ended abnormally: {why}")]
    Aborted { store: String, why: String },
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

/// What a request was for: the source columns of `sync_runs`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source {
    Listing,
    Collections,
    Sitemap,
    Single,
    Deletions,
}

/// Requests made by one run and not yet added to its row, by source; each write takes what
/// accumulated.
#[derive(Debug, Default)]
pub(crate) struct RequestCounter([AtomicU64; 5]);

impl RequestCounter {
    pub(crate) fn record(&self, source: Source) {
        self.0[source as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn take(&self) -> Requests {
        let take = |source: Source| self.0[source as usize].swap(0, Ordering::Relaxed) as i64;
        Requests {
            listing: take(Source::Listing),
            collections: take(Source::Collections),
            sitemap: take(Source::Sitemap),
            single: take(Source::Single),
            deletions: take(Source::Deletions),
        }
    }
}

/// What kind of answer a request expects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    Json,
    Xml,
    /// The Ajax `.js` product answer.
    Script,
}

/// One GET through the shared client, counted for the run (under `source`) and the progress
/// display, and abandoned when the run is cancelled. A store with a myshopify.com domain gives
/// the client the same request there (`urls::fallback`) to ask after a 404.
pub(crate) async fn fetch(
    ctx: &SyncContext,
    store: &StoreConfig,
    url: &Url,
    kind: Answer,
    (requests, source): (&RequestCounter, Source),
) -> Result<Bytes, Error> {
    requests.record(source);
    ctx.progress.requests.fetch_add(1, Ordering::Relaxed);
    let fallback = urls::fallback(store, url);
    let (name, fallback) = (&store.name, fallback.as_ref());
    let request = async {
        match kind {
            Answer::Json => ctx.client.get_json(name, url, fallback).await,
            Answer::Xml => ctx.client.get_xml(name, url, fallback).await,
            Answer::Script => ctx.client.get_script(name, url, fallback).await,
        }
    };
    tokio::select! {
        _ = ctx.cancel.cancelled() => Err(Error::Interrupted(store.name.clone())),
        result = request => Ok(result?),
    }
}

/// A storefront error for an answer that could not be used.
pub(crate) fn bad_answer(
    store: &StoreConfig,
    url: &Url,
    kind: impl Into<storefront::ErrorKind>,
) -> Error {
    Error::Storefront(storefront::Error {
        store: store.name.clone(),
        url: storefront::redact(url),
        kind: kind.into(),
    })
}

/// Shopify's answer past page * limit = 25,000: the end of what that listing can show.
pub(crate) fn is_listing_cap(e: &Error) -> bool {
    matches!(e, Error::Storefront(e) if matches!(e.kind, storefront::ErrorKind::ListingCap))
}

/// Runs CPU work on a page (scanning, parsing) on a blocking thread. A panic there fails that
/// page, named by its URL, like any unusable answer: the run ends failed with its cursor
/// before the page, and no other store is affected.
pub(crate) async fn off_thread<T: Send + 'static>(
    store: &StoreConfig,
    url: &Url,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        let why = match e.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into()),
            Err(e) => e.to_string(),
        };
        bad_answer(store, url, storefront::ErrorKind::ParserFailed(why))
    })
}

/// True for a 404 answer.
pub(crate) fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Storefront(e) if matches!(e.kind, storefront::ErrorKind::NotFound))
}

/// Runs (or resumes) one sync of `store` to its end and returns the run's totals. Holds the
/// store's lock (see `lock`) for the whole run: when another process holds it, returns
/// `Error::Busy` at once without writing anything for the store.
pub async fn sync_store(ctx: &SyncContext, store: &StoreConfig) -> Result<RunCounts, Error> {
    let _lock = match crate::lock::try_lock(ctx.writer.path(), &store.name)? {
        crate::lock::Acquired::Held(lock) => lock,
        crate::lock::Acquired::Busy { pid } => {
            return Err(Error::Busy {
                store: store.name.clone(),
                pid,
            })
        }
    };
    let store_err = Error::store(store);
    let existed = match store.ad_hoc {
        true => {
            let name = store.name.clone();
            ctx.writer
                .call(move |db| db.has_store(&name))
                .await
                .map_err(store_err)?
        }
        false => true,
    };
    let (store_name, base) = (store.name.clone(), store.printable_url());
    let start = ctx
        .writer
        .call(move |db| {
            db.check_file()?;
            let store_id = db.ensure_store(&store_name, &base)?;
            db.begin_run(store_id, &base)
        })
        .await
        .map_err(store_err)?;
    let store_id = start.store_id;
    if let Some(old) = start.abandoned {
        warn!(store = %store.name, abandoned = old, run = start.run_id,
              "the store's URL changed: its unfinished run is abandoned, a fresh one starts");
    }
    if start.resumed {
        info!(store = %store.name, run = start.run_id, page = start.next_page,
              phase = ?start.phase, "resuming interrupted run");
    }
    let requests = RequestCounter::default();
    let result = run_phases(ctx, store, &start, &requests).await;
    let (status, error) = match &result {
        Ok(status) => (*status, None),
        Err(e) => (
            e.run_status().unwrap_or(RunStatus::Failed),
            Some(e.to_string()).filter(|_| !matches!(e, Error::Interrupted(_))),
        ),
    };
    if !existed && status == RunStatus::Failed {
        // An ad-hoc URL whose first sync failed before mirroring anything (a typo, a host
        // that is not a store) leaves nothing behind; one that got pages keeps its cursor.
        let name = store.name.clone();
        let forgotten = status == RunStatus::Failed
            && ctx
                .writer
                .call(move |db| match db.mirrored_nothing(&name)? {
                    true => db.forget_store(&name),
                    false => Ok(false),
                })
                .await
                .map_err(store_err)?;
        if forgotten {
            return Err(result.expect_err("only an error fails a run"));
        }
    }
    let run_id = start.run_id;
    let message = error.clone();
    let unflushed = requests.take();
    let report = ctx.client.report(&store.name);
    let http = HttpTotals {
        retries: report.retries as i64,
        wait_ms: report.wait_ms as i64,
        breaker_state: Some(report.breaker.as_str().to_string()),
    };
    let finished = ctx
        .writer
        .call(move |db| {
            db.set_breaker_state(store_id, report.breaker.as_str())?;
            db.finish_run(
                store_id,
                run_id,
                status,
                message.as_deref(),
                unflushed,
                &http,
            )
        })
        .await
        .map_err(store_err);
    // A run that failed on storage cannot record its end either: its own error says why.
    let counts = match (finished, result) {
        (Ok(counts), result) => result.map(|_| counts),
        (Err(e), Ok(_)) => Err(e),
        (Err(_), Err(e)) => Err(e),
    };
    match counts {
        Ok(counts) => {
            info!(store = %store.name, run = run_id, status = %counts.status,
                  pages = counts.pages, requests = counts.requests,
                  requests_listing = counts.requests_by_source.listing,
                  requests_collections = counts.requests_by_source.collections,
                  requests_sitemap = counts.requests_by_source.sitemap,
                  requests_single = counts.requests_by_source.single,
                  requests_deletions = counts.requests_by_source.deletions, new = counts.new,
                  changed = counts.changed, unchanged = counts.unchanged,
                  deleted = counts.deleted, quarantined = counts.quarantined,
                  deletions_inconclusive = counts.deletions_inconclusive,
                  retries = report.retries,
                  wait_ms = report.wait_ms, "sync finished");
            Ok(counts)
        }
        Err(e) => {
            info!(store = %store.name, run = run_id, error = %e, "sync did not complete");
            Err(e)
        }
    }
}

/// Runs the phases from the run's cursor, in order of cost per product: listing; collections
/// and their membership (when enabled); the sitemap (only after a capped listing), which
/// fetches one by one only the products no listing or collection page showed; then deletions,
/// which are only checked when the enumeration was complete as a whole.
async fn run_phases(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &store::RunStart,
    requests: &RequestCounter,
) -> Result<RunStatus, Error> {
    let store_err = Error::store(store);
    let enter = |phase: Phase, sitemap_complete: bool| {
        let (store_id, count) = (start.store_id, requests.take());
        ctx.writer
            .call(move |db| db.enter_phase(store_id, phase, sitemap_complete, count))
    };
    let after_collections = |capped: bool| {
        if capped {
            Phase::Sitemap
        } else {
            Phase::Deletions
        }
    };
    let (mut phase, mut capped, mut sitemap_done) =
        (start.phase, start.listing_capped, start.sitemap_complete);
    let (mut next_page, mut position, mut sitemap_index) =
        (start.next_page, start.position, start.sitemap_index);
    if phase == Phase::Products {
        if listing::enumerate(ctx, store, start, requests).await? == FeedEnd::Capped {
            capped = true;
            let (run_id, count) = (start.run_id, requests.take());
            ctx.writer
                .call(move |db| db.mark_capped(run_id, count))
                .await
                .map_err(store_err)?;
        }
        phase = if store.collections {
            Phase::Collections
        } else {
            after_collections(capped)
        };
        enter(phase, false).await.map_err(store_err)?;
        (next_page, position, sitemap_index) = (1, 0, 0);
    }
    if !store.collections && matches!(phase, Phase::Collections | Phase::CollectionProducts) {
        // Resumed after collections were switched off for this store.
        phase = after_collections(capped);
        enter(phase, false).await.map_err(store_err)?;
        (next_page, position, sitemap_index) = (1, 0, 0);
    }
    if phase == Phase::Collections {
        collections::enumerate(ctx, store, start, next_page, requests).await?;
        phase = Phase::CollectionProducts;
        enter(phase, false).await.map_err(store_err)?;
        (next_page, position) = (1, 0);
    }
    if phase == Phase::CollectionProducts {
        collections::walk_members(ctx, store, start, position, next_page, requests).await?;
        phase = after_collections(capped);
        enter(phase, false).await.map_err(store_err)?;
        (position, sitemap_index) = (0, 0);
    }
    if phase == Phase::Sitemap {
        sitemap_done = sitemap::walk(ctx, store, start, sitemap_index, position, requests).await?;
        enter(Phase::Deletions, sitemap_done)
            .await
            .map_err(store_err)?;
        position = 0;
    }
    if capped && !sitemap_done {
        return Ok(RunStatus::Capped);
    }
    let (store_id, run_id) = (start.store_id, start.run_id);
    let inconclusive = ctx
        .writer
        .call(move |db| db.deletions_inconclusive(store_id, run_id))
        .await
        .map_err(store_err)?;
    if inconclusive {
        warn!(store = %store.name, run = run_id,
              "a quarantined product has no usable id: deletions not checked this run");
        return Ok(RunStatus::Complete);
    }
    deletions::confirm(ctx, store, start, position, requests).await?;
    Ok(RunStatus::Complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_page_work_fails_that_page_named_by_its_url() {
        let url = Url::parse("http://127.0.0.1:9/products.json?page=3").unwrap();
        let config = crate::config::Config::load(None, None).unwrap();
        let store = config.targets(&[url.to_string()]).unwrap().remove(0);
        let result: Result<(), Error> =
            off_thread(&store, &url, || panic!("unexpected shape")).await;
        let e = result.unwrap_err();
        assert!(
            matches!(&e, Error::Storefront(s)
                if matches!(&s.kind, storefront::ErrorKind::ParserFailed(why)
                    if why == "unexpected shape")),
            "{e}"
        );
        assert!(e.to_string().contains("page=3"), "{e}");
        assert_eq!(off_thread(&store, &url, || 7).await.unwrap(), 7);
    }
}
