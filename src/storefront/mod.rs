//! Talking to stores: the HTTP client (client) and its policy (guard: where it may go; pacing:
//! politeness per host; retry: what is retried and how long it waits; breaker: leaving a
//! troubled store alone), the wire shapes (wire), and turning answers into canonical, hashed
//! products (product, money), collections (collection) and sitemap entries (sitemap). Nothing
//! here touches the database.

mod breaker;
mod client;
mod collection;
mod digest;
mod error;
mod guard;
mod money;
mod pacing;
mod product;
mod retry;
pub mod sitemap;
mod wire;

pub use breaker::BreakerState;
pub use client::{Client, ClientSettings, StoreOptions, StoreReport};
pub use collection::{parse_collections_page, ParsedCollection};
pub use digest::{raw_digest, RawDigest};
pub use error::{snippet, Error, ErrorKind};
pub use guard::{redact, redact_text};
pub use money::Money;
pub use product::{Image, InvalidProduct, Product, ProductOption, Variant};
pub use retry::RetryPolicy;

use error::label_of;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Shopify answers page * limit beyond this with HTTP 400.
pub const LISTING_CAP: u32 = 25_000;
/// The largest page /products.json serves.
pub const MAX_PAGE_SIZE: u32 = 250;

/// A product ready to store: canonical form, content hash, the JSON exactly as received and
/// its raw hash (see `raw_digest`).
#[derive(Debug, Clone)]
pub struct ParsedProduct {
    pub product: Product,
    pub content_hash: String,
    pub raw_json: String,
    pub raw_hash: i64,
}

/// One product of a listing page before its typed parse: where its JSON lies in the page body
/// and its raw digest.
#[derive(Debug, Clone)]
pub struct RawEntry {
    pub range: std::ops::Range<usize>,
    pub digest: RawDigest,
}

/// Splits a /products.json page into its products' byte ranges and raw digests, without the
/// typed parse. A page that is not valid JSON of that shape fails as `parse_products_page` does.
pub fn digest_products_page(body: &[u8]) -> Result<Vec<RawEntry>, ErrorKind> {
    let page: wire::ProductsPage = match serde_json::from_slice(body) {
        Ok(page) => page,
        // The reference parse names what is wrong (or accepts a page without products).
        Err(e) => {
            return match parse_products_page(body) {
                Ok(products) if products.is_empty() => Ok(Vec::new()),
                Ok(_) => Err(ErrorKind::BadJson(e.to_string())),
                Err(kind) => Err(kind),
            }
        }
    };
    let base = body.as_ptr() as usize;
    Ok(page
        .products
        .iter()
        .map(|raw| {
            let text = raw.get();
            let start = text.as_ptr() as usize - base;
            RawEntry {
                range: start..start + text.len(),
                digest: raw_digest(text.as_bytes()),
            }
        })
        .collect())
}

/// Parses the products of a page read by `digest_products_page` for which `wanted(index)` is
/// true; None in the places of the others. A page wanted whole takes the one-pass parse.
pub fn parse_page_entries(
    body: &[u8],
    entries: &[RawEntry],
    wanted: impl Fn(usize) -> bool,
) -> Result<Vec<Option<ParsedProduct>>, ErrorKind> {
    if (0..entries.len()).all(&wanted) {
        let products = parse_products_page(body)?;
        if products.len() == entries.len() {
            return Ok(products.into_iter().map(Some).collect());
        }
    }
    let mut scratch = Vec::with_capacity(16 * 1024);
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            if !wanted(index) {
                return Ok(None);
            }
            let raw: &RawValue = serde_json::from_slice(&body[entry.range.clone()])
                .map_err(|e| ErrorKind::BadJson(e.to_string()))?;
            parse_raw_product(raw, index, &mut scratch).map(Some)
        })
        .collect()
}

