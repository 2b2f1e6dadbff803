//! The collection phases: /collections.json page by page (collections), then each collection's
//! /collections/{handle}/products.json page by page (collection_products), under the same page
//! size and 25,000 cap as the listing. Products met in collection feeds are written through the
//! same upsert as listing pages, so products hidden from the listing are mirrored too (products
//! the run has already written are only read for their id and membership). Each page commits
//! with its cursor. A collection's members missing from a complete walk are confirmed by walking
//! it once more (a collection re-sorted during a walk shows some members twice and skips
//! others); only those both walks missed are removed, after the last page. Collections missing
//! from a complete enumeration are tombstoned once their products feed answers 404. With
//! `collections.full_walk_every` set, a collection whose entry is unchanged since its last
//! complete walk (that walk recent enough, every member already seen by the run) is not walked:
//! its membership stays as it was.

use bytes::Bytes;
use tracing::{info, warn};
use url::Url;

use super::pages::{Feed, FeedEnd, FeedStart, Page, Pages};
use super::{
    bad_answer, fetch, is_not_found, off_thread, Error, Expect, RequestCounter, SyncContext,
};
use crate::catalog::{self, LazyPage, ParsedPage};
use crate::config::StoreConfig;
use crate::endpoint::Endpoint;
use crate::store::{
    CollectionPageWrite, CollectionRef, CollectionsPageWrite, RunStart, WalkChoice, WalkEnd,
};
use crate::storefront;
use crate::telemetry::events::{self, PageWritten};

/// Pages through /collections.json from `from`; after a complete enumeration, checks the
/// collections it no longer lists. An unusable collection is quarantined and the walk goes on.
pub(super) async fn enumerate(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    from: FeedStart,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let mut pages = Pages::new(ctx, store, requests, Feed::Collections, from);
    while let Some(Page {
        number,
        size,
        url,
        body,
        ..
    }) = pages.next().await?
    {
        let parsed =
            catalog::parse_collections_page(&body).map_err(|kind| bad_answer(store, &url, kind))?;
        pages.read(parsed.entries());
        let url = storefront::redact(&url);
        events::collections_quarantined(&store.name, &url, &parsed.unusable);
        let page = CollectionsPageWrite {
            store_id: start.store_id,
            run_id: start.run_id,
            collections: parsed.collections,
            unusable: parsed.unusable,
            url,
            next_page: number + 1,
            page_size: size,
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
    let idless = ctx
        .writer
        .call(move |db| db.collection_tombstones_inconclusive(store_id, run_id))
        .await
        .map_err(store_err)?;
    if idless {
        warn!(store = %store.name, run = run_id,
              "a quarantined collection has no usable id: no collection tombstoned this run");
        return Ok(());
    }
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
/// in collection id order, from the collection `from_id` at `first`. With
/// `collections.full_walk_every` set, a collection whose entry is unchanged since its last
/// complete walk, within that interval, and whose members this run has all seen already, is
/// left as it is (see `WalkChoice`).
pub(super) async fn walk_members(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    from_id: i64,
    first: FeedStart,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let (store_id, run_id) = (start.store_id, start.run_id);
    let (mut from, mut page) = (from_id, first);
    let mut choice = WalkChoice {
        handles: store.collection_handles.clone(),
        unchanged_within: (!store.full_walk_every.is_zero()).then_some(store.full_walk_every),
        resuming: (first.next_page > 1).then_some(from_id),
    };
    loop {
        let asked = choice.clone();
        let next = ctx
            .writer
            .call(move |db| db.next_collection(store_id, run_id, from, &asked))
            .await
            .map_err(store_err)?;
        choice.resuming = None;
        let Some(collection) = next else {
            return Ok(());
        };
        if collection.collection_id != from {
            page = FeedStart::FIRST;
        }
        let mut end = walk_collection(ctx, store, start, &collection, page, requests).await?;
        let complete = end == WalkEnd::Complete;
        if complete && missing_members(ctx, store, start, collection.collection_id).await? > 0 {
            // A member missing from a complete walk may have been skipped by a re-sort during
            // it: only one that a second complete walk misses too has left.
            info!(store = %store.name, collection = %collection.handle,
                  "members missing from the walk: walking the collection again to confirm");
            end =
                walk_collection(ctx, store, start, &collection, FeedStart::FIRST, requests).await?;
        }
        let (id, count) = (collection.collection_id, requests.take());
        ctx.writer
            .call(move |db| db.finish_collection(store_id, run_id, id, end, count))
            .await
            .map_err(store_err)?;
        let Some(after) = id.checked_add(1) else {
            return Ok(()); // no id above i64::MAX
        };
        from = after;
    }
}

/// How many stored members of the collection this run has not seen.
async fn missing_members(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    collection_id: i64,
) -> Result<i64, Error> {
    let (store_id, run_id) = (start.store_id, start.run_id);
    ctx.writer
        .call(move |db| db.unseen_members(store_id, run_id, collection_id))
        .await
        .map_err(Error::store(store))
}

/// One collection's products from `first`, and how the walk ended: at its end, at the cap, or
/// cut by a 404 (the collection went away during the run).
async fn walk_collection(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    collection: &CollectionRef,
    first: FeedStart,
    requests: &RequestCounter,
) -> Result<WalkEnd, Error> {
    let feed = Feed::Collection(&collection.handle);
    let mut pages = Pages::new(ctx, store, requests, feed, first);
    while let Some(Page {
        number,
        size,
        first_item,
        url,
        body,
        .. // `held` stays until this page is written
    }) = pages.next().await?
    {
        let (ids, parsed) = read_page(ctx, store, start, &url, body).await?;
        pages.read(ids.len());
        let first_seen = parsed.products.len() as u64;
        let url = storefront::redact(&url);
        events::quarantined(&store.name, &url, &parsed.unusable);
        let page = CollectionPageWrite {
            store_id: start.store_id,
            run_id: start.run_id,
            collection_id: collection.collection_id,
            members: ids.into_iter().flatten().collect(),
            products: parsed.products,
            unusable: parsed.unusable,
            url,
            first_position: first_item + 1,
            next_page: number + 1,
            page_size: size,
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
    Ok(match pages.end() {
        FeedEnd::Complete => WalkEnd::Complete,
        FeedEnd::Capped => WalkEnd::Capped,
        FeedEnd::Gone => WalkEnd::Cut,
    })
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
