//! The HTTP client stores see: identity, timeouts, connection pools (one per store, closed when
//! its run ends), and for every request the store's breaker, the host's pacing, a place in the
//! process's budget of pages in flight (`budget`) and retries of transient failures around one request
//! (`answer`: the body-size cap and classification into bytes or an `ErrorKind`), every error
//! naming store and (redacted) URL. It builds no request URL: callers give the URL and, for a
//! store with a myshopify.com domain, the fallback to ask after a 404 (see `sync::urls`); the
//! client only remembers which of the two to ask first. Metrics are bumped where each event
//! happens. It never writes anything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use super::answer::fetch;
pub use super::answer::Expect;
use super::breaker::{Breaker, BreakerState};
use super::budget::{Body, Budget};
use super::error::{BuildError, Error, ErrorKind};
use super::guard::{self, check_target, redact, redact_text, CheckedResolver};
use super::pacing::{Pace, Pacer, PacingSettings};
use super::proxied::{self, ProxyChoice};
use super::retry::{self, Failure, RetryPolicy, RetryStats};
use crate::endpoint::Endpoint;
use crate::telemetry::events;

/// How the client behaves; built from the validated config.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub user_agent: String,
    pub allow_private: bool,
    /// Whether requests may go through a proxy, and which.
    pub proxy: ProxyChoice,
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub slow_response: Duration,
    pub per_host_concurrency: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_body_bytes: u64,
    pub pool_max_idle_per_host: usize,
    /// Requests (and their answers' bodies, until dropped) in flight at once across all
    /// stores of the process (`sync.pages_in_flight`).
    pub pages_in_flight: usize,
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
    /// Each store's pool of keep-alive connections, while it runs.
    pools: Mutex<HashMap<String, reqwest::Client>>,
    /// No idle connections: for stores with `fresh_connections`.
    fresh: reqwest::Client,
    budget: Budget,
    settings: ClientSettings,
    pacer: Pacer,
    stores: Mutex<HashMap<String, Arc<StoreState>>>,
}

impl Client {
    pub fn new(settings: ClientSettings) -> Result<Client, BuildError> {
        // Built once here so that a setting reqwest refuses fails now, not at the first request.
        build_http(&settings, settings.pool_max_idle_per_host)?;
        let pacer = Pacer::new(PacingSettings {
            min_delay: settings.min_delay,
            max_delay: settings.max_delay,
            slow_response: settings.slow_response,
            per_host: settings.per_host_concurrency,
        });
        Ok(Client {
            pools: Mutex::new(HashMap::new()),
            fresh: build_http(&settings, 0)?,
            budget: Budget::new(settings.pages_in_flight),
            pacer,
            settings,
            stores: Mutex::new(HashMap::new()),
        })
    }

    /// Closes the store's idle keep-alive connections (and frees their read buffers, up to
    /// ~400 KB each): called when its run ends. The next request opens a new pool.
    pub fn close_connections(&self, store: &str) {
        let pool = self.pools.lock().expect("client lock").remove(store);
        drop(pool);
    }

    /// The store's own connection pool, opened at its first request.
    fn pool(&self, store: &str) -> Result<reqwest::Client, ErrorKind> {
        let mut pools = self.pools.lock().expect("client lock");
        if let Some(pool) = pools.get(store) {
            return Ok(pool.clone());
        }
        let pool = build_http(&self.settings, self.settings.pool_max_idle_per_host)
            .map_err(|e| ErrorKind::Request(e.detail))?;
        pools.insert(store.to_string(), pool.clone());
        Ok(pool)
    }

