//! The collection phases: /collections.json page by page (collections), then each collection's
//! /collections/{handle}/products.json page by page (collection_products), under the same page
//! size and 25,000 cap as the listing. Products met in collection feeds are written through the
//! same upsert as listing pages, so products hidden from the listing are mirrored too (products
//! the run has already written are only read for their id and membership). Each
//! page commits with its cursor; a collection's departed members are removed only after its
//! last page. Collections missing from a complete enumeration are tombstoned once their
//! products feed answers 404.

use bytes::Bytes;
use tracing::info;
use url::Url;

use super::pages::{Feed, FeedEnd, Page, Pages};
use super::{
    bad_answer, fetch, is_not_found, off_thread, Error, Expect, RequestCounter, SyncContext,
};
use crate::catalog::{self, LazyPage, ParsedPage};
use crate::config::StoreConfig;
use crate::endpoint::Endpoint;
use crate::store::{CollectionPageWrite, CollectionRef, CollectionsPageWrite, RunStart};
use crate::storefront;
use crate::telemetry::events::{self, PageWritten};

/// Pages through /collections.json from `first_page`; after a complete enumeration, checks the
/// collections it no longer lists.
pub(super) async fn enumerate(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    first_page: i64,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let mut pages = Pages::new(ctx, store, requests, Feed::Collections, first_page);
    while let Some(Page { number, url, body }) = pages.next().await? {
        let collections =
            catalog::parse_collections_page(&body).map_err(|kind| bad_answer(store, &url, kind))?;
        pages.read(collections.len());
        let page = CollectionsPageWrite {
            store_id: start.store_id,
            run_id: start.run_id,
            collections,
            next_page: number + 1,
            requests: requests.take(),
        };
        ctx.writer
            .call(move |db| db.apply_collections_page(page))
            .await
            .map_err(store_err)?;
    }
    if pages.end() == FeedEnd::Complete {
        tombstone_missing(ctx, store, start, requests).await?;
    }
    Ok(())
}

/// Tombstones the live collections this run did not list whose handle this run listed under
/// another collection id (handles are unique within a store: this one was deleted and
/// re-created), or whose products feed answers 404.
async fn tombstone_missing(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let (store_id, run_id) = (start.store_id, start.run_id);
    let candidates = ctx
        .writer
        .call(move |db| db.collection_candidates(store_id, run_id))
        .await
        .map_err(store_err)?;
    let mut gone = Vec::new();
    for c in candidates {
        if c.handle_taken {
            gone.push(c.collection_id);
            continue;
        }
        let url = Feed::Collection(&c.handle).page_url(store, 1, 1);
        match fetch(
            ctx,
            store,
            &url,
            Expect::Json,
            (requests, Endpoint::Collection),
        )
        .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => gone.push(c.collection_id),
            Err(e) => return Err(e),
        }
    }
    if !gone.is_empty() {
        info!(store = %store.name, collections = gone.len(), "collections gone");
    }
    let count = requests.take();
    ctx.writer
        .call(move |db| db.tombstone_collections(store_id, run_id, gone, count))
        .await
        .map_err(store_err)
}

/// Walks the membership of every collection this run listed (or of the configured handles),
/// in collection id order, from the collection `from_id` at `first_page`.
pub(super) async fn walk_members(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    from_id: i64,
    first_page: i64,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let (store_id, run_id) = (start.store_id, start.run_id);
    let (mut from, mut page) = (from_id, first_page);
    loop {
        let handles = store.collection_handles.clone();
        let next = ctx
            .writer
            .call(move |db| db.next_collection(store_id, run_id, from, handles.as_deref()))
            .await
            .map_err(store_err)?;
        let Some(collection) = next else {
            return Ok(());
        };
        if collection.collection_id != from {
            page = 1;
        }
        let complete = walk_collection(ctx, store, start, &collection, page, requests).await?;
        let (id, count) = (collection.collection_id, requests.take());
        ctx.writer
            .call(move |db| db.finish_collection(store_id, run_id, id, complete, count))
            .await
            .map_err(store_err)?;
        from = id + 1;
    }
}

/// One collection's products from `first_page`; true when its end was reached (not the cap,
/// not a 404 because the collection went away during the run).
async fn walk_collection(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    collection: &CollectionRef,
    first_page: i64,
    requests: &RequestCounter,
) -> Result<bool, Error> {
    let feed = Feed::Collection(&collection.handle);
    let mut pages = Pages::new(ctx, store, requests, feed, first_page);
    while let Some(Page { number, url, body }) = pages.next().await? {
        let (ids, parsed) = read_page(ctx, store, start, &url, body).await?;
        pages.read(ids.len());
        let first_seen = parsed.products.len() as u64;
        let url = storefront::redact(&url);
        events::quarantined(&store.name, &url, &parsed.unusable);
        let limit = pages.limit();
        let page = CollectionPageWrite {
            store_id: start.store_id,
            run_id: start.run_id,
            collection_id: collection.collection_id,
            members: ids.into_iter().flatten().collect(),
            products: parsed.products,
            unusable: parsed.unusable,
            url,
            first_position: (number - 1) * limit + 1,
            next_page: number + 1,
            requests: requests.take(),
        };
        let written = ctx
            .writer
            .call(move |db| db.apply_collection_page(page))
            .await
            .map_err(Error::store(store))?;
        // Products first written from a collection page (past the listing's cap) are counted
        // like the listing's; `shopmirror_pages_total` counts listing pages only.
        let page = PageWritten {
            listing: false,
            number,
            products: first_seen,
            new: written.new as u64,
            changed: written.changed as u64,
        };
        events::page_written(&store.name, page);
        // Collection rows are memberships, not products: only products this run had not seen
        // before (past the listing's cap) count as products.
        ctx.progress.add(1, first_seen);
    }
    Ok(pages.end() == FeedEnd::Complete)
}

/// Reads a collection page: every member's id (None without a usable id), and the full parse
/// of only those products this run has not seen yet (most were written from the listing
/// already).
async fn read_page(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    url: &Url,
    body: Bytes,
) -> Result<(Vec<Option<i64>>, ParsedPage), Error> {
    let bad = |kind| bad_answer(store, url, kind);
    let scan = body.clone();
    let ids = off_thread(store, url, move || {
        LazyPage::read(&scan).map(|page| page.ids)
    })
    .await?
    .map_err(bad)?;
    let lookup: Vec<i64> = ids.iter().flatten().copied().collect();
    let (store_id, run_id) = (start.store_id, start.run_id);
    let seen = ctx
        .writer
        .call(move |db| db.seen_by_run(store_id, run_id, &lookup))
        .await
        .map_err(Error::store(store))?;
    let products = off_thread(store, url, move || {
        let page = LazyPage::read(&body)?;
        Ok(page.parse(|index| page.ids[index].is_none_or(|id| !seen.contains(&id))))
    })
    .await?
    .map_err(bad)?;
    Ok((ids, products))
}
