//! The one walk over a paged feed (`?limit=L&page=P`): the listing, /collections.json and each
//! collection's products. It owns where a feed ends: a page short of the limit, Shopify's
//! page * limit = 25,000 cap (known before asking, or from the answer that says so), and, for
//! a feed that can vanish during a run (a collection), a 404. Callers read and write each page.

use bytes::Bytes;
use url::Url;

use super::{
    fetch, is_listing_cap, is_not_found, urls, Answer, Error, RequestCounter, Source, SyncContext,
};
use crate::catalog::LISTING_CAP;
use crate::config::StoreConfig;

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

    fn source(&self) -> Source {
        match self {
            Feed::Listing => Source::Listing,
            Feed::Collections | Feed::Collection(_) => Source::Collections,
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

/// One page of a feed, as answered.
pub(super) struct Page {
    pub number: i64,
    pub url: Url,
    pub body: Bytes,
}

/// A walk over one feed from a given page, one request per page.
pub(super) struct Pages<'a> {
    ctx: &'a SyncContext,
    store: &'a StoreConfig,
    requests: &'a RequestCounter,
    feed: Feed<'a>,
    limit: i64,
    number: i64,
    end: Option<FeedEnd>,
}

impl<'a> Pages<'a> {
    pub(super) fn new(
        ctx: &'a SyncContext,
        store: &'a StoreConfig,
        requests: &'a RequestCounter,
        feed: Feed<'a>,
        first_page: i64,
    ) -> Pages<'a> {
        Pages {
            ctx,
            store,
            requests,
            feed,
            limit: i64::from(ctx.page_size),
            number: first_page,
            end: None,
        }
    }

    /// Items per page.
    pub(super) fn limit(&self) -> i64 {
        self.limit
    }

    /// Fetches the next page; None once the feed has ended (then `end` says how). Each page
    /// must be followed by `read` before the next call.
    pub(super) async fn next(&mut self) -> Result<Option<Page>, Error> {
        if self.end.is_some() {
            return Ok(None);
        }
        if self.number * self.limit > i64::from(LISTING_CAP) {
            self.end = Some(FeedEnd::Capped);
            return Ok(None);
        }
        let (ctx, store) = (self.ctx, self.store);
        let url = self.feed.page_url(store, self.limit, self.number);
        let counted = (self.requests, self.feed.source());
        match fetch(ctx, store, &url, Answer::Json, counted).await {
            Ok(body) => Ok(Some(Page {
                number: self.number,
                url,
                body,
            })),
            Err(e) if is_listing_cap(&e) => {
                self.end = Some(FeedEnd::Capped);
                Ok(None)
            }
            Err(e) if self.feed.may_vanish() && is_not_found(&e) => {
                self.end = Some(FeedEnd::Gone);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Records how many items the page just fetched held (usable or not): a page short of the
    /// limit is the feed's last.
    pub(super) fn read(&mut self, items: usize) {
        if i64::try_from(items) == Ok(self.limit) {
            self.number += 1;
        } else {
            self.end = Some(FeedEnd::Complete);
        }
    }

    /// How the feed ended, once `next` has returned None.
    pub(super) fn end(&self) -> FeedEnd {
        self.end.unwrap_or(FeedEnd::Complete)
    }
}
