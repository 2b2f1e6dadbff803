//! Each sink's body for a change, rendered once when the outbox row is written (a retry sends
//! the same bytes): the Standard Webhooks JSON (`webhook`), Slack and Discord messages
//! (`chat`), and ntfy's JSON publish (`ntfy`). Store text is escaped for each format.

mod chat;
mod ntfy;
mod webhook;

pub use ntfy::publish_url;

use super::event::{AlertChange, AlertKind};
use crate::config::{SinkConfig, SinkKind};

/// The body `sink` gets for `change`.
pub fn body(sink: &SinkConfig, change: &AlertChange) -> String {
    match sink.kind {
        SinkKind::Webhook => webhook::body(change),
        SinkKind::Slack => chat::slack(change),
        SinkKind::Discord => chat::discord(change),
        SinkKind::Ntfy => ntfy::body(&sink.url, change),
    }
}

/// A shopmirror timestamp ('YYYY-MM-DD HH:MM:SS', UTC) as RFC 3339.
fn rfc3339(observed_at: &str) -> String {
    format!("{}Z", observed_at.replacen(' ', "T", 1))
}

/// Hundredths as a decimal string: -500 -> "-5.00".
pub(crate) fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs())
}

/// The price change in hundredths and percent of the old price (two decimals).
fn difference(change: &AlertChange) -> Option<(i64, f64)> {
    let (_, old, new) = change.variant.as_ref()?;
    let amount = new.price_cents - old.price_cents;
    let percent = if old.price_cents != 0 {
        (amount as f64 * 10000.0 / old.price_cents as f64).round() / 100.0
    } else {
        0.0
    };
    Some((amount, percent))
}

/// The one-line headline and a detail line, as plain text (each format escapes them).
fn lines(change: &AlertChange) -> (String, String) {
    let p = &change.product;
    let variant = change.variant.as_ref();
    let named = match variant {
        Some((v, _, _)) if !v.title.is_empty() && v.title != "Default Title" => {
            format!("{} ({})", p.title, v.title)
        }
        _ => p.title.clone(),
    };
    let headline = match change.kind {
        AlertKind::PriceDrop => format!("Price drop: {named}"),
        AlertKind::PriceRise => format!("Price rise: {named}"),
        AlertKind::BackInStock => format!("Back in stock: {named}"),
        AlertKind::OutOfStock => format!("Out of stock: {named}"),
        AlertKind::ProductAdded => format!("New product: {named}"),
        AlertKind::ProductRemoved => format!("Product removed: {named}"),
        AlertKind::ProductRestored => format!("Product back: {named}"),
    };
    let detail = match (variant, difference(change)) {
        (Some((_, old, new)), Some((amount, percent))) if amount != 0 => format!(
            "{} -> {} ({}{}, {percent:+}%) at {}",
            old.price,
            new.price,
            if amount > 0 { "+" } else { "" },
            decimal(amount),
            change.store
        ),
        (Some((_, _, new)), _) => format!("{} at {}", new.price, change.store),
        _ => format!("at {}", change.store),
    };
    (headline, detail)
}

/// A sample change for `alerts test`.
pub fn sample() -> AlertChange {
    use super::event::{AlertProduct, AlertVariant, VariantState};
    AlertChange {
        kind: AlertKind::PriceDrop,
        source: "test".into(),
        store: "example".into(),
        observed_at: crate::store::now_text(),
        product: AlertProduct {
            id: 1,
            handle: "sample-product".into(),
            title: "Sample product (shopmirror alerts test)".into(),
            vendor: "shopmirror".into(),
            product_type: "Test".into(),
            tags: vec!["test".into()],
            url: "https://example.com/products/sample-product".into(),
            collections: Vec::new(),
        },
        variant: Some((
            AlertVariant {
                id: 2,
                title: "Default Title".into(),
                sku: Some("SAMPLE-1".into()),
            },
            VariantState {
                price: "20.00".into(),
                price_cents: 2000,
                available: Some(true),
            },
            VariantState {
                price: "15.00".into(),
                price_cents: 1500,
                available: Some(true),
            },
        )),
    }
}

#[cfg(test)]
mod tests;
