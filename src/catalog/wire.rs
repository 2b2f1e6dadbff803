//! The JSON shapes stores send, as typed serde structs. One set of structs reads both the list
//! shape (/products.json) and the older single shape (/products/{handle}.json): fields only one
//! shape has are optional, and loosely typed values (tags as array or comma string, prices as
//! string or number) are accepted in every form seen in real captures. A listing page in its
//! usual shape is split and parsed in one pass (`split_products_page`).

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A page of /products.json (or a collection's products.json): products kept raw so each can be
/// stored exactly as received and parsed on its own.
#[derive(Deserialize)]
pub struct ProductsPage<'a> {
    #[serde(borrow)]
    pub products: Vec<&'a RawValue>,
}

/// The single-product endpoint's wrapper.
#[derive(Deserialize)]
pub struct SingleProduct<'a> {
    #[serde(borrow)]
    pub product: &'a RawValue,
}

/// One pass over a page shaped exactly `{"products":[{...},...]}`: each product is parsed into
/// its typed form straight from the page, and its exact text is sliced out by byte offset, so
/// the page is not scanned a second time for raw values. `each` turns one product into an item.
/// None when the page has any other shape or anything fails; the caller then uses the two-pass
/// parse, which accepts the same pages and reports the failure.
pub fn split_products_page<T>(
    body: &[u8],
    mut each: impl FnMut(&str, WireProduct) -> Option<T>,
) -> Option<Vec<T>> {
    // Validated once here, so the parser and the raw slices need not check UTF-8 again.
    let text = std::str::from_utf8(body).ok()?;
    let mut at = skip_ws(body, 0);
    at = expect(body, at, b"{")?;
    at = expect(body, skip_ws(body, at), b"\"products\"")?;
    at = expect(body, skip_ws(body, at), b":")?;
    at = expect(body, skip_ws(body, at), b"[")?;
    let mut items = Vec::new();
    at = skip_ws(body, at);
    if body.get(at) == Some(&b']') {
        at += 1;
    } else {
        loop {
            if body.get(at) != Some(&b'{') {
                return None;
            }
            let mut stream =
                serde_json::Deserializer::from_str(text.get(at..)?).into_iter::<WireProduct>();
            let wire = stream.next()?.ok()?;
            let end = at + stream.byte_offset();
            items.push(each(text.get(at..end)?, wire)?);
            at = skip_ws(body, end);
            match body.get(at) {
                Some(b',') => at = skip_ws(body, at + 1),
                Some(b']') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    at = expect(body, skip_ws(body, at), b"}")?;
    (skip_ws(body, at) == body.len()).then_some(items)
}

fn skip_ws(body: &[u8], mut at: usize) -> usize {
    while matches!(body.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

fn expect(body: &[u8], at: usize, token: &[u8]) -> Option<usize> {
    body.get(at..at + token.len())
        .filter(|found| *found == token)
        .map(|_| at + token.len())
}

#[derive(Deserialize)]
pub struct WireProduct {
    pub id: i64,
    pub title: String,
    pub handle: String,
    #[serde(default)]
    pub body_html: Option<String>,
    #[serde(default)]
    pub published_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    #[serde(default, deserialize_with = "tags")]
    pub tags: Vec<String>,
    pub variants: Vec<WireVariant>,
    #[serde(default)]
    pub images: Vec<WireImage>,
    #[serde(default)]
    pub options: Vec<WireOption>,
}

/// Only the tags of a product, in the order the store sent them.
#[derive(Deserialize)]
pub struct WireTags {
    #[serde(default, deserialize_with = "tags")]
    pub tags: Vec<String>,
}

#[derive(Deserialize)]
pub struct WireVariant {
    pub id: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub option1: Option<String>,
    #[serde(default)]
    pub option2: Option<String>,
    #[serde(default)]
    pub option3: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub requires_shipping: Option<bool>,
    #[serde(default)]
    pub taxable: Option<bool>,
    #[serde(default)]
    pub featured_image: Option<WireImageRef>,
    /// Single shape: the variant's image id instead of a featured_image object.
    #[serde(default)]
    pub image_id: Option<i64>,
    #[serde(default)]
    pub available: Option<bool>,
    #[serde(deserialize_with = "string_or_number")]
    pub price: Option<String>,
    #[serde(default)]
    pub grams: Option<i64>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub compare_at_price: Option<String>,
    #[serde(default)]
    pub position: Option<i64>,
    /// Single shape only: stock, from which availability is derived.
    #[serde(default)]
    pub inventory_quantity: Option<i64>,
    #[serde(default)]
    pub inventory_policy: Option<String>,
    #[serde(default)]
    pub inventory_management: Option<String>,
}

#[derive(Deserialize)]
pub struct WireImageRef {
    pub id: i64,
}

#[derive(Deserialize)]
pub struct WireImage {
    pub id: i64,
    #[serde(default)]
    pub position: Option<i64>,
    pub src: String,
    #[serde(default)]
    pub width: Option<i64>,
    #[serde(default)]
    pub height: Option<i64>,
    #[serde(default)]
    pub variant_ids: Vec<i64>,
}

#[derive(Deserialize)]
pub struct WireOption {
    pub name: String,
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// Tags arrive as an array (list shape) or one comma-separated string (single shape).
fn tags<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct TagsVisitor;
    impl<'de> Visitor<'de> for TagsVisitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of tags or a comma-separated string")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(text
                .split(',')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut tags = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(tag) = seq.next_element::<String>()? {
                tags.push(tag);
            }
            Ok(tags)
        }
    }
    deserializer.deserialize_any(TagsVisitor)
}

/// Prices arrive as strings ("19.99"), occasionally as numbers, or null.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct PriceVisitor;
    impl Visitor<'_> for PriceVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a price string, number or null")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(text.to_owned()))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(PriceVisitor)
}
