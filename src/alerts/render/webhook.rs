//! The webhook body: `{"type", "timestamp", "data": {store, product, variant, old, new,
//! change}}`, prices as decimal strings. `<`, `>` and `&` are written as JSON escapes, so a
//! receiver that pastes a value into HTML cannot be handed markup.

use serde_json::{json, Value};

use super::{decimal, difference, rfc3339};
use crate::alerts::event::AlertChange;

pub(super) fn body(change: &AlertChange) -> String {
    let p = &change.product;
    let (variant, old, new) = match &change.variant {
        Some((v, old, new)) => (
            json!({"id": v.id, "title": v.title, "sku": v.sku}),
            json!({"price": old.price, "available": old.available}),
            json!({"price": new.price, "available": new.available}),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    let delta = match difference(change) {
        Some((amount, percent)) => json!({"amount": decimal(amount), "percent": percent}),
        None => Value::Null,
    };
    let value = json!({
        "type": change.kind.event_type(),
        "timestamp": rfc3339(&change.observed_at),
        "data": {
            "store": change.store,
            "product": {
                "id": p.id,
                "handle": p.handle,
                "title": p.title,
                "vendor": p.vendor,
                "product_type": p.product_type,
                "url": p.url,
            },
            "variant": variant,
            "old": old,
            "new": new,
            "change": delta,
        }
    });
    let text = serde_json::to_string(&value).expect("payload serializes");
    // Outside strings JSON has none of these characters, so this only touches string contents.
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
