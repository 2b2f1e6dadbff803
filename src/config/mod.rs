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
use url::Url;

mod alerts;
mod raw;
pub mod schedule;
mod shard;
mod validate;
mod web;

use raw::{Overrides, RawConfig, RawDatabase};

use crate::storefront::{ClientSettings, StoreOptions};
pub use alerts::{AlertSettings, Filters, RuleConfig, Secret, SinkConfig, SinkKind};
pub use schedule::Schedule;
pub use shard::Shard;
pub use web::{Exposed, Password, WebAuth, WebSettings};

/// The database used when neither config nor flag names one.
pub const DEFAULT_DB: &str = "shopmirror.db";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid config: {}", describe_load(.0))]
    Load(#[from] Box<figment::Error>),
    #[error("invalid config{}: key `{key}`: {message}", in_file(.file))]
    Invalid {
        key: String,
        file: Option<PathBuf>,
        message: String,
    },
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    /// A sync target that is neither a configured store nor a usable URL (a usage error).
    #[error("{0}")]
    Target(String),
}

/// figment names keys with its profile ("default.http.x"); people wrote "http.x". An unknown
/// key is named as written (the environment variable when it came from one) with the closest
/// valid key.
fn describe_load(error: &figment::Error) -> String {
    if let figment::error::Kind::UnknownField(found, expected) = &error.kind {
        let path: Vec<String> = error.path.iter().map(|p| p.to_ascii_lowercase()).collect();
        let section = &path[..path.len().saturating_sub(1)];
        let key = |name: &str| {
            let mut parts = section.to_vec();
            parts.push(name.to_string());
            parts.join(".")
        };
        let from_env = error
            .metadata
            .as_ref()
            .is_some_and(|m| m.name.contains("environment"));
        let source = if from_env {
            format!(
                " (environment variable SHOPMIRROR_{})",
                path.join("__").to_uppercase()
            )
        } else {
            error
                .metadata
                .as_ref()
                .and_then(|m| m.source.as_ref())
                .map(|s| format!(" in {s}"))
                .unwrap_or_default()
        };
        let closest = expected
            .iter()
            .map(|valid| (strsim::jaro_winkler(found, valid), valid))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, valid)| format!("; did you mean `{}`?", key(valid)))
            .unwrap_or_default();
        return format!("unknown key `{}`{source}{closest}", key(found));
    }
    error.to_string().replace("key \"default.", "key \"")
}

fn in_file(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!(" in {}", f.display()))
        .unwrap_or_default()
}

/// Top-level keys (not tables) that the environment may set as `SHOPMIRROR_KEY`.
const TOP_LEVEL_ENV: &[&str] = &["shard"];

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub db_path: PathBuf,
    pub http: ClientSettings,
    pub page_size: u32,
    pub concurrent_stores: usize,
    /// `collections.full_walk_every`, for stores given as URLs (configured stores carry their
    /// own).
    pub full_walk_every: Duration,
    pub stores: Vec<StoreConfig>,
    pub daemon: DaemonSettings,
    pub log: LogSettings,
    pub web: WebSettings,
    pub shard: Option<Shard>,
    /// `[alerts]`: sinks and rules.
    pub alerts: AlertSettings,
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
    /// How long the scheduler loop may go without a heartbeat before /healthz says 503.
    pub liveness_timeout: Duration,
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
    /// The store's myshopify.com base (`myshopify_domain`): a request its own domain answers
    /// with 404 is asked again there (see `sync::urls::fallback`).
    pub myshopify: Option<Url>,
    /// Walk collections and their membership.
    pub collections: bool,
    /// Restrict the membership walk to these handles; None walks every collection.
    pub collection_handles: Option<Vec<String>>,
    /// `collections.full_walk_every`: zero walks every collection's products feed every run;
    /// otherwise a collection is walked only when its /collections.json entry changed since
    /// its last complete walk, or that walk is older than this.
    pub full_walk_every: Duration,
    /// Given as a URL on the command line, not configured: a first sync that fails leaves
    /// no row behind.
    pub ad_hoc: bool,
}

impl StoreConfig {
    /// A store with the default catalogue settings (every collection walked).
    pub fn new(name: String, url: Url) -> StoreConfig {
        StoreConfig {
            name,
            url,
            myshopify: None,
            collections: true,
            collection_handles: None,
            full_walk_every: Duration::ZERO,
            ad_hoc: false,
        }
    }

