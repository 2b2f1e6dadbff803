//! The /metrics body: rendered by one scrape at a time and shared, for `FRESH_FOR`, with every
//! scrape that asks meanwhile, so memory does not grow with the number of concurrent scrapes;
//! and the series of stores a reload removed left out in one pass over the body.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long one rendered body answers further scrapes.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// The latest rendered body, behind the lock every render holds.
#[derive(Debug, Default)]
pub struct Exposition {
    latest: Mutex<Option<(Instant, Bytes)>>,
}

impl Exposition {
    /// The body rendered less than `FRESH_FOR` ago, else a new one from `render` (the latest
    /// is dropped first, so at most one body is held). Scrapes arriving while one renders
    /// wait for it and share its body.
    pub async fn body(&self, render: impl FnOnce() -> String) -> Bytes {
        let mut latest = self.latest.lock().await;
        if let Some((at, body)) = latest.as_ref() {
            if at.elapsed() < FRESH_FOR {
                return body.clone();
            }
        }
        *latest = None;
        let body = Bytes::from(render());
        *latest = Some((Instant::now(), body.clone()));
        body
    }
}

/// `text` (Prometheus exposition) without the lines whose `store` label is one of `removed`;
/// every line is read once, so the cost is linear in the body whatever the number removed.
pub fn without_stores<'a>(text: &str, removed: impl IntoIterator<Item = &'a String>) -> String {
    let labels: HashSet<String> = removed.into_iter().map(|s| escape(s)).collect();
    if labels.is_empty() {
        return text.to_string();
    }
    let mut kept = String::with_capacity(text.len());
    for line in text.lines() {
        if store_label(line).is_some_and(|store| labels.contains(store)) {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// A label value as the exporter renders it (backslash, quote and newline escaped).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `store` label of a sample line, as rendered (escaped); None for comments and samples
/// without one.
fn store_label(line: &str) -> Option<&str> {
    if line.starts_with('#') {
        return None;
    }
    let mut rest = &line[line.find('{')? + 1..];
    loop {
        let (name, after) = rest.split_once("=\"")?;
        let end = closing_quote(after)?;
        if name == "store" {
            return Some(&after[..end]);
        }
        rest = after[end + 1..].strip_prefix(',')?;
    }
}

/// The index of the quote that ends an escaped label value.
fn closing_quote(value: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in value.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const BODY: &str = "# HELP shopmirror_pages_total Listing pages written.\n\
        # TYPE shopmirror_pages_total counter\n\
        shopmirror_pages_total{store=\"a\"} 1\n\
        shopmirror_pages_total{store=\"ab\"} 2\n\
        shopmirror_pages_total{store=\"q\\\"uote\"} 3\n\
        shopmirror_http_requests_total{status=\"2xx\",store=\"a\"} 4\n\
        shopmirror_http_requests_total{status=\"store=\\\"a\\\"\",store=\"b\"} 5\n\
        shopmirror_running_syncs 0\n";

    #[test]
    fn removed_stores_lose_exactly_their_lines() {
        let removed = ["a".to_string(), "q\"uote".to_string()];
        let kept = without_stores(BODY, &removed);
        assert_eq!(
            kept,
            "# HELP shopmirror_pages_total Listing pages written.\n\
             # TYPE shopmirror_pages_total counter\n\
             shopmirror_pages_total{store=\"ab\"} 2\n\
             shopmirror_http_requests_total{status=\"store=\\\"a\\\"\",store=\"b\"} 5\n\
             shopmirror_running_syncs 0\n"
        );
        assert_eq!(without_stores(BODY, &[]), BODY);
    }

    #[test]
    fn a_thousand_removed_stores_leave_the_kept_ones_whole() {
        let stores: Vec<String> = (0..1000).map(|i| format!("store-{i}")).collect();
        let body: String = stores
            .iter()
            .map(|s| format!("shopmirror_pages_total{{store=\"{s}\"}} 1\n"))
            .collect();
        let kept = without_stores(&body, &stores[1..]);
        assert_eq!(kept, "shopmirror_pages_total{store=\"store-0\"} 1\n");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_scrapes_share_one_render_until_it_is_stale() {
        let exposition = Arc::new(Exposition::default());
        let renders = Arc::new(AtomicUsize::new(0));
        let scrape = |exposition: Arc<Exposition>, renders: Arc<AtomicUsize>| async move {
            exposition
                .body(|| {
                    let n = renders.fetch_add(1, Ordering::SeqCst) + 1;
                    format!("render {n}\n")
                })
                .await
        };
        let scrapes: Vec<_> = (0..100)
            .map(|_| tokio::spawn(scrape(exposition.clone(), renders.clone())))
            .collect();
        let mut bodies = Vec::new();
        for s in scrapes {
            bodies.push(s.await.unwrap());
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        let first = bodies[0].as_ptr();
        assert!(
            bodies
                .iter()
                .all(|b| b.as_ptr() == first && b == "render 1\n"),
            "every scrape holds the one rendered buffer"
        );
        tokio::time::advance(FRESH_FOR).await;
        let later = scrape(exposition.clone(), renders.clone()).await;
        assert_eq!(later, "render 2\n");
        assert_eq!(renders.load(Ordering::SeqCst), 2);
    }
}
