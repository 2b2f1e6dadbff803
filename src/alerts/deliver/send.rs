//! One HTTP attempt: POST the stored body to the sink (ntfy: to its server root), signed per
//! Standard Webhooks for webhook sinks, redirects not followed, bounded by alerts.timeout.
//! Errors are described without the URL (Slack and Discord URLs are credentials).

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};

use super::policy::Answer;
use crate::alerts::render::publish_url;
use crate::alerts::sign::signature;
use crate::config::{SinkConfig, SinkKind};

/// The client every sink is sent with.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("shopmirror/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends `body` once.
pub async fn send(
    client: &reqwest::Client,
    sink: &SinkConfig,
    message_id: &str,
    body: &str,
) -> Answer {
    let url = match sink.kind {
        SinkKind::Ntfy => publish_url(&sink.url),
        _ => sink.url.clone(),
    };
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if sink.kind == SinkKind::Webhook {
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        request = request
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = &sink.secret {
            let signed = signature(secret, message_id, timestamp, body.as_bytes());
            request = request.header("webhook-signature", signed);
        }
    }
    match request.body(body.to_string()).send().await {
        Ok(response) => {
            let code = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after);
            Answer::Status { code, retry_after }
        }
        Err(e) if e.is_timeout() => Answer::Timeout(describe(e)),
        Err(e) => Answer::Connect(describe(e)),
    }
}

fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    crate::message::one_line(text)
}

/// Retry-After as seconds or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}
