//! Slack and Discord messages. Slack: `text` (the notification fallback, with `mrkdwn` off)
//! and `blocks` whose store text is `plain_text`, with `&`, `<` and `>` escaped as Slack asks.
//! Discord: one embed (at most 10 per message) with Markdown characters backslash-escaped,
//! `@` followed by a zero-width space, and `allowed_mentions: {"parse": []}`, since store text
//! can hold `@everyone`.

use serde_json::json;

use super::{lines, rfc3339};
use crate::alerts::event::AlertChange;

/// Slack's three escapes.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `max` characters.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text.chars().count() > max => format!("{}…", &text[..at]),
        _ => text.to_string(),
    }
}

pub(super) fn slack(change: &AlertChange) -> String {
    let (headline, detail) = lines(change);
    json!({
        "text": slack_escape(&format!("{headline}: {detail}")),
        "mrkdwn": false,
        "blocks": [
            {"type": "header",
             "text": {"type": "plain_text", "text": cut(&slack_escape(&headline), 150)}},
            {"type": "section",
             "text": {"type": "plain_text", "text": slack_escape(&detail)},
             "accessory": {"type": "button",
                           "text": {"type": "plain_text", "text": "View product"},
                           "url": change.product.url}},
        ],
    })
    .to_string()
}

/// Discord Markdown escaped, mentions broken.
fn discord_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '(' | ')' | '-'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200b}"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

pub(super) fn discord(change: &AlertChange) -> String {
    let (headline, detail) = lines(change);
    json!({
        "allowed_mentions": {"parse": []},
        "embeds": [{
            "title": cut(&discord_escape(&headline), 256),
            "url": change.product.url,
            "description": cut(&discord_escape(&detail), 4096),
            "footer": {"text": cut(&change.store, 2048)},
            "timestamp": rfc3339(&change.observed_at),
        }],
    })
    .to_string()
}
