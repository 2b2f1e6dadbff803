//! Each format's body, with hostile store text.

use serde_json::Value;

use super::*;
use crate::config::SinkConfig;

fn sink(kind: SinkKind, url: &str) -> SinkConfig {
    SinkConfig {
        name: "s".into(),
        kind,
        url: url.parse().unwrap(),
        secret: None,
    }
}

fn hostile() -> AlertChange {
    let mut change = sample();
    change.product.title = "<script>alert(1)</script> @everyone *bold* [x](http://evil)".into();
    change
}

#[test]
fn webhook_carries_the_change_with_markup_escaped() {
    let body = body(&sink(SinkKind::Webhook, "http://h/"), &hostile());
    assert!(!body.contains('<') && !body.contains('>'), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "variant.price_dropped");
    assert_eq!(v["data"]["product"]["title"], hostile().product.title);
    assert_eq!(v["data"]["old"]["price"], "20.00");
    assert_eq!(v["data"]["new"]["price"], "15.00");
    assert_eq!(v["data"]["change"]["amount"], "-5.00");
    assert_eq!(v["data"]["change"]["percent"], -25.0);
    assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn slack_escapes_and_keeps_store_text_plain() {
    let body = body(&sink(SinkKind::Slack, "http://h/x"), &hostile());
    let v: Value = serde_json::from_str(&body).unwrap();
    let text = v["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;script&gt;") && !text.contains('<'),
        "{text}"
    );
    assert_eq!(v["mrkdwn"], false);
    assert_eq!(v["blocks"][0]["text"]["type"], "plain_text");
}

#[test]
fn discord_escapes_markdown_and_mentions() {
    let body = body(&sink(SinkKind::Discord, "http://h/x"), &hostile());
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
    let title = v["embeds"][0]["title"].as_str().unwrap();
    assert!(title.contains("\\<script\\>"), "{title}");
    assert!(
        title.contains("@\u{200b}everyone") && title.contains("\\*bold\\*"),
        "{title}"
    );
    assert!(v["embeds"].as_array().unwrap().len() <= 10);
}

#[test]
fn ntfy_publishes_to_the_topic_with_a_click_link() {
    let sink = sink(SinkKind::Ntfy, "https://ntfy.example/acme-restock");
    let v: Value = serde_json::from_str(&body(&sink, &sample())).unwrap();
    assert_eq!(v["topic"], "acme-restock");
    assert_eq!(v["click"], "https://example.com/products/sample-product");
    assert_eq!(publish_url(&sink.url).as_str(), "https://ntfy.example/");
}
