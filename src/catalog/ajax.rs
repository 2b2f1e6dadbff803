//! Shopify's Ajax product endpoint, /products/{handle}.js: used only for what the single shape
//! of /products/{handle}.json lacks, per-variant `available`. Its money is in minor units and
//! in the visitor's currency, and it shows at most 100 variants, so its availability is taken
//! only when every variant it shows exists in the `.json` answer at the same price (then the
//! currency is the store's). It never touches a price or the content hash.

use serde::Deserialize;

use super::{ParseError, ParsedProduct};

#[derive(Deserialize)]
struct AjaxProduct {
    id: i64,
    variants: Vec<AjaxVariant>,
}

#[derive(Deserialize)]
struct AjaxVariant {
    id: i64,
    /// Minor units (hundredths), in the visitor's currency.
    price: i64,
    #[serde(default)]
    available: Option<bool>,
}

/// Fills the unknown availability of `product`'s variants from a `.js` answer when its prices
/// agree with the product's; returns whether it did. The hash was computed before and stays.
pub fn fill_availability(product: &mut ParsedProduct, body: &[u8]) -> Result<bool, ParseError> {
    let ajax: AjaxProduct =
        serde_json::from_slice(body).map_err(|e| ParseError::BadJson(e.to_string()))?;
    let variants = &mut product.product.variants;
    let agree = ajax.id == product.product.id
        && !ajax.variants.is_empty()
        && ajax.variants.iter().all(|a| {
            variants
                .iter()
                .any(|v| v.id == a.id && v.price_cents == a.price)
        });
    if !agree {
        return Ok(false);
    }
    for v in variants.iter_mut().filter(|v| v.available.is_none()) {
        v.available = ajax
            .variants
            .iter()
            .find(|a| a.id == v.id)
            .and_then(|a| a.available);
    }
    product.availability_from_js = true;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_single_product;

    fn single() -> ParsedProduct {
        let body = br#"{"product":{"id":7,"title":"T","handle":"t","variants":[
            {"id":1,"price":"19.99"},{"id":2,"price":"5.00"}]}}"#;
        parse_single_product(body).unwrap().unwrap()
    }

    #[test]
    fn availability_is_filled_only_when_prices_agree_and_the_hash_stays() {
        let mut p = single();
        let hash = p.content_hash.clone();
        let js = br#"{"id":7,"variants":[{"id":1,"price":1999,"available":true},
                                          {"id":2,"price":500,"available":false}]}"#;
        assert!(fill_availability(&mut p, js).unwrap());
        let available: Vec<_> = p.product.variants.iter().map(|v| v.available).collect();
        assert_eq!(available, [Some(true), Some(false)]);
        assert_eq!(p.availability_source(), Some("js"));
        assert_eq!(p.content_hash, hash);
        assert_eq!(p.product.variants[0].price, "19.99");

        let mut p = single();
        let other_currency = br#"{"id":7,"variants":[{"id":1,"price":1837,"available":true},
                                                      {"id":2,"price":460,"available":true}]}"#;
        assert!(!fill_availability(&mut p, other_currency).unwrap());
        assert!(p.product.variants.iter().all(|v| v.available.is_none()));
        assert_eq!(p.availability_source(), None);
    }
}
