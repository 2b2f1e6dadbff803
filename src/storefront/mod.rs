//! Talking to stores: the HTTP client (client) and its policy (guard: where it may go; pacing:
//! politeness per host; retry: what is retried and how long it waits; breaker: leaving a
//! troubled store alone), the wire shapes (wire), and turning answers into canonical, hashed
//! products (product, money), collections (collection) and sitemap entries (sitemap). Nothing
//! here touches the database.

mod ajax;
mod breaker;
mod client;
mod collection;
mod error;
mod guard;
mod money;
mod pacing;
mod product;
mod retry;
pub mod sitemap;
mod wire;

pub use ajax::fill_availability;
pub use breaker::BreakerState;
pub use client::{Client, ClientSettings, StoreOptions, StoreReport};
pub use collection::{parse_collections_page, ParsedCollection};
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

/// Shopify's Ajax endpoint shows at most this many variants (and /products.json may too): a
/// product with exactly this many is possibly truncated.
pub const VARIANT_VIEW: usize = 100;

/// A product ready to store: canonical form, content hash and the JSON exactly as received.
#[derive(Debug, Clone)]
pub struct ParsedProduct {
    pub product: Product,
    pub content_hash: String,
    pub raw_json: String,
    /// The variants' `available` was filled in from /products/{handle}.js after hashing.
    pub availability_from_js: bool,
}

impl ParsedProduct {
    /// The variant list has exactly [`VARIANT_VIEW`] entries: there may be more.
    pub fn variants_truncated(&self) -> bool {
        self.product.variants.len() == VARIANT_VIEW
    }

    /// Where the variants' availability came from: the product JSON, the `.js` endpoint, or
    /// nowhere (None) when some variant's is unknown.
    pub fn availability_source(&self) -> Option<&'static str> {
        if self.product.variants.iter().any(|v| v.available.is_none()) {
            None
        } else if self.availability_from_js {
            Some("js")
        } else {
            Some("product")
        }
    }
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
            availability_from_js: false,
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
        availability_from_js: false,
    })
}

#[cfg(test)]
mod tests;
