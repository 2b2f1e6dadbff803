//! The listing phase: /products.json page by page from the cursor until an empty or short
//! page, or Shopify's page * limit cap. Fetching and parsing the next page overlaps with
//! writing the current one through a bounded channel, so memory holds at most a few pages.

use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{debug, info};

use super::{report_quarantined, Error, Listing, RequestCounter, Source, SyncContext};
use crate::config::StoreConfig;
use crate::store::{PageWrite, RunStart, WriteCounts};
use crate::storefront::{self, ErrorKind, ParsedPage, LISTING_CAP};

/// What the fetcher hands the writer loop.
enum Fetched {
    Page {
        number: i64,
        url: String,
        page: ParsedPage,
    },
    End(Listing),
}

/// Walks the listing from the run's cursor, writing each page with its cursor.
pub(super) async fn enumerate(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    requests: &RequestCounter,
) -> Result<Listing, Error> {
    let (pages_tx, mut pages_rx) = mpsc::channel::<Result<Fetched, Error>>(1);
    let fetcher = fetch_pages(ctx, store, start.next_page, requests, pages_tx);
    // The writer loop owns the receiver: when it returns (a storage error, say) the receiver
    // drops with it, and the fetcher, blocked or not, sees the channel closed and stops.
    let writer = async move {
        let mut tally = Tally::new();
        while let Some(item) = pages_rx.recv().await {
            match item? {
                Fetched::Page { number, url, page } => {
                    let count = page.products.len() as u64;
                    report_quarantined(store, &url, &page.unusable);
                    let page = PageWrite {
                        store_id: start.store_id,
                        run_id: start.run_id,
                        products: page.products,
                        unusable: page.unusable,
                        url,
                        next_page: number + 1,
                        requests: requests.take(),
                    };
                    let written = ctx
                        .writer
                        .call(move |db| db.apply_page(page))
                        .await
                        .map_err(Error::store(store))?;
                    ctx.progress.add(1, count);
                    tally.page_written(&store.name, number, count, &written);
                }
                Fetched::End(listing) => return Ok(listing),
            }
        }
        Err(Error::Interrupted(store.name.clone()))
    };
    let (_, result) = tokio::join!(fetcher, writer);
    result
}

/// One progress line per this many pages written.
const PROGRESS_EVERY: u64 = 20;

/// Pages and products written by this listing pass, for metrics and progress lines.
struct Tally {
    started: Instant,
    pages: u64,
    products: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            started: Instant::now(),
            pages: 0,
            products: 0,
        }
    }

    fn page_written(&mut self, store: &str, number: i64, products: u64, written: &WriteCounts) {
        self.pages += 1;
        self.products += products;
        debug!(
            store = %store,
            page = number,
            products,
            new = written.new,
            changed = written.changed,
            "page written"
        );
        metrics::counter!("shopmirror_pages_total", "store" => store.to_string()).increment(1);
        for (change, n) in [("new", written.new), ("changed", written.changed)] {
            if n > 0 {
                metrics::counter!("shopmirror_products_total", "store" => store.to_string(),
                                  "change" => change)
                .increment(n as u64);
            }
        }
        if self.pages.is_multiple_of(PROGRESS_EVERY) {
            let rate = self.products as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            info!(
                store = %store,
                pages = self.pages,
                products = self.products,
                products_per_s = rate.round() as u64,
                "listing progress"
            );
        }
    }
}

/// Fetches and parses pages in order, sending each to the writer loop; stops at the end of the
/// listing, on the first error, on cancellation, or when the receiver is gone.
async fn fetch_pages(
    ctx: &SyncContext,
    store: &StoreConfig,
    first_page: i64,
    requests: &RequestCounter,
    pages: mpsc::Sender<Result<Fetched, Error>>,
) {
    let limit = i64::from(ctx.page_size);
    let mut number = first_page;
    loop {
        let item = tokio::select! {
            _ = ctx.cancel.cancelled() => Err(Error::Interrupted(store.name.clone())),
            _ = pages.closed() => return,
            item = fetch_page(ctx, store, number, limit, requests) => item,
        };
        let last =
            !matches!(&item, Ok(Fetched::Page { page, .. }) if page.entries() as i64 == limit);
        let ended_on_page = matches!(&item, Ok(Fetched::Page { .. }));
        if !hand_over(ctx, &pages, item).await {
            return;
        }
        if last {
            if ended_on_page {
                hand_over(ctx, &pages, Ok(Fetched::End(Listing::Complete))).await;
            }
            return;
        }
        number += 1;
    }
}

/// Sends one item to the writer loop; false when the loop is gone or the run was cancelled
/// while waiting for room (then the loop ends on the closed channel).
async fn hand_over(
    ctx: &SyncContext,
    pages: &mpsc::Sender<Result<Fetched, Error>>,
    item: Result<Fetched, Error>,
) -> bool {
    tokio::select! {
        _ = ctx.cancel.cancelled() => false,
        sent = pages.send(item) => sent.is_ok(),
    }
}

/// One page: its URL, the request and the parse (on a blocking thread: it is CPU work).
async fn fetch_page(
    ctx: &SyncContext,
    store: &StoreConfig,
    number: i64,
    limit: i64,
    requests: &RequestCounter,
) -> Result<Fetched, Error> {
    if number * limit > i64::from(LISTING_CAP) {
        return Ok(Fetched::End(Listing::Capped));
    }
    let url = super::urls::page(store, &["products.json"], limit, number);
    requests.record(Source::Listing);
    ctx.progress
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let body = match ctx.client.get_json(&store.name, &url).await {
        Ok(body) => body,
        Err(e) if is_listing_cap(&e.kind) => return Ok(Fetched::End(Listing::Capped)),
        Err(e) => return Err(e.into()),
    };
    let parsed = tokio::task::spawn_blocking(move || storefront::parse_products_page(&body))
        .await
        .expect("page parser does not panic");
    match parsed {
        Ok(page) if page.entries() == 0 => Ok(Fetched::End(Listing::Complete)),
        Ok(page) => Ok(Fetched::Page {
            number,
            url: storefront::redact(&url),
            page,
        }),
        Err(kind) => Err(storefront::Error {
            store: store.name.clone(),
            url: storefront::redact(&url),
            kind,
        }
        .into()),
    }
}

/// Shopify's answer past page * limit = 25,000: HTTP 400 naming the limit.
pub(super) fn is_listing_cap(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Status { status: 400, detail } if detail.contains("exceeds the"))
}
