//! One request and its answer: sends a GET with the expected Accept header and classifies
//! what comes back into bytes (a 200 of the expected type, read under the body-size cap counted
//! after decompression) or a `Failure` (status, password page, listing cap, Retry-After,
//! transport errors without credentials, the resolver's own error found by type). No retries,
//! pacing or breaker here: the client wraps every call.

use std::time::SystemTime;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use url::Url;

use super::error::{snippet, ErrorKind};
use super::guard::{self, redact_text, LookupError};
use super::retry::{parse_retry_after, Failure};

/// The kind of answer a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Json,
    Xml,
    /// JSON served as `application/javascript` (or as JSON).
    Script,
}

impl Expect {
    fn accept(self) -> &'static str {
        match self {
            Expect::Json => "application/json",
            Expect::Xml => "application/xml",
            Expect::Script => "application/javascript, application/json",
        }
    }

    /// Whether a Content-Type is the expected one.
    fn matches(self, content_type: &str) -> bool {
        match self {
            Expect::Json => content_type.contains("json"),
            Expect::Xml => content_type.contains("xml"),
            Expect::Script => content_type.contains("javascript") || content_type.contains("json"),
        }
    }
}

/// Sends one GET and classifies the answer. Returns the status (None without an answer).
pub(super) async fn fetch(
    http: &reqwest::Client,
    url: &Url,
    limit: u64,
    expect: Expect,
) -> (Option<u16>, Result<Bytes, Failure>) {
    let response = match send(http, url, expect).await {
        Ok(response) => response,
        Err(kind) => return (None, Err(kind.into())),
    };
    let status = response.status().as_u16();
    (
        Some(status),
        classify(response, status, limit, expect).await,
    )
}

/// Sends one GET with the expected Accept header; the answer's headers, or the classified
/// transport error.
pub(super) async fn send(
    http: &reqwest::Client,
    url: &Url,
    expect: Expect,
) -> Result<reqwest::Response, ErrorKind> {
    http.get(url.clone())
        .header(ACCEPT, expect.accept())
        .send()
        .await
        .map_err(classify_reqwest)
}

/// Classifies an answer into its body or a failure.
pub(super) async fn classify(
    response: reqwest::Response,
    status: u16,
    limit: u64,
    expect: Expect,
) -> Result<Bytes, Failure> {
    let headers = response.headers();
    let to_password = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| response.url().join(loc).ok())
        .is_some_and(|target| guard::is_password_page(&target));
    if status == 401 || to_password || guard::is_password_page(response.url()) {
        return Err(ErrorKind::PasswordProtected.into());
    }
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    match status {
        200 if content_type.is_empty() || expect.matches(&content_type) => {
            read_capped(response, limit).await.map_err(Failure::from)
        }
        200 if expect == Expect::Xml => Err(ErrorKind::NotXml { content_type }.into()),
        200 => Err(ErrorKind::NotJson { content_type }.into()),
        404 => Err(ErrorKind::NotFound.into()),
        430 => Err(ErrorKind::Blocked.into()),
        _ => {
            let detail = read_prefix(response, 4096).await;
            // The cap's answer: `{"errors":"Page * Limit exceeds the 25000 limit."}`.
            let kind = match status {
                400 if detail.contains("exceeds the") => ErrorKind::ListingCap,
                _ => ErrorKind::Status { status, detail },
            };
            Err(Failure { kind, retry_after })
        }
    }
}

/// Reads the whole (decompressed) body, failing as soon as it passes `limit` bytes, so a
/// gzip bomb costs at most `limit` bytes of memory.
async fn read_capped(response: reqwest::Response, limit: u64) -> Result<Bytes, ErrorKind> {
    let announced = response.content_length();
    if announced.is_some_and(|len| len > limit) {
        return Err(ErrorKind::TooLarge { limit });
    }
    // Sized once when the length is announced (reqwest announces none for an answer it
    // decompresses).
    let mut body = Vec::with_capacity(announced.unwrap_or(0) as usize);
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(classify_reqwest)?;
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(ErrorKind::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    // A grown vector has up to twice the room it needs; the body is kept until its page is
    // written, so it keeps only its own bytes.
    body.shrink_to_fit();
    Ok(Bytes::from(body))
}

/// The first `limit` bytes of an error answer, as one printable line; never an error itself.
async fn read_prefix(response: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]);
        if body.len() >= limit {
            break;
        }
    }
    snippet(&body)
}

fn classify_reqwest(error: reqwest::Error) -> ErrorKind {
    let error = error.without_url();
    // reqwest's own message repeats what the error already names: keep only the causes,
    // innermost last, without hyper's internal wrappers.
    let mut causes = Vec::new();
    let mut lookup = None;
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !text.starts_with("client error") {
            causes.push(text);
        }
        lookup = lookup.or_else(|| lookup_error(inner));
        source = inner.source();
    }
    let detail = if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    };
    let detail = redact_text(&detail);
    if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_redirect() {
        ErrorKind::Refused(detail)
    } else {
        match lookup {
            Some(LookupError::NoSuchHost { .. }) => ErrorKind::NoSuchHost(detail),
            Some(LookupError::Refused { .. }) => ErrorKind::Refused(detail),
            Some(LookupError::Failed { .. }) | None if error.is_connect() => {
                ErrorKind::Connect(detail)
            }
            _ if error.is_body() || error.is_decode() || error.is_request() => {
                ErrorKind::Dropped(detail)
            }
            _ => ErrorKind::Request(detail),
        }
    }
}

/// The resolver's own error, where it sits in a chain (possibly inside an `io::Error`).
fn lookup_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a LookupError> {
    error.downcast_ref::<LookupError>().or_else(|| {
        error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<LookupError>())
    })
}
