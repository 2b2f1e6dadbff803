//! What can go wrong talking to a store, classified so callers can decide: retry, give up on the
//! page, or leave the store alone. Every error names the store and the URL.

/// The HTTP client could not be built (TLS backend, resolver, settings): nothing was asked.
#[derive(Debug, thiserror::Error)]
#[error("cannot build HTTP client: {detail}")]
pub struct BuildError {
    /// reqwest's reason, without credentials.
    pub(super) detail: String,
}

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
    #[error("answered 200 with {content_type}, not XML")]
    NotXml { content_type: String },
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
