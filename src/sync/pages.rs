//! The one walk over a paged feed (`?limit=L&page=P`): the listing, /collections.json and each
//! collection's products. It owns where a feed ends: a page short of the limit, Shopify's
//! page * limit = 25,000 cap (known before asking, or from the answer that says so), and, for
//! a feed that can vanish during a run (a collection), a 404. It walks by item: the cursor is
//! the first unread item, so a walk resumed with another `sync.page_size` starts exactly there
//! (pages of a size that divides both the item and the configured size carry it to the next
//! item the configured size starts a page at). A page larger than `http.max_body_bytes` is asked
//! again in smaller pages (its size divided by its smallest prime factor, down to 1) until the
//! items it held are read; only one product too large by itself fails the walk. Callers read
//! and write each page.

use bytes::Bytes;
use url::Url;

use super::{
    fetch, is_listing_cap, is_not_found, urls, Error, Expect, RequestCounter, SyncContext,
};
use crate::catalog::LISTING_CAP;
use crate::config::StoreConfig;
use crate::endpoint::Endpoint;
use crate::storefront::{self, ErrorKind, Held};
use crate::telemetry::events;

/// Which paged feed of a store.
#[derive(Debug, Clone, Copy)]
pub(super) enum Feed<'a> {
    /// /products.json
    Listing,
    /// /collections.json
    Collections,
    /// /collections/{handle}/products.json
    Collection(&'a str),
}

impl Feed<'_> {
    fn segments(&self) -> Vec<&str> {
        match self {
            Feed::Listing => vec!["products.json"],
            Feed::Collections => vec!["collections.json"],
            Feed::Collection(handle) => vec!["collections", handle, "products.json"],
        }
    }

    fn source(&self) -> Endpoint {
        match self {
            Feed::Listing => Endpoint::Listing,
            Feed::Collections | Feed::Collection(_) => Endpoint::Collection,
        }
    }

    /// A collection can be deleted during the run: its 404 ends the walk instead of failing it.
    fn may_vanish(&self) -> bool {
        matches!(self, Feed::Collection(_))
    }

    /// The URL of page `number` of this feed with `limit` items per page.
    pub(super) fn page_url(&self, store: &StoreConfig, limit: i64, number: i64) -> Url {
        urls::page(store, &self.segments(), limit, number)
    }
}

/// Where a walk starts: page `next_page` in pages of `page_size` (None: the configured size),
/// as the run's cursor records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FeedStart {
    pub next_page: i64,
    pub page_size: Option<i64>,
}

impl FeedStart {
    /// The start of a feed.
    pub(super) const FIRST: FeedStart = FeedStart {
        next_page: 1,
        page_size: None,
    };
}

/// How a feed's walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FeedEnd {
    /// A short (or empty) page: every item of the feed was shown.
    Complete,
    /// The 25,000 cap: the feed shows no further page.
    Capped,
    /// The feed answered 404 (a collection deleted during the run).
    Gone,
}

/// One page of a feed, as answered. Once it is written the cursor is page `number + 1` in
/// pages of `size`; `held` (its place in the budget of pages in flight) is dropped then.
pub(super) struct Page {
    pub number: i64,
    /// Items per page of this request.
    pub size: i64,
    /// How many items of the feed come before this page's first.
    pub first_item: i64,
    pub url: Url,
    pub body: Bytes,
    pub held: Held,
}

/// A walk over one feed from a given item, one request per page.
pub(super) struct Pages<'a> {
    ctx: &'a SyncContext,
    store: &'a StoreConfig,
    requests: &'a RequestCounter,
    feed: Feed<'a>,
    /// The configured page size.
    limit: i64,
    /// Items of the feed before the next page: all read.
    offset: i64,
    /// While the walk is inside the items of a page that was too large: where they end and
    /// the largest page size that is known to work there.
    smaller: Option<(i64, i64)>,
    /// The size of the page last fetched and not yet read.
    size: i64,
    end: Option<FeedEnd>,
}

