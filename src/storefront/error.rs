//! What can go wrong talking to a store, classified so callers can decide: retry, give up on the
//! page, or leave the store alone. Every error names the store and the URL.

use std::fmt;

/// One failed request or unusable answer.
#[derive(Debug, thiserror::Error)]
#[error("store {store}: {url}: {kind}")]
pub struct Error {
    pub store: String,
    pub url: String,
    #[source]
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    /// The host name does not exist (NXDOMAIN): final, neither retried nor held against the
    /// breaker.
    #[error("no such host: {0}")]
    NoSuchHost(String),
    #[error("connection dropped before the whole answer arrived: {0}")]
    Dropped(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("HTTP {status}{}", detail_suffix(.detail))]
    Status { status: u16, detail: String },
    #[error("not found (HTTP 404): endpoint disabled or not a Shopify store")]
    NotFound,
    /// The parser of this answer failed (a bug shopmirror must fix); the page is not written.
    #[error("the page could not be read (parser failure: {0})")]
    ParserFailed(String),
    /// HTTP 400 for a page past Shopify's page * limit = 25,000 listing cap.
    #[error("HTTP 400: page * limit exceeds Shopify's 25,000 listing cap")]
    ListingCap,
    #[error("password-protected store (HTTP 401 or redirect to /password)")]
    PasswordProtected,
    #[error("blocked by the store (HTTP 430 Shopify Security Rejection): backing off")]
    Blocked,
    #[error("circuit breaker open: no requests to this store for another {seconds} s")]
    BreakerOpen { seconds: u64 },
    #[error("answered 200 with {content_type}, not JSON: not a Shopify storefront")]
    NotJson { content_type: String },
    #[error("invalid JSON: {0}")]
    BadJson(String),
    #[error("collection #{index} ({collection}) is unusable: {reason}")]
    BadCollection {
        index: usize,
        collection: String,
        reason: String,
    },
    #[error("answered 200 with {content_type}, not XML")]
    NotXml { content_type: String },
    #[error("invalid sitemap XML: {0}")]
    BadXml(String),
    #[error("body larger than the {limit}-byte cap")]
    TooLarge { limit: u64 },
    #[error("refused: {0}")]
    Refused(String),
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl ErrorKind {
    /// Worth trying again later: the store or the network may recover.
    pub fn is_transient(&self) -> bool {
        match self {
            ErrorKind::Connect(_) | ErrorKind::Timeout | ErrorKind::Dropped(_) => true,
            ErrorKind::Status { status, .. } => {
                matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
            }
            _ => false,
        }
    }
}

/// Shortens an untrusted body to one printable line for error messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    line.trim().to_string()
}

/// Names an object (product or collection) that failed to parse by whatever id and handle can
/// still be read from its JSON.
pub fn label_of(raw: &str) -> String {
    let (id, handle) = identity_of(raw);
    ProductLabel {
        id,
        handle: handle.as_deref(),
    }
    .to_string()
}

/// The id and handle of an object whatever else is wrong with it: the id as a JSON integer or
/// a string of digits (as some stores send it), the handle when it is a string.
pub fn identity_of(raw: &str) -> (Option<i64>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Identity {
        #[serde(default)]
        id: serde_json::Value,
        #[serde(default)]
        handle: serde_json::Value,
    }
    let identity = match serde_json::from_str::<Identity>(raw) {
        Ok(identity) if is_object(raw.as_bytes()) => identity,
        _ => return (None, None),
    };
    let id = match identity.id {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let handle = identity.handle.as_str().map(str::to_owned);
    (id, handle)
}

/// True when the JSON text is an object (its first non-blank byte is `{`).
pub fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Display helper for "product id N (handle)" when only part of it is known.
pub struct ProductLabel<'a> {
    pub id: Option<i64>,
    pub handle: Option<&'a str>,
}

impl fmt::Display for ProductLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.id, self.handle) {
            (Some(id), Some(handle)) => write!(f, "id {id}, handle {handle:?}"),
            (Some(id), None) => write!(f, "id {id}"),
            (None, Some(handle)) => write!(f, "handle {handle:?}"),
            (None, None) => f.write_str("no id or handle"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_object_is_named_by_its_id_even_when_sent_as_a_string() {
        let label = label_of(r#"{"id":"123","handle":"h","variants":[]}"#);
        assert_eq!(label, r#"id 123, handle "h""#);
        assert_eq!(label_of(r#"{"id":77}"#), "id 77");
        assert_eq!(label_of(r#"{"id":"abc","handle":5}"#), "no id or handle");
        assert_eq!(label_of("[1]"), "no id or handle");
    }
}
