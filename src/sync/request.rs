//! The one fetch path of a run: every request (listing and collection pages, sitemap files,
//! single products, deletion checks) goes through `fetch`, counted by what it was for, abandoned
//! when the run is cancelled, its errors redacted; and the page work that follows a request runs
//! off the async threads (`off_thread`), where a panic fails that page only.

use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

use super::{urls, Error, PageError, SyncContext};
use crate::config::StoreConfig;
use crate::endpoint::Endpoint;
use crate::store::Requests;
use crate::storefront::{self, Body, Expect};

/// Requests made by one run and not yet added to its row, by source; each write takes what
/// accumulated.
#[derive(Debug, Default)]
pub(super) struct RequestCounter([AtomicU64; 5]);

impl RequestCounter {
    pub(super) fn record(&self, source: Endpoint) {
        self.0[source as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn take(&self) -> Requests {
        let take = |source: Endpoint| self.0[source as usize].swap(0, Ordering::Relaxed) as i64;
        Requests {
            listing: take(Endpoint::Listing),
            collections: take(Endpoint::Collection),
            sitemap: take(Endpoint::Sitemap),
            single: take(Endpoint::Single),
            deletions: take(Endpoint::Deletions),
        }
    }
}

/// One GET through the shared client, counted for the run (under `source`) and the progress
/// display, and abandoned when the run is cancelled. The answer holds a place in the process's
/// budget of pages in flight until it is dropped: drop it (or its `Held`) once what was read
/// from it is written, and before fetching another while holding it. A store with a myshopify.com domain gives
/// the client the same request there (`urls::fallback`) to ask after a 404.
pub(super) async fn fetch(
    ctx: &SyncContext,
    store: &StoreConfig,
    url: &Url,
    expect: Expect,
    (requests, source): (&RequestCounter, Endpoint),
) -> Result<Body, Error> {
    requests.record(source);
    ctx.progress.requests.fetch_add(1, Ordering::Relaxed);
    let fallback = urls::fallback(store, url);
    let request = ctx
        .client
        .get(&store.name, url, fallback.as_ref(), (source, expect));
    tokio::select! {
        _ = ctx.cancel.cancelled() => Err(Error::Interrupted(store.name.clone())),
        result = request => Ok(result?),
    }
}

/// The error of an answer that arrived but could not be used as a page.
pub(super) fn bad_answer(store: &StoreConfig, url: &Url, kind: impl Into<PageError>) -> Error {
    Error::BadPage {
        store: store.name.clone(),
        url: storefront::redact(url),
        kind: kind.into(),
    }
}

/// Shopify's answer past page * limit = 25,000: the end of what that listing can show.
pub(super) fn is_listing_cap(e: &Error) -> bool {
    matches!(e, Error::Storefront(e) if matches!(e.kind, storefront::ErrorKind::ListingCap))
}

/// Runs CPU work on a page (scanning, parsing) on a blocking thread. A panic there fails that
/// page, named by its URL, like any unusable answer: the run ends failed with its cursor
/// before the page, and no other store is affected.
pub(super) async fn off_thread<T: Send + 'static>(
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
        bad_answer(store, url, PageError::ParserFailed(why))
    })
}

/// True for a 404 answer.
pub(super) fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Storefront(e) if matches!(e.kind, storefront::ErrorKind::NotFound))
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
            matches!(&e, Error::BadPage { kind: PageError::ParserFailed(why), .. }
                if why == "unexpected shape"),
            "{e}"
        );
        assert!(e.to_string().contains("page=3"), "{e}");
        assert_eq!(off_thread(&store, &url, || 7).await.unwrap(), 7);
    }
}
