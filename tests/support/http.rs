//! HTTP from tests: GET a daemon endpoint, poll one until it answers a status, and read
//! Prometheus text (/metrics) by name and labels.

use std::time::Duration;

use super::until;

/// GET with `client`, the whole answer read: status, headers and body bytes.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
) -> reqwest::Result<(u16, reqwest::header::HeaderMap, Vec<u8>)> {
    let response = client.get(url).send().await?;
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    Ok((status, headers, response.bytes().await?.to_vec()))
}

/// GET over HTTP: status and body; panics when the request fails.
pub async fn get(url: &str) -> (u16, String) {
    try_get(url)
        .await
        .unwrap_or_else(|| panic!("GET {url} failed"))
}

/// GET over HTTP: status and body, None while nothing answers (e.g. a daemon starting).
pub async fn try_get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    Some((response.status().as_u16(), response.text().await.ok()?))
}

/// Polls `url` until it answers `status` (within WAIT); returns that answer's body.
pub async fn wait_status(url: &str, status: u16) -> String {
    let mut body = String::new();
    until(
        &format!("{url} to answer {status}"),
        async || match try_get(url).await {
            Some((code, text)) if code == status => {
                body = text;
                true
            }
            _ => false,
        },
    )
    .await;
    body
}

/// A metric's value by its name and labels as rendered, e.g. `name{store="a"}`.
pub fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

/// The sum of a metric's series whose labels include every one of `labels` (e.g.
/// `store="a"`), 0 when there is none.
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|l| l.split_once('}'))
        .filter(|(found, _)| {
            labels
                .iter()
                .all(|want| found.split(',').any(|f| f == *want))
        })
        .filter_map(|(_, value)| value.trim().parse::<f64>().ok())
        .sum()
}

/// How often pollers look again.
pub const POLL: Duration = Duration::from_millis(50);