    /// The store's URL as it may be stored, printed, logged or exported: without
    /// `user:password@`. The only printable form of a store URL.
    pub fn printable_url(&self) -> String {
        crate::storefront::redact(&self.url)
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
        // Nested keys as SHOPMIRROR_SECTION__KEY, top-level ones (shard) as SHOPMIRROR_KEY;
        // SHOPMIRROR_CONFIG and SHOPMIRROR_DB belong to the command line.
        figment = figment.merge(
            Env::prefixed("SHOPMIRROR_")
                .filter(|key| {
                    let key = key.as_str();
                    key.contains("__") || TOP_LEVEL_ENV.iter().any(|k| key.eq_ignore_ascii_case(k))
                })
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
        let mut resolved = serde_json::to_value(&raw).expect("config serializes");
        let check = validate::Checker { file };
        check.limits(&raw)?;
        let proxy = check.proxy(&raw.http)?;
        let alerts = check.alerts(raw.alerts)?;
        alerts::redact_resolved(&mut resolved, &alerts);
        let mut store_schedules = BTreeMap::new();
        let mut options = std::collections::HashMap::new();
        let mut stores = Vec::new();
        for (name, store) in raw.stores {
            let checked = check.store(name, store, raw.collections.full_walk_every)?;
            if checked.schedule.schedule.is_some() || checked.schedule.zone.is_some() {
                store_schedules.insert(checked.store.name.clone(), checked.schedule);
            }
            if checked.options != StoreOptions::default() {
                options.insert(checked.store.name.clone(), checked.options);
            }
            stores.push(checked.store);
        }
        Ok(Config {
            file: file.map(Path::to_path_buf),
            db_path: raw.database.path.unwrap_or_else(|| DEFAULT_DB.into()),
            daemon: check.daemon(raw.daemon, store_schedules)?,
            log: check.log(raw.log)?,
            web: check.web(raw.web)?,
            shard: raw
                .shard
                .as_deref()
                .map(|text| Shard::parse(text).map_err(|m| check.invalid("shard", m)))
                .transpose()?,
            http: validate::client_settings(raw.http, raw.sync.pages_in_flight, options, proxy),
            page_size: raw.sync.page_size,
            concurrent_stores: raw.sync.concurrent_stores,
            full_walk_every: raw.collections.full_walk_every,
            stores,
            alerts,
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
                    let hint = if target.contains('.') {
                        format!("; for a URL write the scheme: https://{target}")
                    } else {
                        String::new()
                    };
                    return Err(Error::Target(format!(
                        "sync target {target:?} is neither a configured store nor a URL{hint}"
                    )));
                }
                let url = parse_store_url(target)
                    .map_err(|bad| Error::Target(format!("sync target: {bad}")))?;
                // A URL a configured store already has means that store.
                if let Some(store) = self.stores.iter().find(|s| same_site(&s.url, &url)) {
                    return Ok(store.clone());
                }
                let name = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_string(),
                };
                let mut store = StoreConfig::new(name, url);
                store.ad_hoc = true;
                store.full_walk_every = self.full_walk_every;
                Ok(store)
            })
            .collect()
    }
}

/// Every key's built-in default as the file would spell it (`stores.NAME`: a store table's),
/// for the manual page; a key without a default is null or absent.
pub fn defaults() -> serde_json::Value {
    let mut all = serde_json::to_value(raw::RawConfig::default()).expect("defaults serialize");
    let store = serde_json::to_value(raw::RawStore::default()).expect("defaults serialize");
    all["stores"] = serde_json::json!({ "NAME": store });
    all["database"]["path"] = DEFAULT_DB.into();
    all
}

/// Two store URLs for the same site: same host and port, whatever the scheme or credentials.
pub fn same_site(a: &Url, b: &Url) -> bool {
    a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A text that is not a store URL; `shown` is the text without credentials.
#[derive(Debug, thiserror::Error)]
pub enum BadUrl {
    #[error("{shown:?} is not a URL: {source}")]
    NotAUrl {
        shown: String,
        #[source]
        source: url::ParseError,
    },
    #[error("{shown:?} must be an http or https URL with a host")]
    NotHttp { shown: String },
}

/// A store's base URL: http(s) with a host; any path is dropped.
pub fn parse_store_url(text: &str) -> Result<Url, BadUrl> {
    let shown = || crate::storefront::redact_text(text);
    let mut url = Url::parse(text.trim()).map_err(|source| BadUrl::NotAUrl {
        shown: shown(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(BadUrl::NotHttp { shown: shown() });
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

#[cfg(test)]
mod tests;
