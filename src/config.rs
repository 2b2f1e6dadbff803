//! Configuration: figment layers (defaults, then a TOML file or JSON when the name ends in
//! .json, then SHOPMIRROR_* environment variables with `__` between section and key, then
//! command-line flags) read into a raw serde struct that refuses unknown keys, then validated
//! into `Config`. Errors name the key and the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Json, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use url::Url;

pub use crate::daemon::schedule::Schedule;
pub use crate::daemon::shard::Shard;
use crate::storefront::{ClientSettings, RetryPolicy, StoreOptions, MAX_PAGE_SIZE};

/// The database used when neither config nor flag names one.
pub const DEFAULT_DB: &str = "shopmirror.db";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid config: {}", without_profile(.0))]
    Load(#[from] Box<figment::Error>),
    #[error("invalid config{}: key `{key}`: {message}", in_file(.file))]
    Invalid {
        key: String,
        file: Option<PathBuf>,
        message: String,
    },
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
}

/// figment names keys with its profile ("default.http.x"); people wrote "http.x".
fn without_profile(error: &figment::Error) -> String {
    error.to_string().replace("key \"default.", "key \"")
}

fn in_file(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!(" in {}", f.display()))
        .unwrap_or_default()
}

/// The file exactly as people write it: every key optional, unknown keys refused.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub database: RawDatabase,
    pub http: RawHttp,
    pub sync: RawSync,
    pub daemon: RawDaemon,
    pub log: RawLog,
    /// `"I/N"`: this instance syncs only the stores whose name hashes to shard I (1-based) of N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub stores: BTreeMap<String, RawStore>,
}

/// `[daemon]`: scheduling, retries, shutdown and the health/metrics listener.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDaemon {
    /// Default cron schedule, 6 fields with seconds first.
    pub schedule: String,
    #[serde(with = "humantime_serde")]
    pub jitter: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_cap: Duration,
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
    pub listen: String,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            schedule: "0 0 */6 * * *".into(),
            jitter: Duration::from_secs(5 * 60),
            retry_base: Duration::from_secs(60),
            retry_cap: Duration::from_secs(6 * 3600),
            grace: Duration::from_secs(10),
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
}

impl Default for RawSync {
    fn default() -> Self {
        RawSync {
            page_size: MAX_PAGE_SIZE,
            concurrent_stores: 4,
        }
    }
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
    /// Mirror the store's collections and their membership (default true).
    pub collections: bool,
    /// Only these collection handles get their membership walked (default: all).
    pub collection_handles: Option<Vec<String>>,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            url: String::new(),
            fresh_connections: false,
            myshopify_domain: None,
            schedule: None,
            collections: true,
            collection_handles: None,
        }
    }
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<RawDatabase>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub db_path: PathBuf,
    pub http: ClientSettings,
    pub page_size: u32,
    pub concurrent_stores: usize,
    pub stores: Vec<StoreConfig>,
    pub daemon: DaemonSettings,
    pub log: LogSettings,
    pub shard: Option<Shard>,
    /// Every setting as resolved from all layers, for `check-config`.
    pub resolved: serde_json::Value,
}

/// The daemon's validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    pub schedule: Schedule,
    /// Per-store cron schedules that override `schedule`, by store name.
    pub store_schedules: BTreeMap<String, Schedule>,
    pub jitter: Duration,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub grace: Duration,
    pub listen: SocketAddr,
}

impl DaemonSettings {
    /// The schedule that applies to `store`.
    pub fn schedule_of(&self, store: &str) -> &Schedule {
        self.store_schedules.get(store).unwrap_or(&self.schedule)
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
    /// Plain text without colours or timestamps (journald adds its own).
    Journald,
}

/// Validated `[log]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    pub file: Option<PathBuf>,
}

/// One store to mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub name: String,
    pub url: Url,
    /// Walk collections and their membership.
    pub collections: bool,
    /// Restrict the membership walk to these handles; None walks every collection.
    pub collection_handles: Option<Vec<String>>,
}

