//! The config file's raw shape: serde structs exactly as people write them, every key optional
//! with its default, unknown keys refused. Validation into `Config` lives in the parent module.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::MAX_PAGE_SIZE;

/// The file exactly as people write it: every key optional, unknown keys refused.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub database: RawDatabase,
    pub http: RawHttp,
    pub sync: RawSync,
    pub collections: RawCollections,
    pub daemon: RawDaemon,
    pub log: RawLog,
    pub web: super::web::RawWeb,
    /// `"I/N"`: this instance syncs only the stores whose name hashes to shard I (1-based) of N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub stores: BTreeMap<String, RawStore>,
    pub alerts: super::alerts::raw::RawAlerts,
}

/// `[daemon]`: scheduling, retries, shutdown and the health/metrics listener.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDaemon {
    /// Default cron schedule: 5 fields, 6 with seconds first, or @hourly/@daily/...
    pub schedule: String,
    /// IANA time zone the schedules are read in.
    pub timezone: String,
    #[serde(with = "humantime_serde")]
    pub jitter: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_cap: Duration,
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
    /// /healthz answers 503 once the scheduler loop has not ticked for this long.
    #[serde(with = "humantime_serde")]
    pub liveness_timeout: Duration,
    pub listen: String,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            schedule: "0 */6 * * *".into(),
            timezone: "UTC".into(),
            jitter: Duration::from_secs(5 * 60),
            retry_base: Duration::from_secs(60),
            retry_cap: Duration::from_secs(6 * 3600),
            grace: Duration::from_secs(10),
            liveness_timeout: Duration::from_secs(60),
            listen: "127.0.0.1:9187".into(),
        }
    }
}

/// `[log]`: output format and an optional file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    /// text, json or journald.
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: "text".into(),
            file: None,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDatabase {
    pub path: Option<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHttp {
    pub allow_private: bool,
    /// Send every request through this proxy (http:// or https:// URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Use the environment's HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY (ignored otherwise).
    pub proxy_from_env: bool,
    #[serde(with = "humantime_serde")]
    pub min_delay: Duration,
    pub user_agent: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    pub max_body_bytes: u64,
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
    #[serde(with = "humantime_serde")]
    pub slow_response: Duration,
    pub per_host_concurrency: usize,
    pub pool_max_idle_per_host: usize,
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub backoff_base: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_cap: Duration,
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    pub breaker_threshold: u32,
    #[serde(with = "humantime_serde")]
    pub breaker_cooldown: Duration,
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp {
            allow_private: false,
            proxy: None,
            proxy_from_env: false,
            min_delay: Duration::from_secs(1),
            user_agent: concat!("shopmirror/", env!("CARGO_PKG_VERSION")).to_string(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            max_body_bytes: 32 * 1024 * 1024,
            max_delay: Duration::from_secs(60),
            slow_response: Duration::from_secs(5),
            per_host_concurrency: 1,
            pool_max_idle_per_host: 2,
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(120),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSync {
    pub page_size: u32,
    /// How many stores one process syncs at the same time.
    pub concurrent_stores: usize,
    /// Requests and their pages held at once by one process, across all stores.
    pub pages_in_flight: usize,
}

impl Default for RawSync {
    fn default() -> Self {
        RawSync {
            page_size: MAX_PAGE_SIZE,
            concurrent_stores: 4,
            pages_in_flight: 4,
        }
    }
}

/// `[collections]`: how collection feeds are walked (every store's default).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCollections {
    /// Between full walks, walk a collection's products feed only when its /collections.json
    /// entry changed since its last complete walk; "0s" (the default) walks every collection
    /// every run.
    #[serde(with = "humantime_serde")]
    pub full_walk_every: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub url: String,
    /// Open a new connection for every request (for stores that refuse reused ones).
    pub fresh_connections: bool,
    /// The store's `x.myshopify.com` domain (or a full URL): asked again when `url` answers 404.
    pub myshopify_domain: Option<String>,
    /// Cron schedule for this store; the daemon's default when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Time zone of this store's schedule; the daemon's when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Mirror the store's collections and their membership (default true).
    pub collections: bool,
    /// Only these collection handles get their membership walked (default: all).
    pub collection_handles: Option<Vec<String>>,
    /// This store's `collections.full_walk_every`; the global one when absent.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub collections_full_walk_every: Option<Duration>,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            url: String::new(),
            fresh_connections: false,
            myshopify_domain: None,
            schedule: None,
            timezone: None,
            collections: true,
            collection_handles: None,
            collections_full_walk_every: None,
        }
    }
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<RawDatabase>,
}
