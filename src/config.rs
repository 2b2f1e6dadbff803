//! Configuration: figment layers (defaults, then a TOML file or JSON when the name ends in
//! .json, then SHOPMIRROR_* environment variables with `__` between section and key, then
//! command-line flags) read into a raw serde struct that refuses unknown keys, then validated
//! into `Config`. Errors name the key and the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Json, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::storefront::{ClientSettings, MAX_PAGE_SIZE};

/// The database used when neither config nor flag names one.
pub const DEFAULT_DB: &str = "shopmirror.db";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid config: {0}")]
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
    pub stores: BTreeMap<String, RawStore>,
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
    /// Mirror the store's collections and their membership (default true).
    pub collections: bool,
    /// Only these collection handles get their membership walked (default: all).
    pub collection_handles: Option<Vec<String>>,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            url: String::new(),
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
    /// Every setting as resolved from all layers, for `check-config`.
    pub resolved: serde_json::Value,
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
        let mut stores = Vec::new();
        for (name, store) in raw.stores {
            let key = format!("stores.{name}.url");
            let url = parse_store_url(&store.url).map_err(|m| invalid(&key, m))?;
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
        let http = ClientSettings {
            user_agent: raw.http.user_agent,
            allow_private: raw.http.allow_private,
            min_delay: raw.http.min_delay,
            connect_timeout: raw.http.connect_timeout,
            read_timeout: raw.http.read_timeout,
            request_timeout: raw.http.request_timeout,
            max_body_bytes: raw.http.max_body_bytes,
        };
        Ok(Config {
            file: file.map(Path::to_path_buf),
            db_path: raw.database.path.unwrap_or_else(|| DEFAULT_DB.into()),
            http,
            page_size: raw.sync.page_size,
            concurrent_stores: raw.sync.concurrent_stores,
            stores,
            resolved,
        })
    }

    /// Resolves sync targets: configured store names, or store URLs (named by their host).
    /// No targets means every configured store.
    pub fn targets(&self, targets: &[String]) -> Result<Vec<StoreConfig>, Error> {
        if targets.is_empty() {
            return Ok(self.stores.clone());
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
