//! ntfy's JSON publish: posted to the server's root with the topic (the sink URL's last path
//! segment), a plain-text title and message (ntfy renders no markup unless asked; control
//! characters are removed), click = the product's page, and tags.

use serde_json::json;
use url::Url;

use super::lines;
use crate::alerts::event::{AlertChange, AlertKind};

pub(super) fn body(sink: &Url, change: &AlertChange) -> String {
    let topic = sink
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default();
    let (headline, detail) = lines(change);
    let tag = match change.kind {
        AlertKind::PriceDrop => "chart_with_downwards_trend",
        AlertKind::PriceRise => "chart_with_upwards_trend",
        AlertKind::BackInStock => "white_check_mark",
        AlertKind::OutOfStock => "x",
        AlertKind::ProductAdded => "new",
        AlertKind::ProductRemoved => "wastebasket",
        AlertKind::ProductRestored => "recycle",
    };
    json!({
        "topic": topic,
        "title": plain(&headline),
        "message": plain(&detail),
        "click": change.product.url,
        "tags": [tag, plain(&change.store)],
    })
    .to_string()
}

/// Text without control characters.
fn plain(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Where ntfy's JSON publish goes: the sink URL without its topic segment.
pub fn publish_url(sink: &Url) -> Url {
    let mut root = sink.clone();
    if let Ok(mut segments) = root.path_segments_mut() {
        segments.pop();
    }
    root
}