    /// GETs `url` for `store` (a request for `endpoint`, the label it is measured under)
    /// through its breaker, pacing and retries. Returns the body of a
    /// 200 answer of the `expect`ed kind (JSON, XML, or the Ajax `.js` product answer served as
    /// JavaScript), or a classified error naming the store and (redacted) URL. A 404 is asked
    /// again at `fallback` when the caller gives one (the same request on the store's
    /// myshopify.com domain); once the fallback answered where `url` did not, it is asked first
    /// for this store, and the other way round.
    pub async fn get(
        &self,
        store: &str,
        url: &Url,
        fallback: Option<&Url>,
        (endpoint, expect): (Endpoint, Expect),
    ) -> Result<Body, Error> {
        let ask = (endpoint, expect);
        let options = self.settings.stores.get(store).cloned().unwrap_or_default();
        let state = self.state(store);
        let Some(alternate) = fallback else {
            return self.get_from(store, url, &options, &state, ask).await;
        };
        let first_fallback = state.use_fallback.load(Ordering::Relaxed);
        let (first, second) = if first_fallback {
            (alternate, url)
        } else {
            (url, alternate)
        };
        match self.get_from(store, first, &options, &state, ask).await {
            Err(e) if matches!(e.kind, ErrorKind::NotFound) => {
                let result = self.get_from(store, second, &options, &state, ask).await;
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
        ask: (Endpoint, Expect),
    ) -> Result<Body, Error> {
        let error = |kind| Error {
            store: store.to_string(),
            url: redact(url),
            kind,
        };
        check_target(url, self.settings.allow_private)
            .map_err(|refusal| error(ErrorKind::Refused(refusal.to_string())))?;
        let http = if options.fresh_connections {
            self.fresh.clone()
        } else {
            self.pool(store).map_err(error)?
        };
        let attempt = || self.attempt(&http, store, url, ask);
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

    /// One request in the host's pacing slot and a place in the budget of pages in flight;
    /// counts it and feeds the answer back to pacing.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        store: &str,
        url: &Url,
        (endpoint, expect): (Endpoint, Expect),
    ) -> Result<Body, Failure> {
        let mut turn = self.pacer.turn(&host_key(url)).await;
        let place = self.budget.take().await;
        // The wait for a place is the process's, not the store's: not counted as its slowness.
        turn.restart_clock();
        let in_flight = crate::telemetry::InFlight::start(store);
        let started = std::time::Instant::now();
        let limit = self.settings.max_body_bytes;
        let (status, result) = match self.settings.proxy.is_off() {
            true => fetch(http, url, limit, expect).await,
            false => proxied::fetch(http, url, limit, expect, self.settings.allow_private).await,
        };
        drop(in_flight);
        events::request_answered(store, endpoint, status, started.elapsed());
        let throttled = status == Some(429);
        turn.finish(if throttled {
            Pace::Throttled
        } else {
            Pace::Answered
        });
        result.map(|bytes| Body::new(bytes, place))
    }
}

/// A reqwest client with the settings' identity, timeouts, proxy choice and guard, keeping up
/// to `idle_per_host` idle connections per host.
fn build_http(
    settings: &ClientSettings,
    idle_per_host: usize,
) -> Result<reqwest::Client, BuildError> {
    let build_error = |e: reqwest::Error| BuildError {
        detail: redact_text(&e.to_string()),
    };
    let builder = reqwest::Client::builder();
    // Without a proxy the resolver checks every address and the redirect policy every
    // hop; through one, `proxied` checks targets and follows redirects itself (the
    // proxy's own address is the operator's choice, so the resolver is the system's).
    let builder = match &settings.proxy {
        ProxyChoice::Off => builder
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private: settings.allow_private,
            }))
            .redirect(guard::redirect_policy(settings.allow_private)),
        ProxyChoice::Url(url) => builder
            .proxy(reqwest::Proxy::all(url.as_str()).map_err(build_error)?)
            .redirect(reqwest::redirect::Policy::none()),
        ProxyChoice::FromEnv => builder.redirect(reqwest::redirect::Policy::none()),
    };
    builder
        .user_agent(settings.user_agent.clone())
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.read_timeout)
        .timeout(settings.request_timeout)
        .pool_max_idle_per_host(idle_per_host)
        // Within a run, an idle connection need only span the pause between two paced
        // requests; a finished store's pool is closed at once (`close_connections`).
        .pool_idle_timeout(settings.min_delay.max(Duration::from_secs(1)) * 5)
        .build()
        .map_err(build_error)
}

/// Pacing is per host and port.
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}