impl<'a> Pages<'a> {
    pub(super) fn new(
        ctx: &'a SyncContext,
        store: &'a StoreConfig,
        requests: &'a RequestCounter,
        feed: Feed<'a>,
        start: FeedStart,
    ) -> Pages<'a> {
        let limit = i64::from(ctx.page_size);
        let offset = (start.next_page - 1).max(0) * start.page_size.unwrap_or(limit).max(1);
        Pages {
            ctx,
            store,
            requests,
            feed,
            limit,
            offset,
            smaller: None,
            size: limit,
            end: None,
        }
    }

    /// The size of the next page: the configured size where a page of it starts at the next
    /// item, else the largest size that divides both (so the walk reaches such an item); never
    /// more than a page that was too large left workable.
    fn next_size(&self) -> i64 {
        let aligned = gcd(self.offset, self.limit);
        match self.smaller {
            Some((end, most)) if self.offset < end => aligned.min(most),
            _ => aligned,
        }
    }

    /// Fetches the next page; None once the feed has ended (then `end` says how). Each page
    /// must be followed by `read` before the next call.
    pub(super) async fn next(&mut self) -> Result<Option<Page>, Error> {
        if self.end.is_some() {
            return Ok(None);
        }
        let mut size = self.next_size();
        loop {
            // Always a divisor of the offset, so the page starts exactly at the next item.
            size = gcd(self.offset, size);
            if self.offset + size > i64::from(LISTING_CAP) {
                self.end = Some(FeedEnd::Capped);
                return Ok(None);
            }
            let number = self.offset / size + 1;
            let (ctx, store) = (self.ctx, self.store);
            let url = self.feed.page_url(store, size, number);
            let counted = (self.requests, self.feed.source());
            match fetch(ctx, store, &url, Expect::Json, counted).await {
                Ok(body) => {
                    self.size = size;
                    let (body, held) = body.split();
                    return Ok(Some(Page {
                        number,
                        size,
                        first_item: self.offset,
                        url,
                        body,
                        held,
                    }));
                }
                Err(e) if is_listing_cap(&e) => {
                    self.end = Some(FeedEnd::Capped);
                    return Ok(None);
                }
                Err(e) if self.feed.may_vanish() && is_not_found(&e) => {
                    self.end = Some(FeedEnd::Gone);
                    return Ok(None);
                }
                Err(e) if is_too_large(&e) && size > 1 => {
                    let smaller = size / smallest_prime_factor(size);
                    events::page_size_fallback(
                        &store.name,
                        &storefront::redact(&url),
                        size,
                        smaller,
                    );
                    let end = self.offset + size;
                    self.smaller = Some((self.smaller.map_or(end, |(e, _)| e.max(end)), smaller));
                    size = smaller;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Records how many items the page just fetched held (usable or not): a page short of its
    /// size is the feed's last.
    pub(super) fn read(&mut self, items: usize) {
        if i64::try_from(items) == Ok(self.size) {
            self.offset += self.size;
        } else {
            self.end = Some(FeedEnd::Complete);
        }
    }

    /// How the feed ended, once `next` has returned None.
    pub(super) fn end(&self) -> FeedEnd {
        self.end.unwrap_or(FeedEnd::Complete)
    }
}

/// An answer cut at `http.max_body_bytes`.
fn is_too_large(e: &Error) -> bool {
    matches!(e, Error::Storefront(e) if matches!(e.kind, ErrorKind::TooLarge { .. }))
}

/// The greatest common divisor; gcd(0, n) = n.
fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn smallest_prime_factor(n: i64) -> i64 {
    (2..)
        .take_while(|d| d * d <= n)
        .find(|d| n % d == 0)
        .unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::store::Writer;
    use crate::storefront::Client;
    use crate::sync::{is_not_found, Progress};

    /// A store whose feeds hold `items` items each, that answers the cap's 400 from page
    /// `cap_page` on and 404 for every path in `missing`; counts the requests it answers.
    struct Shop {
        url: Url,
        requests: Arc<AtomicU64>,
    }

    async fn fake_shop(items: usize, cap_page: i64, missing: &'static [&'static str]) -> Shop {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut head = vec![0u8; 4096];
                let n = socket.read(&mut head).await.unwrap();
                let head = String::from_utf8_lossy(&head[..n]).to_string();
                let target = head.split(' ').nth(1).unwrap_or("/").to_string();
                let target = Url::parse("http://x").unwrap().join(&target).unwrap();
                let query = |key: &str| -> i64 {
                    target
                        .query_pairs()
                        .find(|(k, _)| k == key)
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0)
                };
                let (limit, page) = (query("limit"), query("page"));
                let (status, body) = if missing.contains(&target.path()) {
                    (404, "{}".to_string())
                } else if page >= cap_page {
                    (
                        400,
                        r#"{"errors":"Page * Limit exceeds the 25000 limit."}"#.into(),
                    )
                } else {
                    let first = (page - 1) * limit;
                    let shown = (items as i64 - first).clamp(0, limit);
                    let list: Vec<String> = (0..shown).map(|i| (first + i).to_string()).collect();
                    (200, format!(r#"{{"products":[{}]}}"#, list.join(",")))
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        Shop { url, requests }
    }

    fn context(dir: &tempfile::TempDir, page_size: u32) -> SyncContext {
        let mut config = crate::config::Config::load(None, None).unwrap();
        config.http.allow_private = true;
        config.http.min_delay = Duration::ZERO;
        SyncContext::new(
            Arc::new(Client::new(config.http).unwrap()),
            Writer::open(&dir.path().join("m.db")).unwrap(),
            page_size,
            CancellationToken::new(),
            Arc::new(Progress::default()),
        )
    }

    /// Walks `feed` from `first_page`, reading each page's item count; the pages read and how
    /// the walk ended.
    async fn walk(
        ctx: &SyncContext,
        shop: &Shop,
        feed: Feed<'_>,
        first_page: i64,
    ) -> Result<(Vec<i64>, FeedEnd), Error> {
        let config = crate::config::Config::load(None, None).unwrap();
        let store = config.targets(&[shop.url.to_string()]).unwrap().remove(0);
        let requests = RequestCounter::default();
        let start = FeedStart {
            next_page: first_page,
            page_size: None,
        };
        let mut pages = Pages::new(ctx, &store, &requests, feed, start);
        let mut read = Vec::new();
        while let Some(page) = pages.next().await? {
            let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
            pages.read(body["products"].as_array().unwrap().len());
            read.push(page.number);
        }
        Ok((read, pages.end()))
    }

    #[tokio::test]
    async fn a_short_page_ends_the_feed_without_asking_further() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(&dir, 2);
        let shop = fake_shop(5, i64::MAX, &[]).await;
        let walked = walk(&ctx, &shop, Feed::Listing, 1).await.unwrap();
        assert_eq!(walked, (vec![1, 2, 3], FeedEnd::Complete));
        assert_eq!(shop.requests.load(Ordering::SeqCst), 3);
        // A feed that ends on a full page takes one more (empty) page to know it.
        let shop = fake_shop(4, i64::MAX, &[]).await;
        let walked = walk(&ctx, &shop, Feed::Collections, 1).await.unwrap();
        assert_eq!(walked, (vec![1, 2, 3], FeedEnd::Complete));
        assert_eq!(shop.requests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_cap_ends_the_feed_by_arithmetic_or_by_the_stores_answer() {
        let dir = tempfile::tempdir().unwrap();
        // 250 a page: page 100 is the last the cap allows; page 101 is never asked for.
        let ctx = context(&dir, 250);
        let shop = fake_shop(usize::MAX / 2, i64::MAX, &[]).await;
        let walked = walk(&ctx, &shop, Feed::Listing, 100).await.unwrap();
        assert_eq!(walked, (vec![100], FeedEnd::Capped));
        assert_eq!(shop.requests.load(Ordering::SeqCst), 1);
        // A store that caps earlier says so with a 400: the walk ends capped, not failed.
        let shop = fake_shop(usize::MAX / 2, 3, &[]).await;
        let walked = walk(&ctx, &shop, Feed::Collection("all"), 1).await.unwrap();
        assert_eq!(walked, (vec![1, 2], FeedEnd::Capped));
        assert_eq!(shop.requests.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn sizes_divide_the_item_and_shrink_by_the_smallest_prime_factor() {
        assert_eq!(
            [gcd(0, 250), gcd(300, 250), gcd(500, 250), gcd(7, 1)],
            [250, 50, 250, 1]
        );
        let shrink = |n: i64| n / smallest_prime_factor(n);
        assert_eq!(
            [shrink(250), shrink(125), shrink(25), shrink(5)],
            [125, 25, 5, 1]
        );
        assert_eq!([shrink(97), shrink(2), shrink(100)], [1, 1, 50]);
    }

    #[tokio::test]
    async fn a_404_ends_a_collection_but_fails_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(&dir, 2);
        let missing = &["/collections/gone/products.json", "/products.json"];
        let shop = fake_shop(5, i64::MAX, missing).await;
        let walked = walk(&ctx, &shop, Feed::Collection("gone"), 1)
            .await
            .unwrap();
        assert_eq!(walked, (vec![], FeedEnd::Gone));
        let failed = walk(&ctx, &shop, Feed::Listing, 1).await.unwrap_err();
        assert!(is_not_found(&failed), "{failed}");
    }
}