/// Parses a /products.json page. Any unusable product fails the whole page, naming it.
pub fn parse_products_page(body: &[u8]) -> Result<Vec<ParsedProduct>, ErrorKind> {
    let mut scratch = Vec::with_capacity(16 * 1024);
    match wire::split_products_page(body, |raw, wire| {
        let product = Product::from_wire(wire).ok()?;
        let content_hash = product.content_hash(&mut scratch);
        Some(ParsedProduct {
            product,
            content_hash,
            raw_json: raw.to_owned(),
            raw_hash: raw_digest(raw.as_bytes()).hash,
        })
    }) {
        Some(products) => Ok(products),
        // Anything unusual: the two-pass parse below, which also names the failure.
        None => parse_products_page_checked(body),
    }
}

/// The reference parse: the whole page as raw values first, then each product on its own.
fn parse_products_page_checked(body: &[u8]) -> Result<Vec<ParsedProduct>, ErrorKind> {
    let page: wire::ProductsPage =
        serde_json::from_slice(body).map_err(|e| ErrorKind::BadJson(e.to_string()))?;
    let mut scratch = Vec::with_capacity(16 * 1024);
    page.products
        .iter()
        .enumerate()
        .map(|(index, raw)| parse_raw_product(raw, index, &mut scratch))
        .collect()
}

/// A products page read lazily: every product's id in page order, and the full parse only of
/// the products a caller still needs (a collection page whose products were mostly listed
/// already costs an id scan instead of a parse and a hash per product).
pub struct LazyPage<'a> {
    raws: Vec<&'a RawValue>,
    pub ids: Vec<i64>,
}

impl<'a> LazyPage<'a> {
    /// Reads the page's structure and ids; a product without an id fails the page, named.
    pub fn read(body: &'a [u8]) -> Result<LazyPage<'a>, ErrorKind> {
        #[derive(Deserialize)]
        struct Id {
            id: i64,
        }
        let page: wire::ProductsPage =
            serde_json::from_slice(body).map_err(|e| ErrorKind::BadJson(e.to_string()))?;
        let ids = page
            .products
            .iter()
            .enumerate()
            .map(|(index, raw)| match serde_json::from_str::<Id>(raw.get()) {
                Ok(id) => Ok(id.id),
                // The full parse names the product and says what is wrong with it.
                Err(_) => parse_raw_product(raw, index, &mut Vec::new()).map(|p| p.product.id),
            })
            .collect::<Result<_, _>>()?;
        Ok(LazyPage {
            raws: page.products,
            ids,
        })
    }

    /// Fully parses the products for which `wanted(index)` is true, in page order.
    pub fn parse(&self, wanted: impl Fn(usize) -> bool) -> Result<Vec<ParsedProduct>, ErrorKind> {
        let mut scratch = Vec::with_capacity(16 * 1024);
        self.raws
            .iter()
            .enumerate()
            .filter(|(index, _)| wanted(*index))
            .map(|(index, raw)| parse_raw_product(raw, index, &mut scratch))
            .collect()
    }
}

/// Parses a /products/{handle}.json answer (the older single shape).
pub fn parse_single_product(body: &[u8]) -> Result<ParsedProduct, ErrorKind> {
    let single: wire::SingleProduct =
        serde_json::from_slice(body).map_err(|e| ErrorKind::BadJson(e.to_string()))?;
    parse_raw_product(single.product, 0, &mut Vec::new())
}

fn parse_raw_product(
    raw: &RawValue,
    index: usize,
    scratch: &mut Vec<u8>,
) -> Result<ParsedProduct, ErrorKind> {
    let bad = |reason: String| ErrorKind::BadProduct {
        index,
        product: label_of(raw.get()),
        reason,
    };
    let wire: wire::WireProduct =
        serde_json::from_str(raw.get()).map_err(|e| bad(e.to_string()))?;
    let product = Product::from_wire(wire).map_err(|e| bad(e.to_string()))?;
    let content_hash = product.content_hash(scratch);
    Ok(ParsedProduct {
        product,
        content_hash,
        raw_json: raw.get().to_owned(),
        raw_hash: raw_digest(raw.get().as_bytes()).hash,
    })
}

#[cfg(test)]
mod tests;
