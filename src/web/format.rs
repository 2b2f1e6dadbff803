//! Words and links the pages share: a change as a phrase, durations, and the paths of a
//! store's and a product's pages (names percent-encoded, so any store name is one segment).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::change::{ChangeKind, Membership, VariantField};
use crate::store::ChangeRow;

/// Bytes kept as they are in a path segment or query value.
const KEPT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `text` percent-encoded as one path segment or query value.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, KEPT).to_string()
}

pub fn store_path(store: &str) -> String {
    format!("/stores/{}", encode(store))
}

pub fn product_path(store: &str, product_id: i64) -> String {
    format!("{}/products/{product_id}", store_path(store))
}

/// A value of a change as people read it.
fn shown(kind: ChangeKind, value: Option<&str>) -> String {
    match (kind, value) {
        (ChangeKind::Variant(VariantField::Available), Some("1")) => "in stock".into(),
        (ChangeKind::Variant(VariantField::Available), Some("0")) => "out of stock".into(),
        (_, Some(v)) => v.to_string(),
        (ChangeKind::Variant(VariantField::CompareAtPrice), None) => "none".into(),
        (_, None) => "unknown".into(),
    }
}

/// What happened, without whose product: "price 19.99 → 17.99", "product deleted",
/// "added to collection Sale".
pub fn describe(c: &ChangeRow) -> String {
    let old = shown(c.kind, c.old_value.as_deref());
    let new = shown(c.kind, c.new_value.as_deref());
    let variant = match (&c.variant_title, c.variant_id) {
        (Some(title), _) => format!("variant {title}: "),
        (None, Some(id)) => format!("variant {id}: "),
        (None, None) => String::new(),
    };
    let collection = c.collection.as_deref().unwrap_or("(gone)");
    match c.kind {
        ChangeKind::Product(event) => format!("product {event}"),
        ChangeKind::Variant(VariantField::Added) => format!("{variant}added at {new}"),
        ChangeKind::Variant(VariantField::Removed) => format!("{variant}removed (was {old})"),
        ChangeKind::Collection(Membership::Added) => format!("added to collection {collection}"),
        ChangeKind::Collection(Membership::Removed) => {
            format!("removed from collection {collection}")
        }
        ChangeKind::Variant(VariantField::CompareAtPrice) => {
            format!("{variant}compare-at {old} → {new}")
        }
        ChangeKind::Variant(VariantField::Available) => format!("{variant}{old} → {new}"),
        ChangeKind::Variant(VariantField::Price) => format!("{variant}price {old} → {new}"),
    }
}

/// The product's name in a change: its title, else its handle, else its id.
pub fn product_name(c: &ChangeRow) -> String {
    c.title
        .clone()
        .or_else(|| c.handle.clone())
        .unwrap_or_else(|| format!("product {}", c.product_id))
}

/// "4 s", "3 min 5 s", "2 h 10 min".
pub fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_store_name_is_one_segment() {
        assert_eq!(store_path("127.0.0.1:80"), "/stores/127.0.0.1%3A80");
        assert_eq!(store_path("a/b ?#"), "/stores/a%2Fb%20%3F%23");
        assert_eq!(duration(3725), "1 h 2 min");
    }
}