impl StoreConfig {
    /// A store with the default catalogue settings (every collection walked).
    pub fn new(name: String, url: Url) -> StoreConfig {
        StoreConfig {
            name,
            url,
            collections: true,
            collection_handles: None,
        }
    }
}

impl Config {
    /// Loads and validates: defaults, `file`, environment, then `db` from the command line.
    pub fn load(file: Option<&Path>, db: Option<&Path>) -> Result<Config, Error> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(Error::Missing(file.to_path_buf()));
            }
            figment = if file.extension().is_some_and(|e| e == "json") {
                figment.merge(Json::file_exact(file))
            } else {
                figment.merge(Toml::file_exact(file))
            };
        }
        figment = figment.merge(
            Env::prefixed("SHOPMIRROR_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        if let Some(db) = db {
            let overrides = Overrides {
                database: Some(RawDatabase {
                    path: Some(db.to_path_buf()),
                }),
            };
            figment = figment.merge(Serialized::defaults(overrides));
        }
        let raw: RawConfig = figment.extract().map_err(Box::new)?;
        Config::validate(raw, file)
    }

    fn validate(raw: RawConfig, file: Option<&Path>) -> Result<Config, Error> {
        let resolved = serde_json::to_value(&raw).expect("config serializes");
        let invalid = |key: &str, message: String| Error::Invalid {
            key: key.to_string(),
            file: file.map(Path::to_path_buf),
            message,
        };
        if raw.sync.page_size == 0 || raw.sync.page_size > MAX_PAGE_SIZE {
            return Err(invalid(
                "sync.page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        if raw.sync.concurrent_stores == 0 {
            return Err(invalid(
                "sync.concurrent_stores",
                "must be at least 1".into(),
            ));
        }
        if raw.http.max_body_bytes < 1024 {
            return Err(invalid(
                "http.max_body_bytes",
                "must be at least 1024".into(),
            ));
        }
        if raw.http.user_agent.trim().is_empty() {
            return Err(invalid("http.user_agent", "must not be empty".into()));
        }
        if raw.http.max_attempts == 0 {
            return Err(invalid("http.max_attempts", "must be at least 1".into()));
        }
        if raw.http.breaker_threshold == 0 {
            return Err(invalid(
                "http.breaker_threshold",
                "must be at least 1".into(),
            ));
        }
        if raw.http.per_host_concurrency == 0 {
            return Err(invalid(
                "http.per_host_concurrency",
                "must be at least 1".into(),
            ));
        }
        let default_schedule =
            Schedule::parse(&raw.daemon.schedule).map_err(|m| invalid("daemon.schedule", m))?;
        let mut store_schedules = BTreeMap::new();
        let mut stores = Vec::new();
        let mut options = std::collections::HashMap::new();
        for (name, store) in raw.stores {
            let key = format!("stores.{name}.url");
            let url = parse_store_url(&store.url).map_err(|m| invalid(&key, m))?;
            if let Some(text) = &store.schedule {
                let key = format!("stores.{name}.schedule");
                let schedule = Schedule::parse(text).map_err(|m| invalid(&key, m))?;
                store_schedules.insert(name.clone(), schedule);
            }
            let fallback = match &store.myshopify_domain {
                None => None,
                Some(domain) => {
                    let key = format!("stores.{name}.myshopify_domain");
                    let text = if domain.contains("://") {
                        domain.clone()
                    } else {
                        format!("https://{domain}")
                    };
                    Some(parse_store_url(&text).map_err(|m| invalid(&key, m))?)
                }
            };
            let store_options = StoreOptions {
                fresh_connections: store.fresh_connections,
                fallback,
            };
            if store_options != StoreOptions::default() {
                options.insert(name.clone(), store_options);
            }
            if let Some(handles) = &store.collection_handles {
                if handles.is_empty() || handles.iter().any(|h| h.trim().is_empty()) {
                    return Err(invalid(
                        &format!("stores.{name}.collection_handles"),
                        "must list non-empty handles (use collections = false to skip)".into(),
                    ));
                }
            }
            stores.push(StoreConfig {
                name,
                url,
                collections: store.collections,
                collection_handles: store.collection_handles,
            });
        }
        let h = raw.http;
        let daemon = DaemonSettings {
            schedule: default_schedule,
            store_schedules,
            jitter: raw.daemon.jitter,
            retry_base: raw.daemon.retry_base.max(Duration::from_secs(1)),
            retry_cap: raw.daemon.retry_cap,
            grace: raw.daemon.grace,
            listen: raw.daemon.listen.trim().parse().map_err(|e| {
                invalid(
                    "daemon.listen",
                    format!(
                        "{:?} is not an address such as 127.0.0.1:9187: {e}",
                        raw.daemon.listen
                    ),
                )
            })?,
        };
        if daemon.retry_cap < daemon.retry_base {
            return Err(invalid(
                "daemon.retry_cap",
                "must be at least daemon.retry_base".into(),
            ));
        }
        let log = LogSettings {
            format: match raw.log.format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                "journald" => LogFormat::Journald,
                other => {
                    return Err(invalid(
                        "log.format",
                        format!("{other:?} is not one of text, json, journald"),
                    ))
                }
            },
            file: raw.log.file,
        };
        let shard = match &raw.shard {
            Some(text) => Some(Shard::parse(text).map_err(|m| invalid("shard", m))?),
            None => None,
        };
        let http = ClientSettings {
            user_agent: h.user_agent,
            allow_private: h.allow_private,
            min_delay: h.min_delay,
            max_delay: h.max_delay,
            slow_response: h.slow_response,
            per_host_concurrency: h.per_host_concurrency,
            connect_timeout: h.connect_timeout,
            read_timeout: h.read_timeout,
            request_timeout: h.request_timeout,
            max_body_bytes: h.max_body_bytes,
            pool_max_idle_per_host: h.pool_max_idle_per_host,
            retry: RetryPolicy {
                max_attempts: h.max_attempts,
                base: h.backoff_base,
                cap: h.backoff_cap,
                max_retry_after: h.max_retry_after,
            },
            breaker_threshold: h.breaker_threshold,
            breaker_cooldown: h.breaker_cooldown,
            stores: options,
        };
        Ok(Config {
            file: file.map(Path::to_path_buf),
            db_path: raw.database.path.unwrap_or_else(|| DEFAULT_DB.into()),
            http,
            page_size: raw.sync.page_size,
            concurrent_stores: raw.sync.concurrent_stores,
            stores,
            daemon,
            log,
            shard,
            resolved,
        })
    }

    /// The configured stores this instance syncs: all of them, or its shard's share.
    pub fn own_stores(&self) -> Vec<StoreConfig> {
        self.stores
            .iter()
            .filter(|s| self.shard.is_none_or(|shard| shard.contains(&s.name)))
            .cloned()
            .collect()
    }

    /// Resolves sync targets: configured store names, or store URLs (named by their host).
    /// No targets means every configured store of this instance's shard.
    pub fn targets(&self, targets: &[String]) -> Result<Vec<StoreConfig>, Error> {
        if targets.is_empty() {
            return Ok(self.own_stores());
        }
        targets
            .iter()
            .map(|target| {
                if let Some(store) = self.stores.iter().find(|s| &s.name == target) {
                    return Ok(store.clone());
                }
                if !target.contains("://") {
                    return Err(Error::Invalid {
                        key: "TARGET".into(),
                        file: self.file.clone(),
                        message: format!("{target:?} is neither a configured store nor a URL"),
                    });
                }
                let url = parse_store_url(target).map_err(|message| Error::Invalid {
                    key: "TARGET".into(),
                    file: None,
                    message,
                })?;
                let name = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_string(),
                };
                Ok(StoreConfig::new(name, url))
            })
            .collect()
    }
}

/// A store's base URL: http(s) with a host; any path is dropped.
fn parse_store_url(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http or https URL with a host"));
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

#[cfg(test)]
mod tests;
