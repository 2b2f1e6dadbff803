//! The canonical product: one normalized form whichever endpoint a product came from, and the
//! content hash over its real content. Values stores change on every response without any real
//! change (product and variant `updated_at`) and representation noise (compare-at "", "0.00"
//! or null; trailing price zeros; sku "" or null; tag order) never reach the hash, and neither
//! does availability, which not every endpoint states: it is compared apart (see
//! `ParsedProduct::stated_availability`). A product whose rows could not hold it faithfully (two
//! variants with one id, two options at one position, a price hundredths cannot hold exactly) is
//! refused, for the quarantine.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::money::Money;
use super::wire::{WireProduct, WireVariant};

/// A product as shopmirror stores and compares it.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: i64,
    pub handle: String,
    pub title: String,
    pub body_html: String,
    pub vendor: String,
    pub product_type: String,
    /// Sorted, so the list shape's array and the single shape's string agree.
    pub tags: Vec<String>,
    pub published_at: Option<String>,
    pub created_at: Option<String>,
    pub options: Vec<ProductOption>,
    pub variants: Vec<Variant>,
    pub images: Vec<Image>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProductOption {
    pub position: i64,
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub id: i64,
    pub position: i64,
    pub title: String,
    pub option1: Option<String>,
    pub option2: Option<String>,
    pub option3: Option<String>,
    pub sku: Option<String>,
    /// The exact price string the store sent.
    #[serde(skip)]
    pub price: String,
    #[serde(skip)]
    pub price_cents: i64,
    /// Canonical price text: what the hash sees.
    #[serde(rename = "price")]
    pub price_canonical: String,
    /// The exact compare-at string the store sent, if any.
    #[serde(skip)]
    pub compare_at_price: Option<String>,
    /// Hundredths of a real compare-at price; None for null, "" and zero.
    pub compare_at_price_cents: Option<i64>,
    /// Stated by the listing shape, derived from the single shape's inventory fields, or None
    /// where the answer does not say. Outside the content hash.
    #[serde(skip)]
    pub available: Option<bool>,
    pub requires_shipping: Option<bool>,
    pub taxable: Option<bool>,
    pub grams: Option<i64>,
    pub featured_image_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub id: i64,
    pub position: i64,
    pub src: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub variant_ids: Vec<i64>,
}

/// Why a product could not be normalized.
#[derive(Debug, thiserror::Error)]
pub enum InvalidProduct {
    #[error("variant {variant} has no price")]
    MissingPrice { variant: i64 },
    #[error("variant {variant} has price {price:?}, which is not a decimal amount")]
    BadPrice { variant: i64, price: String },
    #[error("has no variants")]
    NoVariants,
    #[error("variant {variant} has {which} {price:?}, which hundredths cannot hold exactly")]
    InexactPrice {
        variant: i64,
        which: &'static str,
        price: String,
    },
    #[error("variant id {variant} appears twice")]
    DuplicateVariant { variant: i64 },
    #[error("two options at position {position}")]
    DuplicateOptionPosition { position: i64 },
}

impl Product {
    /// Builds the canonical product from either wire shape.
    pub fn from_wire(wire: WireProduct) -> Result<Product, InvalidProduct> {
        if wire.variants.is_empty() {
            return Err(InvalidProduct::NoVariants);
        }
        let mut tags = wire.tags;
        tags.sort();
        let variants = wire
            .variants
            .into_iter()
            .enumerate()
            .map(|(index, v)| variant_from_wire(v, index))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(variant) = first_repeat(variants.iter().map(|v| v.id)) {
            return Err(InvalidProduct::DuplicateVariant { variant });
        }
        let options: Vec<ProductOption> = wire
            .options
            .into_iter()
            .enumerate()
            .map(|(index, o)| ProductOption {
                position: o.position.unwrap_or(index as i64 + 1),
                name: o.name,
                values: o.values,
            })
            .collect();
        if let Some(position) = first_repeat(options.iter().map(|o| o.position)) {
            return Err(InvalidProduct::DuplicateOptionPosition { position });
        }
        let images = wire
            .images
            .into_iter()
            .enumerate()
            .map(|(index, i)| Image {
                id: i.id,
                position: i.position.unwrap_or(index as i64 + 1),
                src: i.src,
                width: i.width,
                height: i.height,
                variant_ids: i.variant_ids,
            })
            .collect();
        Ok(Product {
            id: wire.id,
            handle: wire.handle,
            title: wire.title,
            body_html: wire.body_html.unwrap_or_default(),
            vendor: wire.vendor.unwrap_or_default(),
            product_type: wire.product_type.unwrap_or_default(),
            tags,
            published_at: wire.published_at,
            created_at: wire.created_at,
            options,
            variants,
            images,
        })
    }

    /// SHA-256 of the canonical content, hex encoded. `scratch` is reused between products so
    /// hashing a page allocates one buffer, not one per product.
    pub fn content_hash(&self, scratch: &mut Vec<u8>) -> String {
        scratch.clear();
        serde_json::to_writer(&mut *scratch, self).expect("serializing to memory cannot fail");
        hex::encode(Sha256::digest(scratch.as_slice()))
    }
}

/// The first value met a second time.
fn first_repeat(values: impl Iterator<Item = i64>) -> Option<i64> {
    let mut met = std::collections::HashSet::new();
    values.into_iter().find(|v| !met.insert(*v))
}

fn variant_from_wire(v: WireVariant, index: usize) -> Result<Variant, InvalidProduct> {
    let price_text = v
        .price
        .ok_or(InvalidProduct::MissingPrice { variant: v.id })?;
    let price = Money::parse(&price_text).ok_or_else(|| InvalidProduct::BadPrice {
        variant: v.id,
        price: price_text.clone(),
    })?;
    let inexact = |which, price: &str| InvalidProduct::InexactPrice {
        variant: v.id,
        which,
        price: price.to_owned(),
    };
    let price_cents = price.cents().ok_or_else(|| inexact("price", &price_text))?;
    // A compare-at that is not a decimal at all means none (as null, "" and "0.00" do); one
    // that is a decimal must fit hundredths like the price.
    let compare_at_price_cents = match v.compare_at_price.as_deref().and_then(Money::parse) {
        Some(m) if !m.is_zero() => {
            let text = v.compare_at_price.as_deref().unwrap_or_default();
            Some(m.cents().ok_or_else(|| inexact("compare_at_price", text))?)
        }
        _ => None,
    };
    // The single shape has no `available`: derive it the way Shopify does.
    let available = v.available.or_else(|| {
        let quantity = v.inventory_quantity?;
        let untracked = v.inventory_management.is_none();
        let oversell = v.inventory_policy.as_deref() == Some("continue");
        Some(untracked || oversell || quantity > 0)
    });
    Ok(Variant {
        id: v.id,
        position: v.position.unwrap_or(index as i64 + 1),
        title: v.title.unwrap_or_default(),
        option1: v.option1,
        option2: v.option2,
        option3: v.option3,
        sku: v.sku.filter(|s| !s.is_empty()),
        price_cents,
        price_canonical: price.canonical(),
        price: price_text,
        compare_at_price: v.compare_at_price,
        compare_at_price_cents,
        available,
        requires_shipping: v.requires_shipping,
        taxable: v.taxable,
        grams: v.grams,
        featured_image_id: v.featured_image.map(|f| f.id).or(v.image_id),
    })
}
