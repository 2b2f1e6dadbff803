//! The catalogue's domain, apart from HTTP: products (canonical form, money, content hash),
//! collections and sitemap entries, parsed from any endpoint's shape (the listing, collection
//! feeds, the single-product `.json` and the Ajax `.js`), plus the raw digest that tells an
//! unchanged product before its typed parse. Knows nothing of requests or the database.

mod ajax;
mod collection;
mod digest;
mod error;
mod money;
mod nesting;
mod product;
pub mod sitemap;
mod wire;

pub use ajax::fill_availability;
pub use collection::{parse_collections_page, CollectionsPage, ParsedCollection};
pub use digest::{raw_digest, RawDigest};
pub use error::{identity_of, label_of, ParseError};
pub use money::Money;
pub use product::{Image, InvalidProduct, Product, ProductOption, Variant};

use serde::Deserialize;
use serde_json::value::RawValue;

/// Shopify answers page * limit beyond this with HTTP 400.
pub const LISTING_CAP: u32 = 25_000;
/// The largest page /products.json serves.
pub const MAX_PAGE_SIZE: u32 = 250;

/// Shopify's Ajax endpoint shows at most this many variants (and /products.json may too): a
/// product with exactly this many is possibly truncated.
pub const VARIANT_VIEW: usize = 100;

/// A product ready to store: canonical form, content hash, the JSON exactly as received and
/// its raw hash (see `raw_digest`).
#[derive(Debug, Clone)]
pub struct ParsedProduct {
    pub product: Product,
    pub content_hash: String,
    pub raw_json: String,
    /// The variants' `available` was filled in from /products/{handle}.js after hashing.
    pub availability_from_js: bool,
    /// The raw hash of `raw_json` (see `raw_digest`).
    pub raw_hash: i64,
}

impl ParsedProduct {
    /// The variant list has exactly [`VARIANT_VIEW`] entries: there may be more.
    pub fn variants_truncated(&self) -> bool {
        self.product.variants.len() == VARIANT_VIEW
    }

