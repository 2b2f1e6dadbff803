//! The HTTP client stores see: identity, timeouts, pacing between requests to one host, the
//! body-size cap, address checks (no loopback/private targets unless allowed, on every
//! redirect hop and after DNS resolution) and classification of every answer into bytes or an
//! `ErrorKind`. It never writes anything.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::CONTENT_TYPE;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::{Host, Url};

use super::error::{snippet, Error, ErrorKind};

/// How the client behaves; built from the validated config.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub user_agent: String,
    pub allow_private: bool,
    pub min_delay: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_body_bytes: u64,
}

/// A shared client for all stores of one process.
pub struct Client {
    http: reqwest::Client,
    settings: ClientSettings,
    /// Per host: the earliest instant the next request may start.
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl Client {
    pub fn new(settings: ClientSettings) -> Result<Client, String> {
        let allow_private = settings.allow_private;
        let http = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .timeout(settings.request_timeout)
            .dns_resolver(Arc::new(CheckedResolver { allow_private }))
            .redirect(redirect_policy(allow_private))
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(Client {
            http,
            settings,
            next_slot: Mutex::new(HashMap::new()),
        })
    }

    /// GETs `url` for `store`, waiting for the host's pacing slot first. Returns the body of a
    /// 200 JSON answer, or a classified error naming the store and URL.
    pub async fn get_json(&self, store: &str, url: &Url) -> Result<Bytes, Error> {
        self.get(store, url, Expect::Json).await
    }

    /// Like `get_json`, for XML answers (sitemaps).
    pub async fn get_xml(&self, store: &str, url: &Url) -> Result<Bytes, Error> {
        self.get(store, url, Expect::Xml).await
    }

    async fn get(&self, store: &str, url: &Url, expect: Expect) -> Result<Bytes, Error> {
        let error = |kind| Error {
            store: store.to_string(),
            url: url.to_string(),
            kind,
        };
        check_target(url, self.settings.allow_private).map_err(error)?;
        self.wait_for_slot(url).await;
        let response = self
            .http
            .get(url.clone())
            .header("accept", expect.accept())
            .send()
            .await
            .map_err(|e| error(classify_reqwest(&e)))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = read_capped(response, self.settings.max_body_bytes)
            .await
            .map_err(error)?;
        match status {
            200 if content_type.is_empty() || content_type.contains(expect.subtype()) => Ok(body),
            200 if expect == Expect::Xml => Err(error(ErrorKind::NotXml { content_type })),
            200 => Err(error(ErrorKind::NotJson { content_type })),
            404 => Err(error(ErrorKind::NotFound)),
            _ => Err(error(ErrorKind::Status {
                status,
                detail: snippet(&body),
            })),
        }
    }

    async fn wait_for_slot(&self, url: &Url) {
        if self.settings.min_delay.is_zero() {
            return;
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let start = {
            let mut slots = self.next_slot.lock().await;
            let now = Instant::now();
            let start = slots.get(&host).copied().unwrap_or(now).max(now);
            slots.insert(host, start + self.settings.min_delay);
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

/// The kind of answer a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Json,
    Xml,
}

impl Expect {
    fn accept(self) -> &'static str {
        match self {
            Expect::Json => "application/json",
            Expect::Xml => "application/xml",
        }
    }

    /// What the Content-Type must contain.
    fn subtype(self) -> &'static str {
        match self {
            Expect::Json => "json",
            Expect::Xml => "xml",
        }
    }
}

async fn read_capped(response: reqwest::Response, limit: u64) -> Result<Bytes, ErrorKind> {
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(ErrorKind::TooLarge { limit });
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| classify_reqwest(&e))?;
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(ErrorKind::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

fn classify_reqwest(error: &reqwest::Error) -> ErrorKind {
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        detail = format!("{detail}: {inner}");
        source = inner.source();
    }
    if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_redirect() {
        ErrorKind::Refused(detail)
    } else if error.is_connect() {
        if detail.contains("private address") {
            ErrorKind::Refused(detail)
        } else {
            ErrorKind::Connect(detail)
        }
    } else {
        ErrorKind::Request(detail)
    }
}

/// Whether an address is somewhere a public store cannot be: loopback, private, link-local
/// (cloud metadata), unspecified, multicast or unique-local.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            if let Some(mapped) = v6.to_ipv4_mapped() {
                return is_non_public(IpAddr::V4(mapped));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Refuses non-HTTP schemes and literal non-public addresses before any connection.
fn check_target(url: &Url, allow_private: bool) -> Result<(), ErrorKind> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ErrorKind::Refused(format!(
            "scheme {} is not http or https",
            url.scheme()
        )));
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(ErrorKind::Refused("URL has no host".into())),
    };
    if !allow_private && is_non_public(ip) {
        return Err(ErrorKind::Refused(format!(
            "{ip} is a private address (set http.allow_private = true to allow it)"
        )));
    }
    Ok(())
}

fn redirect_policy(allow_private: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("more than 5 redirects");
        }
        let downgrade = attempt
            .previous()
            .last()
            .is_some_and(|prev| prev.scheme() == "https" && attempt.url().scheme() == "http");
        if downgrade {
            return attempt.error("redirect from https to http");
        }
        match check_target(attempt.url(), allow_private) {
            Ok(()) => attempt.follow(),
            Err(kind) => attempt.error(kind.to_string()),
        }
    })
}

/// Resolves names with the system resolver and drops the answer if it points anywhere
/// non-public, unless private addresses are allowed. Runs on every connection, so on every
/// redirect hop too.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                if let Some(bad) = addrs.iter().find(|a| is_non_public(a.ip())) {
                    let message = format!(
                        "{host} resolves to private address {} (set http.allow_private = true \
                         to allow it)",
                        bad.ip()
                    );
                    return Err(message.into());
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["23.227.38.65", "2620:127:f00f::1"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn literal_private_targets_are_refused_unless_allowed() {
        let url = Url::parse("http://127.0.0.1:8080/products.json").unwrap();
        assert!(matches!(
            check_target(&url, false),
            Err(ErrorKind::Refused(_))
        ));
        assert!(check_target(&url, true).is_ok());
        let url = Url::parse("file:///etc/passwd").unwrap();
        assert!(check_target(&url, true).is_err());
    }
}
