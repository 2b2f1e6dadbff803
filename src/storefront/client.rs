//! The HTTP client stores see: identity, timeouts, connection pools, and for every request the
//! store's breaker, the host's pacing, retries of transient failures, the body-size cap
//! (counted after decompression) and classification of every answer into bytes or an
//! `ErrorKind` naming store and (redacted) URL. It builds no request URL: callers give the URL
//! and, for a store with a myshopify.com domain, the fallback to ask after a 404 (see
//! `sync::urls`); the client only remembers which of the two to ask first. Metrics are bumped
//! where each event happens. It never writes anything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use url::Url;

use super::breaker::{Breaker, BreakerState};
use super::error::{snippet, BuildError, Error, ErrorKind};
use super::guard::{self, check_target, redact, redact_text, CheckedResolver, LookupError};
use super::pacing::{Pace, Pacer, PacingSettings};
use super::retry::{self, parse_retry_after, Failure, RetryPolicy, RetryStats};
use crate::telemetry::events;

/// How the client behaves; built from the validated config.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub user_agent: String,
    pub allow_private: bool,
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub slow_response: Duration,
    pub per_host_concurrency: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_body_bytes: u64,
    pub pool_max_idle_per_host: usize,
    pub retry: RetryPolicy,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    /// Per-store options by store name; stores not listed get the defaults.
    pub stores: HashMap<String, StoreOptions>,
}

/// What one store needs that others do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Open a new connection for every request (the store refuses reused keep-alive ones).
    pub fresh_connections: bool,
}

/// A store's retries, waiting and breaker state since the last report, for the run record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreReport {
    pub retries: u64,
    pub wait_ms: u64,
    pub breaker: BreakerState,
}

struct StoreState {
    breaker: Breaker,
    stats: RetryStats,
    /// The fallback domain answered where the store's own did not: ask it first from now on.
    use_fallback: AtomicBool,
}

/// A shared client for all stores of one process.
pub struct Client {
    pooled: reqwest::Client,
    fresh: reqwest::Client,
    settings: ClientSettings,
    pacer: Pacer,
    stores: Mutex<HashMap<String, Arc<StoreState>>>,
}

impl Client {
    pub fn new(settings: ClientSettings) -> Result<Client, BuildError> {
        let build = |idle_per_host: usize| {
            reqwest::Client::builder()
                .user_agent(settings.user_agent.clone())
                .connect_timeout(settings.connect_timeout)
                .read_timeout(settings.read_timeout)
                .timeout(settings.request_timeout)
                .dns_resolver(Arc::new(CheckedResolver {
                    allow_private: settings.allow_private,
                }))
                .redirect(guard::redirect_policy(settings.allow_private))
                .pool_max_idle_per_host(idle_per_host)
                // A finished store's idle connection (and its buffers) should not linger for
                // reqwest's default 90 s while hundreds of other stores sync: keep it just long
                // enough to span the pause between two paced requests.
                .pool_idle_timeout(settings.min_delay.max(Duration::from_secs(1)) * 5)
                .build()
                .map_err(|e| BuildError {
                    detail: redact_text(&e.to_string()),
                })
        };
        let pacer = Pacer::new(PacingSettings {
            min_delay: settings.min_delay,
            max_delay: settings.max_delay,
            slow_response: settings.slow_response,
            per_host: settings.per_host_concurrency,
        });
        Ok(Client {
            pooled: build(settings.pool_max_idle_per_host)?,
            fresh: build(0)?,
            pacer,
            settings,
            stores: Mutex::new(HashMap::new()),
        })
    }

    /// GETs `url` for `store` through its breaker, pacing and retries. Returns the body of a
    /// 200 JSON answer, or a classified error naming the store and (redacted) URL. A 404 is
    /// asked again at `fallback` when the caller gives one (the same request on the store's
    /// myshopify.com domain); once the fallback answered where `url` did not, it is asked first
    /// for this store, and the other way round.
    pub async fn get_json(
        &self,
        store: &str,
        url: &Url,
        fallback: Option<&Url>,
    ) -> Result<Bytes, Error> {
        self.get(store, url, fallback, Expect::Json).await
    }

    /// Like `get_json`, for XML answers (sitemaps).
    pub async fn get_xml(
        &self,
        store: &str,
        url: &Url,
        fallback: Option<&Url>,
    ) -> Result<Bytes, Error> {
        self.get(store, url, fallback, Expect::Xml).await
    }

    /// Like `get_json`, for the Ajax `.js` product answer (JSON served as JavaScript).
    pub async fn get_script(
        &self,
        store: &str,
        url: &Url,
        fallback: Option<&Url>,
    ) -> Result<Bytes, Error> {
        self.get(store, url, fallback, Expect::Script).await
    }

