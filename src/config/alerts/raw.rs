//! `[alerts]` exactly as people write it: every key optional with its default, unknown keys
//! refused, the sinks' secrets serialized as "[redacted]".

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[alerts]` as written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerts {
    /// One HTTP request to a sink, at most (≤ 15 s).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How long a one-shot `sync` (and `alerts deliver`) keeps delivering after its work.
    #[serde(with = "humantime_serde")]
    pub sync_timeout: Duration,
    /// Delivered rows are removed after this long.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// A sink failing for this long is suspended (its rows kept) until `alerts resume`.
    #[serde(with = "humantime_serde")]
    pub suspend_after: Duration,
    /// Waits between attempts (Standard Webhooks schedule); past the last one a row is dead.
    pub retry: Vec<String>,
    pub sinks: BTreeMap<String, RawSink>,
    pub rules: BTreeMap<String, RawRule>,
}

impl Default for RawAlerts {
    fn default() -> Self {
        RawAlerts {
            timeout: Duration::from_secs(10),
            sync_timeout: Duration::from_secs(30),
            retention: Duration::from_secs(7 * 86400),
            suspend_after: Duration::from_secs(86400),
            retry: ["5s", "5m", "30m", "2h", "5h", "10h", "10h"]
                .map(String::from)
                .to_vec(),
            sinks: BTreeMap::new(),
            rules: BTreeMap::new(),
        }
    }
}

/// `[alerts.sinks.NAME]` as written. The secret never serializes.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSink {
    pub kind: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redacted")]
    pub secret: Option<String>,
}

fn redacted<S: serde::Serializer>(_: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

/// An amount as written: `10`, `9.99` or `"9.99"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawAmount {
    Int(i64),
    Float(f64),
    Text(String),
}

/// `[alerts.rules.NAME]` as written.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRule {
    pub when: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_drop_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_drop_amount: Option<RawAmount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<RawAmount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub above: Option<RawAmount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stores: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendors: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_any: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collections: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handles: Option<Vec<String>>,
    pub sinks: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<String>,
}
