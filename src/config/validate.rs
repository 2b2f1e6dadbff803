//! Turning the raw config into validated settings, one section at a time; every refusal names
//! the key and the file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use super::raw::{RawConfig, RawDaemon, RawHttp, RawLog, RawStore};
use chrono_tz::Tz;

use super::schedule::parse_zone;
use super::web::{Password, RawWeb, WebAuth, WebSettings};
use super::{
    parse_store_url, DaemonSettings, Error, LogFormat, LogSettings, Schedule, StoreConfig,
};
use crate::catalog::MAX_PAGE_SIZE;
use crate::storefront::{ClientSettings, ProxyChoice, RetryPolicy, StoreOptions};

/// Validates sections of the file `file` (None: defaults and environment only).
pub(super) struct Checker<'a> {
    pub file: Option<&'a Path>,
}

/// One validated `[stores.NAME]` table.
pub(super) struct CheckedStore {
    pub store: StoreConfig,
    pub schedule: ScheduleOverride,
    pub options: StoreOptions,
}

/// A store's own schedule and zone, each falling back to the daemon's.
#[derive(Default)]
pub(super) struct ScheduleOverride {
    pub schedule: Option<String>,
    pub zone: Option<Tz>,
}

impl Checker<'_> {
    pub fn invalid(&self, key: &str, message: impl std::fmt::Display) -> Error {
        Error::Invalid {
            key: key.to_string(),
            file: self.file.map(Path::to_path_buf),
            message: message.to_string(),
        }
    }

    /// Numbers that must lie in a range.
    pub fn limits(&self, raw: &RawConfig) -> Result<(), Error> {
        let at_least_one = [
            ("sync.concurrent_stores", raw.sync.concurrent_stores as u64),
            ("sync.pages_in_flight", raw.sync.pages_in_flight as u64),
            ("http.max_attempts", u64::from(raw.http.max_attempts)),
            (
                "http.breaker_threshold",
                u64::from(raw.http.breaker_threshold),
            ),
            (
                "http.per_host_concurrency",
                raw.http.per_host_concurrency as u64,
            ),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(self.invalid(key, "must be at least 1"));
            }
        }
        if raw.sync.page_size == 0 || raw.sync.page_size > MAX_PAGE_SIZE {
            let message = format!("must be between 1 and {MAX_PAGE_SIZE}");
            return Err(self.invalid("sync.page_size", message));
        }
        if raw.http.max_body_bytes < 1024 {
            return Err(self.invalid("http.max_body_bytes", "must be at least 1024"));
        }
        if raw.http.user_agent.trim().is_empty() {
            return Err(self.invalid("http.user_agent", "must not be empty"));
        }
        Ok(())
    }

    /// One `[stores.NAME]` table; `full_walk_every` is `collections.full_walk_every`, which
    /// the store's own `collections_full_walk_every` overrides.
    pub fn store(
        &self,
        name: String,
        store: RawStore,
        full_walk_every: Duration,
    ) -> Result<CheckedStore, Error> {
        let key = |field: &str| format!("stores.{name}.{field}");
        let url = parse_store_url(&store.url).map_err(|m| self.invalid(&key("url"), m))?;
        let schedule = ScheduleOverride {
            zone: store
                .timezone
                .as_deref()
                .map(|text| parse_zone(text).map_err(|m| self.invalid(&key("timezone"), m)))
                .transpose()?,
            schedule: store.schedule,
        };
        let myshopify = store
            .myshopify_domain
            .as_deref()
            .map(|domain| {
                let text = if domain.contains("://") {
                    domain.to_string()
                } else {
                    format!("https://{domain}")
                };
                parse_store_url(&text).map_err(|m| self.invalid(&key("myshopify_domain"), m))
            })
            .transpose()?;
        if let Some(handles) = &store.collection_handles {
            if handles.is_empty() || handles.iter().any(|h| h.trim().is_empty()) {
                let message = "must list non-empty handles (use collections = false to skip)";
                return Err(self.invalid(&key("collection_handles"), message));
            }
        }
        Ok(CheckedStore {
            schedule,
            options: StoreOptions {
                fresh_connections: store.fresh_connections,
            },
            store: StoreConfig {
                name,
                url,
                myshopify,
                collections: store.collections,
                collection_handles: store.collection_handles,
                full_walk_every: store.collections_full_walk_every.unwrap_or(full_walk_every),
                ad_hoc: false,
            },
        })
    }

    /// `http.proxy` or `http.proxy_from_env`, not both; none by default.
    pub fn proxy(&self, h: &RawHttp) -> Result<ProxyChoice, Error> {
        match (&h.proxy, h.proxy_from_env) {
            (None, false) => Ok(ProxyChoice::Off),
            (None, true) => Ok(ProxyChoice::FromEnv),
            (Some(_), true) => Err(self.invalid(
                "http.proxy",
                "set either http.proxy or http.proxy_from_env, not both",
            )),
            (Some(text), false) => match url::Url::parse(text.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                    Ok(ProxyChoice::Url(url))
                }
                _ => Err(self.invalid(
                    "http.proxy",
                    "must be an http:// or https:// URL such as http://proxy.example:3128",
                )),
            },
        }
    }

    /// `[web]`: the secret with an authentication kind, a user for basic.
    pub fn web(&self, raw: RawWeb) -> Result<WebSettings, Error> {
        let secret = raw.secret.filter(|s| !s.is_empty()).map(Password::new);
        let auth = match (raw.auth.as_deref(), secret) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(self.invalid("web.secret", "is set but web.auth is not"));
            }
            (Some(_), None) => {
                return Err(self.invalid(
                    "web.secret",
                    "is required by web.auth (best from SHOPMIRROR_WEB__SECRET)",
                ));
            }
            (Some("basic"), Some(password)) => match raw.user.filter(|u| !u.is_empty()) {
                Some(user) if !user.contains(':') => Some(WebAuth::Basic { user, password }),
                Some(_) => return Err(self.invalid("web.user", "must not contain ':'")),
                None => return Err(self.invalid("web.user", "is required by web.auth = \"basic\"")),
            },
            (Some("bearer"), Some(token)) => Some(WebAuth::Bearer { token }),
            (Some(other), Some(_)) => {
                let message = format!("{other:?} is not one of basic, bearer");
                return Err(self.invalid("web.auth", message));
            }
        };
        Ok(WebSettings { auth })
    }

    /// The daemon's settings, with each store's schedule that differs from the default (its
    /// own expression, its own zone, or both) checked under its `stores.NAME.` key.
    pub fn daemon(
        &self,
        raw: RawDaemon,
        overrides: BTreeMap<String, ScheduleOverride>,
    ) -> Result<DaemonSettings, Error> {
        let zone = parse_zone(&raw.timezone).map_err(|m| self.invalid("daemon.timezone", m))?;
        let schedule =
            Schedule::parse(&raw.schedule, zone).map_err(|m| self.invalid("daemon.schedule", m))?;
        let mut store_schedules = BTreeMap::new();
        for (name, own) in overrides {
            let text = own.schedule.as_deref().unwrap_or(&raw.schedule);
            let zone = own.zone.unwrap_or(zone);
            let parsed = Schedule::parse(text, zone).map_err(|m| {
                let key = if own.schedule.is_some() {
                    format!("stores.{name}.schedule")
                } else {
                    "daemon.schedule".to_string()
                };
                self.invalid(&key, m)
            })?;
            store_schedules.insert(name, parsed);
        }
        let listen = raw.listen.trim().parse().map_err(|e| {
            let message = format!(
                "{:?} is not an address such as 127.0.0.1:9187: {e}",
                raw.listen
            );
            self.invalid("daemon.listen", message)
        })?;
        let daemon = DaemonSettings {
            schedule,
            store_schedules,
            jitter: raw.jitter,
            retry_base: raw.retry_base.max(Duration::from_secs(1)),
            retry_cap: raw.retry_cap,
            grace: raw.grace,
            liveness_timeout: raw.liveness_timeout,
            listen,
        };
        if daemon.liveness_timeout < Duration::from_secs(2) {
            return Err(self.invalid("daemon.liveness_timeout", "must be at least 2s"));
        }
        if daemon.retry_cap < daemon.retry_base {
            let message = "must be at least daemon.retry_base";
            return Err(self.invalid("daemon.retry_cap", message));
        }
        Ok(daemon)
    }

    pub fn log(&self, raw: RawLog) -> Result<LogSettings, Error> {
        let format = match raw.format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            "journald" => LogFormat::Journald,
            other => {
                let message = format!("{other:?} is not one of text, json, journald");
                return Err(self.invalid("log.format", message));
            }
        };
        Ok(LogSettings {
            format,
            file: raw.file,
        })
    }
}

/// The HTTP client's settings, with each store's connection options and the proxy choice.
pub(super) fn client_settings(
    h: RawHttp,
    pages_in_flight: usize,
    stores: HashMap<String, StoreOptions>,
    proxy: ProxyChoice,
) -> ClientSettings {
    ClientSettings {
        user_agent: h.user_agent,
        allow_private: h.allow_private,
        proxy,
        min_delay: h.min_delay,
        max_delay: h.max_delay,
        slow_response: h.slow_response,
        per_host_concurrency: h.per_host_concurrency,
        connect_timeout: h.connect_timeout,
        read_timeout: h.read_timeout,
        request_timeout: h.request_timeout,
        max_body_bytes: h.max_body_bytes,
        pool_max_idle_per_host: h.pool_max_idle_per_host,
        pages_in_flight,
        retry: RetryPolicy {
            max_attempts: h.max_attempts,
            base: h.backoff_base,
            cap: h.backoff_cap,
            max_retry_after: h.max_retry_after,
            max_breaker_wait: h.max_retry_after,
        },
        breaker_threshold: h.breaker_threshold,
        breaker_cooldown: h.breaker_cooldown,
        stores,
    }
}