    /// This answer's availability against the stored one (`before`: variant id and value, None
    /// where never stated). Availability is compared here, apart from the content hash, which
    /// leaves it out so that endpoints that do not state it hash alike.
    pub fn compare_availability(&self, before: &[(i64, Option<bool>)]) -> AvailabilityNews {
        let mut news = AvailabilityNews::Same;
        for v in &self.product.variants {
            let (Some(now), Some((_, was))) = (v.available, before.iter().find(|b| b.0 == v.id))
            else {
                continue;
            };
            if *was == Some(now) {
                continue;
            }
            if was.is_some() && !self.availability_from_js {
                return AvailabilityNews::Changed;
            }
            news = AvailabilityNews::Filled;
        }
        news
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

/// What an answer says about availability compared with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityNews {
    /// Nothing new: every stated value equals the stored one, or the answer is silent.
    Same,
    /// A value the store had not stated before, or one `.js` reports (outside the product
    /// JSON): brought up to date in place, the product unchanged.
    Filled,
    /// The product JSON states a value other than the one last stated: the product changed.
    Changed,
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
pub fn digest_products_page(body: &[u8]) -> Result<Vec<RawEntry>, ParseError> {
    let page = match read_products_page(body) {
        Ok(page) => page,
        // The reference parse names what is wrong (or accepts a page without products).
        Err(kind) => {
            return match parse_products_page(body) {
                Ok(page) if page.entries() == 0 => Ok(Vec::new()),
                Ok(_) => Err(kind),
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
/// true, each usable or for the quarantine; None in the places of the others. A page wanted
/// whole takes the one-pass parse.
pub fn parse_page_entries(
    body: &[u8],
    entries: &[RawEntry],
    wanted: impl Fn(usize) -> bool,
) -> Result<Vec<Option<Result<ParsedProduct, Unusable>>>, ParseError> {
    if (0..entries.len()).all(&wanted) {
        let page = parse_products_page_digested(body, Some(entries))?;
        if page.unusable.is_empty() && page.products.len() == entries.len() {
            return Ok(page.products.into_iter().map(|p| Some(Ok(p))).collect());
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
                .map_err(|e| ParseError::BadJson(e.to_string()))?;
            Ok(Some(parse_raw_product(
                raw,
                index,
                &mut scratch,
                Some(entry.digest.hash),
            )))
        })
        .collect()
}

/// A product (or collection) the store sent as valid JSON that cannot be used (no variants, a
/// field of the wrong type, ...): kept raw for the quarantine, with whatever identity can still be read.
#[derive(Debug, Clone)]
pub struct Unusable {
    /// Its id, when one can be read (a JSON integer or a string of digits).
    pub id: Option<i64>,
    pub handle: Option<String>,
    /// What is wrong with it, naming its place in the page and its id or handle.
    pub reason: String,
    pub raw_json: String,
}

/// One page of products: the usable ones, and those for the quarantine.
#[derive(Debug, Default)]
pub struct ParsedPage {
    pub products: Vec<ParsedProduct>,
    pub unusable: Vec<Unusable>,
}

impl ParsedPage {
    /// Every product the page held, usable or not (what decides whether the page was full).
    pub fn entries(&self) -> usize {
        self.products.len() + self.unusable.len()
    }
}

/// Parses a /products.json page. Only invalid JSON (or another shape) fails the page; each
/// unusable product goes to `unusable`, and the rest of the page is parsed.
pub fn parse_products_page(body: &[u8]) -> Result<ParsedPage, ParseError> {
    parse_products_page_digested(body, None)
}

/// `parse_products_page`, reusing the raw digests `digest_products_page` gave for this page
/// (in page order) when there are some.
fn parse_products_page_digested(
    body: &[u8],
    digested: Option<&[RawEntry]>,
) -> Result<ParsedPage, ParseError> {
    let mut scratch = Vec::with_capacity(16 * 1024);
    let mut index = 0;
    match wire::split_products_page(body, |raw, wire| {
        let known = digested.and_then(|entries| entries.get(index));
        index += 1;
        if nesting::too_deep(raw).is_some() {
            return None;
        }
        let product = Product::from_wire(wire).ok()?;
        let content_hash = product.content_hash(&mut scratch);
        Some(ParsedProduct {
            product,
            content_hash,
            raw_json: raw.to_owned(),
            availability_from_js: false,
            raw_hash: known.map_or_else(|| raw_digest(raw.as_bytes()).hash, |e| e.digest.hash),
        })
    }) {
        Some(products) => Ok(ParsedPage {
            products,
            unusable: Vec::new(),
        }),
        // Anything unusual: the two-pass parse below, which also names the failures.
        None => parse_products_page_checked(body),
    }
}

/// The reference parse: the whole page as raw values first, then each product on its own.
fn parse_products_page_checked(body: &[u8]) -> Result<ParsedPage, ParseError> {
    let page = read_products_page(body)?;
    let mut scratch = Vec::with_capacity(16 * 1024);
    let mut parsed = ParsedPage::default();
    for (index, raw) in page.products.iter().enumerate() {
        match parse_raw_product(raw, index, &mut scratch, None) {
            Ok(product) => parsed.products.push(product),
            Err(unusable) => parsed.unusable.push(unusable),
        }
    }
    Ok(parsed)
}

/// The page as raw products. Only a JSON object is a page (serde would also read a struct from
/// an array).
fn read_products_page(body: &[u8]) -> Result<wire::ProductsPage<'_>, ParseError> {
    if !error::is_object(body) {
        return Err(ParseError::BadJson("not a JSON object".into()));
    }
    serde_json::from_slice(body).map_err(|e| ParseError::BadJson(e.to_string()))
}

/// A products page read lazily: every product's id in page order, and the full parse only of
/// the products a caller still needs (a collection page whose products were mostly listed
/// already costs an id scan instead of a parse and a hash per product).
pub struct LazyPage<'a> {
    raws: Vec<&'a RawValue>,
    /// Each product's id in page order; None when it has no usable id.
    pub ids: Vec<Option<i64>>,
}

impl<'a> LazyPage<'a> {
    /// Reads the page's structure and ids; only invalid JSON fails the page.
    pub fn read(body: &'a [u8]) -> Result<LazyPage<'a>, ParseError> {
        #[derive(Deserialize)]
        struct Id {
            id: i64,
        }
        let page = read_products_page(body)?;
        let ids = page
            .products
            .iter()
            .map(|raw| match serde_json::from_str::<Id>(raw.get()) {
                Ok(id) => Some(id.id),
                Err(_) => identity_of(raw.get()).0,
            })
            .collect();
        Ok(LazyPage {
            raws: page.products,
            ids,
        })
    }

    /// Fully parses the products for which `wanted(index)` is true, in page order.
    pub fn parse(&self, wanted: impl Fn(usize) -> bool) -> ParsedPage {
        let mut scratch = Vec::with_capacity(16 * 1024);
        let mut parsed = ParsedPage::default();
        for (index, raw) in self.raws.iter().enumerate().filter(|(i, _)| wanted(*i)) {
            match parse_raw_product(raw, index, &mut scratch, None) {
                Ok(product) => parsed.products.push(product),
                Err(unusable) => parsed.unusable.push(unusable),
            }
        }
        parsed
    }
}

/// Parses a /products/{handle}.json answer (the older single shape). Invalid JSON is an
/// error; a valid answer whose product cannot be used is `Ok(Err(..))`, for the quarantine.
pub fn parse_single_product(body: &[u8]) -> Result<Result<ParsedProduct, Unusable>, ParseError> {
    let single: wire::SingleProduct =
        serde_json::from_slice(body).map_err(|e| ParseError::BadJson(e.to_string()))?;
    Ok(parse_raw_product(single.product, 0, &mut Vec::new(), None))
}

/// The id of the product in a /products/{handle}.json answer, whatever else is wrong with it;
/// None when the answer is not that shape or the id cannot be read.
pub fn single_product_id(body: &[u8]) -> Option<i64> {
    let single: wire::SingleProduct = serde_json::from_slice(body).ok()?;
    identity_of(single.product.get()).0
}

/// The content hash of a stored product JSON as this binary computes it; None when this binary
/// would not accept that JSON as a product.
pub fn content_hash_of(raw_json: &str) -> Option<String> {
    let raw: &RawValue = serde_json::from_str(raw_json).ok()?;
    parse_raw_product(raw, 0, &mut Vec::new(), None)
        .ok()
        .map(|p| p.content_hash)
}

/// The tags of a stored product JSON in the order the store sent them (the canonical product
/// sorts them for the hash); None when the JSON is not a product object.
pub fn tags_as_sent(raw_json: &str) -> Option<Vec<String>> {
    serde_json::from_str::<wire::WireTags>(raw_json)
        .ok()
        .map(|t| t.tags)
}

/// Parses one product; `raw_hash` is its raw digest's hash when already known (from
/// `digest_products_page`), computed here otherwise.
fn parse_raw_product(
    raw: &RawValue,
    index: usize,
    scratch: &mut Vec<u8>,
    raw_hash: Option<i64>,
) -> Result<ParsedProduct, Unusable> {
    let unusable = |reason: String| {
        let (id, handle) = identity_of(raw.get());
        let reason = format!(
            "product #{index} ({}) is unusable: {reason}",
            label_of(raw.get())
        );
        Unusable {
            id,
            handle,
            reason,
            raw_json: raw.get().to_owned(),
        }
    };
    if let Some(reason) = nesting::too_deep(raw.get()) {
        return Err(unusable(reason));
    }
    let wire: wire::WireProduct =
        serde_json::from_str(raw.get()).map_err(|e| unusable(e.to_string()))?;
    let product = Product::from_wire(wire).map_err(|e| unusable(e.to_string()))?;
    let content_hash = product.content_hash(scratch);
    Ok(ParsedProduct {
        product,
        content_hash,
        raw_json: raw.get().to_owned(),
        availability_from_js: false,
        raw_hash: raw_hash.unwrap_or_else(|| raw_digest(raw.get().as_bytes()).hash),
    })
}

#[cfg(test)]
mod tests;