    async fn get(
        &self,
        store: &str,
        url: &Url,
        fallback: Option<&Url>,
        expect: Expect,
    ) -> Result<Bytes, Error> {
        let options = self.settings.stores.get(store).cloned().unwrap_or_default();
        let state = self.state(store);
        let Some(alternate) = fallback else {
            return self.get_from(store, url, &options, &state, expect).await;
        };
        let first_fallback = state.use_fallback.load(Ordering::Relaxed);
        let (first, second) = if first_fallback {
            (alternate, url)
        } else {
            (url, alternate)
        };
        match self.get_from(store, first, &options, &state, expect).await {
            Err(e) if matches!(e.kind, ErrorKind::NotFound) => {
                let result = self.get_from(store, second, &options, &state, expect).await;
                if result.is_ok() {
                    state.use_fallback.store(!first_fallback, Ordering::Relaxed);
                }
                result
            }
            other => other,
        }
    }

    /// A client for a reloaded config that keeps this one's per-store state (breakers, their
    /// gauges, counters, fallback choice) for the stores in `keep`: a reload must not end the
    /// silence an open breaker keeps. Runs still going on the old client share that state.
    pub fn reloaded(
        &self,
        settings: ClientSettings,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Client, BuildError> {
        let client = Client::new(settings)?;
        let kept: HashMap<String, Arc<StoreState>> = self
            .stores
            .lock()
            .expect("client lock")
            .iter()
            .filter(|(name, _)| keep(name))
            .map(|(name, state)| {
                state.breaker.set_limits(
                    client.settings.breaker_threshold,
                    client.settings.breaker_cooldown,
                );
                (name.clone(), state.clone())
            })
            .collect();
        *client.stores.lock().expect("client lock") = kept;
        Ok(client)
    }

    /// How long the store's breaker stays open from now (None: it does not hold requests).
    pub fn breaker_open_left(&self, store: &str) -> Option<Duration> {
        self.stores
            .lock()
            .expect("client lock")
            .get(store)
            .and_then(|state| state.breaker.open_left())
    }

    /// Takes the store's retries and waiting since the last call, with its breaker state.
    pub fn report(&self, store: &str) -> StoreReport {
        let state = self.state(store);
        let (retries, wait_ms) = state.stats.take();
        StoreReport {
            retries,
            wait_ms,
            breaker: state.breaker.state(),
        }
    }

    fn state(&self, store: &str) -> Arc<StoreState> {
        let mut stores = self.stores.lock().expect("client lock");
        stores
            .entry(store.to_string())
            .or_insert_with(|| {
                Arc::new(StoreState {
                    breaker: Breaker::new(
                        store,
                        self.settings.breaker_threshold,
                        self.settings.breaker_cooldown,
                    ),
                    stats: RetryStats::default(),
                    use_fallback: AtomicBool::new(false),
                })
            })
            .clone()
    }

    async fn get_from(
        &self,
        store: &str,
        url: &Url,
        options: &StoreOptions,
        state: &StoreState,
        expect: Expect,
    ) -> Result<Bytes, Error> {
        let error = |kind| Error {
            store: store.to_string(),
            url: redact(url),
            kind,
        };
        check_target(url, self.settings.allow_private)
            .map_err(|refusal| error(ErrorKind::Refused(refusal.to_string())))?;
        let http = if options.fresh_connections {
            &self.fresh
        } else {
            &self.pooled
        };
        let attempt = || self.attempt(http, store, url, expect);
        retry::run(
            &self.settings.retry,
            &state.breaker,
            store,
            &state.stats,
            attempt,
        )
        .await
        .map_err(error)
    }

    /// One request in the host's pacing slot; counts it and feeds the answer back to pacing.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        store: &str,
        url: &Url,
        expect: Expect,
    ) -> Result<Bytes, Failure> {
        let turn = self.pacer.turn(&host_key(url)).await;
        let in_flight = crate::telemetry::InFlight::start(store);
        let started = std::time::Instant::now();
        let (status, result) = fetch(http, url, self.settings.max_body_bytes, expect).await;
        drop(in_flight);
        events::request_answered(store, url.path(), status, started.elapsed());
        let throttled = status == Some(429);
        turn.finish(if throttled {
            Pace::Throttled
        } else {
            Pace::Answered
        });
        result
    }
}

/// Pacing is per host and port.
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The kind of answer a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
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
async fn fetch(
    http: &reqwest::Client,
    url: &Url,
    limit: u64,
    expect: Expect,
) -> (Option<u16>, Result<Bytes, Failure>) {
    let response = match http
        .get(url.clone())
        .header(ACCEPT, expect.accept())
        .send()
        .await
    {
        Ok(response) => response,
        Err(e) => return (None, Err(classify_reqwest(e).into())),
    };
    let status = response.status().as_u16();
    (
        Some(status),
        classify(response, status, limit, expect).await,
    )
}

async fn classify(
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
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(ErrorKind::TooLarge { limit });
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(classify_reqwest)?;
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(ErrorKind::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
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
