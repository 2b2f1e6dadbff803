//! The sitemap phase, run after the collection feeds when the listing hit Shopify's 25,000 cap
//! (to complete the catalogue) or when a complete enumeration left live products unseen (to find
//! a product renamed and skipped by a shifting listing under its new handle before any deletion
//! is confirmed): /sitemap.xml lists the product sitemaps, each gives product handles, and
//! every handle no listing or collection page of this run showed is fetched from
//! /products/{handle}.json (the older single shape, normalized so it hashes like the list
//! shape; its missing availability comes from /products/{handle}.js when the prices agree).
//! Handles are checked against the database in batches; each batch commits with the cursor
//! (which product sitemap, how many of its entries are done).
//!
//! Politeness: each product fetched here costs one request (two with `.js`), against 1/250 of a
//! request on a page; that is why it runs last, for what the pages did not show.

use tracing::debug;
use url::Url;

use super::{bad_answer, fetch, is_not_found, Error, Expect, RequestCounter, SyncContext};
use crate::catalog::{self, sitemap, ParsedProduct, Unusable};
use crate::config::StoreConfig;
use crate::endpoint::Endpoint;
use crate::store::{RunStart, SingleBatch};
use crate::storefront;
use crate::telemetry::events;

/// Handles checked against the database (and products written) per transaction.
const BATCH: usize = 50;

/// Walks the product sitemaps from the cursor. Returns false when the store has no sitemap or
/// it lists no product sitemap, true once every product sitemap was walked.
pub(super) async fn walk(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    first_file: i64,
    skip: i64,
    requests: &RequestCounter,
) -> Result<bool, Error> {
    let index_url = super::urls::sitemap_index(store);
    let index = match fetch(
        ctx,
        store,
        &index_url,
        Expect::Xml,
        (requests, Endpoint::Sitemap),
    )
    .await
    {
        Ok(body) => body,
        Err(e) if is_not_found(&e) => {
            debug!(store = %store.name, "no sitemap");
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let files: Vec<Url> = sitemap::product_sitemaps(&index)
        .map_err(|kind| bad_answer(store, &index_url, kind))?
        .iter()
        .map(|loc| super::urls::sitemap_file(store, loc))
        .collect();
    // Its place in the budget of pages in flight goes back before the files are asked for.
    drop(index);
    if files.is_empty() {
        debug!(store = %store.name, "the sitemap lists no product sitemaps");
        return Ok(false);
    }
    let first = usize::try_from(first_file).unwrap_or(0);
    for (i, file) in files.iter().enumerate().skip(first) {
        let skip = if i == first { skip } else { 0 };
        walk_file(ctx, store, start, i as i64, file, skip, requests).await?;
    }
    Ok(true)
}

/// One product sitemap: its handles in batches, from entry `position` on.
async fn walk_file(
    ctx: &SyncContext,
    store: &StoreConfig,
    start: &RunStart,
    index: i64,
    url: &Url,
    mut position: i64,
    requests: &RequestCounter,
) -> Result<(), Error> {
    let store_err = Error::store(store);
    let (store_id, run_id) = (start.store_id, start.run_id);
    let body = fetch(ctx, store, url, Expect::Xml, (requests, Endpoint::Sitemap)).await?;
    // The handles (up to an unreadable entry) are read out and the file dropped, with its
    // place in the budget of pages in flight, before any product is asked for.
    let mut unreadable = None;
    let handles: Vec<String> = sitemap::product_handles(&body)
        .skip(usize::try_from(position).unwrap_or(0))
        .map_while(|handle| handle.map_err(|kind| unreadable = Some(kind)).ok())
        .collect();
    drop(body);
    let mut handles = handles.into_iter();
    loop {
        let batch: Vec<String> = handles.by_ref().take(BATCH).collect();
        if let (true, Some(kind)) = (batch.is_empty(), unreadable.take()) {
            return Err(bad_answer(store, url, kind));
        }
        let (done, listed) = (batch.is_empty(), batch.len() as i64);
        let unseen = ctx
            .writer
            .call(move |db| db.unseen_handles(store_id, run_id, &batch))
            .await
            .map_err(store_err)?;
        let (mut products, mut unusable) = (Vec::with_capacity(unseen.len()), Vec::new());
        for handle in &unseen {
            match fetch_single(ctx, store, handle, requests).await? {
                Some((_, Ok(product))) => products.push(product),
                Some((url, Err(bad))) => {
                    events::quarantined(&store.name, &url, std::slice::from_ref(&bad));
                    unusable.push((url, bad));
                }
                None => {}
            }
        }
        // The file's end moves the cursor to the start of the next one.
        position += listed;
        let (sitemap_index, position) = if done {
            (index + 1, 0)
        } else {
            (index, position)
        };
        let count = products.len() as u64;
        let write = SingleBatch {
            store_id,
            run_id,
            products,
            unusable,
            sitemap_index,
            position,
            requests: requests.take(),
        };
        ctx.writer
            .call(move |db| db.apply_single_batch(write))
            .await
            .map_err(store_err)?;
        ctx.progress.add(0, count);
        if done {
            return Ok(());
        }
    }
}

/// /products/{handle}.json, parsed (or unusable, for the quarantine), with its printable URL;
/// None when the product is gone (404) since the sitemap listed it. When its answer lacks
/// availability, /products/{handle}.js supplies it if its prices agree (see
/// `catalog::fill_availability`); a failed `.js` leaves it unknown.
async fn fetch_single(
    ctx: &SyncContext,
    store: &StoreConfig,
    handle: &str,
    requests: &RequestCounter,
) -> Result<Option<(String, Result<ParsedProduct, Unusable>)>, Error> {
    let url = super::urls::product(store, handle);
    let body = match fetch(ctx, store, &url, Expect::Json, (requests, Endpoint::Single)).await {
        Ok(body) => body,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let printable = storefront::redact(&url);
    let parsed = catalog::parse_single_product(&body);
    // Dropped (with its place in the budget of pages in flight) before `.js` is asked for.
    drop(body);
    let mut product = match parsed {
        Ok(Ok(product)) => product,
        Ok(Err(bad)) => return Ok(Some((printable, Err(bad)))),
        Err(kind) => return Err(bad_answer(store, &url, kind)),
    };
    if product.availability_source().is_some() {
        return Ok(Some((printable, Ok(product))));
    }
    let url = super::urls::product_script(store, handle);
    let unusable = "no usable `.js`: availability unknown";
    match fetch(
        ctx,
        store,
        &url,
        Expect::Script,
        (requests, Endpoint::Single),
    )
    .await
    {
        Ok(body) => match catalog::fill_availability(&mut product, &body) {
            Ok(true) => {}
            Ok(false) => {
                debug!(store = %store.name, handle, "`.js` prices differ: availability unknown")
            }
            Err(error) => debug!(store = %store.name, handle, %error, "{unusable}"),
        },
        Err(e @ Error::Interrupted(_)) => return Err(e),
        Err(error) => debug!(store = %store.name, handle, %error, "{unusable}"),
    }
    Ok(Some((printable, Ok(product))))
}
