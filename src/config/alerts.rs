//! `[alerts]`: sinks (`[alerts.sinks.NAME]`: where alerts go) and rules
//! (`[alerts.rules.NAME]`: which changes raise them), raw as people write them, then validated
//! with errors naming the key and the file. Secrets are kept decoded in a newtype that never
//! prints; the resolved config shows sinks without secrets or URL credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use url::Url;

pub(super) mod raw;

use raw::{RawAlerts, RawAmount, RawRule, RawSink};

use super::validate::Checker;
use super::Error;
use crate::alerts::event::AlertKind;
use crate::catalog::Money;

/// The validated `[alerts]` section.
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    pub timeout: Duration,
    pub sync_timeout: Duration,
    pub retention: Duration,
    pub suspend_after: Duration,
    pub retry: Vec<Duration>,
    pub sinks: BTreeMap<String, SinkConfig>,
    pub rules: Vec<RuleConfig>,
}

impl AlertSettings {
    /// How long delivered rows stay: the retention, or the longest cooldown if longer (a
    /// cooldown looks back at the rows it sent).
    pub fn keep_delivered(&self) -> Duration {
        self.rules
            .iter()
            .filter_map(|r| r.cooldown)
            .fold(self.retention, Duration::max)
    }
}

/// Where a sink's alerts go, and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    Webhook,
    Slack,
    Discord,
    Ntfy,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Slack => "slack",
            SinkKind::Discord => "discord",
            SinkKind::Ntfy => "ntfy",
        }
    }
}

/// A Standard Webhooks signing key (the bytes after `whsec_`, base64-decoded). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn key(&self) -> &[u8] {
        &self.0
    }

    /// Parses `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let Some(encoded) = text.trim().strip_prefix("whsec_") else {
            return Err("must start with whsec_ (a Standard Webhooks secret)".into());
        };
        match base64::engine::general_purpose::STANDARD.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(Secret(key)),
            _ => Err("the part after whsec_ must be non-empty base64".into()),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// One validated sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    pub url: Url,
    pub secret: Option<Secret>,
}

impl SinkConfig {
    /// The URL as it may be printed or logged: no credentials, no query, and for Slack and
    /// Discord (whose webhook path is the credential) no path.
    pub fn printable_url(&self) -> String {
        printable_url(self.kind, &self.url)
    }
}

fn printable_url(kind: SinkKind, url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    if matches!(kind, SinkKind::Slack | SinkKind::Discord) && clean.path() != "/" {
        clean.set_path("/[redacted]");
    }
    clean.to_string()
}

/// Which products a rule is about: each list given must match (any of its entries).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub stores: Option<Vec<String>>,
    pub vendors: Option<Vec<String>>,
    pub product_types: Option<Vec<String>>,
    pub tags_any: Option<Vec<String>>,
    pub collections: Option<Vec<String>>,
    pub handles: Option<Vec<String>>,
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    pub name: String,
    pub when: Vec<AlertKind>,
    /// Price drops only: at least this many percent of the old price.
    pub min_drop_percent: Option<f64>,
    /// Price drops only: at least this much, in hundredths.
    pub min_drop_cents: Option<i64>,
    /// Variant changes: the new price is below this (hundredths).
    pub below_cents: Option<i64>,
    /// Variant changes: the new price is above this (hundredths).
    pub above_cents: Option<i64>,
    pub filters: Filters,
    pub sinks: Vec<String>,
    pub cooldown: Option<Duration>,
}

impl Checker<'_> {
    pub fn alerts(&self, raw: RawAlerts) -> Result<AlertSettings, Error> {
        if raw.timeout.is_zero() || raw.timeout > Duration::from_secs(15) {
            return Err(self.invalid("alerts.timeout", "must be between 1ms and 15s"));
        }
        let retry = raw
            .retry
            .iter()
            .map(|text| humantime::parse_duration(text.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.invalid("alerts.retry", format!("not a list of durations: {e}")))?;
        if retry.is_empty() {
            return Err(self.invalid("alerts.retry", "must list at least one wait"));
        }
        let mut sinks = BTreeMap::new();
        for (name, sink) in raw.sinks {
            sinks.insert(name.clone(), self.sink(name, sink)?);
        }
        let rules = raw
            .rules
            .into_iter()
            .map(|(name, rule)| self.rule(name, rule, &sinks))
            .collect::<Result<_, _>>()?;
        Ok(AlertSettings {
            timeout: raw.timeout,
            sync_timeout: raw.sync_timeout,
            retention: raw.retention,
            suspend_after: raw.suspend_after,
            retry,
            sinks,
            rules,
        })
    }

    fn sink(&self, name: String, raw: RawSink) -> Result<SinkConfig, Error> {
        let key = |field: &str| format!("alerts.sinks.{name}.{field}");
        let kind = match raw.kind.as_str() {
            "webhook" => SinkKind::Webhook,
            "slack" => SinkKind::Slack,
            "discord" => SinkKind::Discord,
            "ntfy" => SinkKind::Ntfy,
            other => {
                let message = format!("{other:?} is not one of webhook, slack, discord, ntfy");
                return Err(self.invalid(&key("kind"), message));
            }
        };
        let shown = crate::storefront::redact_text(&raw.url);
        let url = Url::parse(raw.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| self.invalid(&key("url"), format!("{shown:?} is not an http(s) URL")))?;
        if kind == SinkKind::Ntfy && url.path_segments().and_then(|mut s| s.next_back()) == Some("")
        {
            let message = "must name the topic, e.g. https://ntfy.example.com/my-topic";
            return Err(self.invalid(&key("url"), message));
        }
        let secret = match (kind, raw.secret.as_deref()) {
            (_, None) => None,
            (SinkKind::Webhook, Some(text)) => {
                Some(Secret::parse(text).map_err(|m| self.invalid(&key("secret"), m))?)
            }
            (_, Some(_)) => {
                let message = "only webhook sinks are signed with a secret";
                return Err(self.invalid(&key("secret"), message));
            }
        };
        Ok(SinkConfig {
            name,
            kind,
            url,
            secret,
        })
    }

    fn rule(
        &self,
        name: String,
        raw: RawRule,
        sinks: &BTreeMap<String, SinkConfig>,
    ) -> Result<RuleConfig, Error> {
        let key = |field: &str| format!("alerts.rules.{name}.{field}");
        if raw.when.is_empty() {
            return Err(self.invalid(&key("when"), "must list at least one change"));
        }
        let when = raw
            .when
            .iter()
            .map(|w| {
                AlertKind::from_rule_name(w.trim()).ok_or_else(|| {
                    let names: Vec<_> = AlertKind::ALL.iter().map(|k| k.rule_name()).collect();
                    let message = format!("{w:?} is not one of {}", names.join(", "));
                    self.invalid(&key("when"), message)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if raw.sinks.is_empty() {
            return Err(self.invalid(&key("sinks"), "must name at least one sink"));
        }
        for sink in &raw.sinks {
            if !sinks.contains_key(sink) {
                let message = format!(
                    "rule `{name}` names sink `{sink}`, which no [alerts.sinks.{sink}] table \
                     defines"
                );
                return Err(self.invalid(&key("sinks"), message));
            }
        }
        let drops = raw.min_drop_percent.is_some() || raw.min_drop_amount.is_some();
        if drops && !when.contains(&AlertKind::PriceDrop) {
            let field = match raw.min_drop_percent {
                Some(_) => "min_drop_percent",
                None => "min_drop_amount",
            };
            return Err(self.invalid(&key(field), "applies only to rules with price_drop"));
        }
        if let Some(percent) = raw.min_drop_percent {
            if !(0.0..=100.0).contains(&percent) {
                return Err(self.invalid(&key("min_drop_percent"), "must be between 0 and 100"));
            }
        }
        let bounded = raw.below.is_some() || raw.above.is_some();
        if bounded && when.iter().any(|k| !k.is_variant()) {
            let field = if raw.below.is_some() {
                "below"
            } else {
                "above"
            };
            let message = "compares a variant's price: use it only with price_drop, price_rise, \
                           back_in_stock or out_of_stock";
            return Err(self.invalid(&key(field), message));
        }
        let amount = |field: &str, value: &Option<RawAmount>| {
            value
                .as_ref()
                .map(|v| cents(v).ok_or_else(|| self.invalid(&key(field), "must be an amount")))
                .transpose()
        };
        let cooldown = raw
            .cooldown
            .as_deref()
            .map(|text| {
                humantime::parse_duration(text.trim())
                    .map_err(|e| self.invalid(&key("cooldown"), format!("{text:?}: {e}")))
            })
            .transpose()?;
        let lists = [
            ("stores", &raw.stores),
            ("vendors", &raw.vendors),
            ("product_types", &raw.product_types),
            ("tags_any", &raw.tags_any),
            ("collections", &raw.collections),
            ("handles", &raw.handles),
        ];
        for (field, list) in lists {
            if list.as_ref().is_some_and(|l| l.is_empty()) {
                return Err(self.invalid(&key(field), "must not be an empty list"));
            }
        }
        Ok(RuleConfig {
            min_drop_percent: raw.min_drop_percent,
            min_drop_cents: amount("min_drop_amount", &raw.min_drop_amount)?,
            below_cents: amount("below", &raw.below)?,
            above_cents: amount("above", &raw.above)?,
            filters: Filters {
                stores: raw.stores,
                vendors: raw.vendors,
                product_types: raw.product_types,
                tags_any: raw.tags_any,
                collections: raw.collections,
                handles: raw.handles,
            },
            sinks: raw.sinks,
            cooldown,
            when,
            name,
        })
    }
}

/// An amount in hundredths; None when it is not a non-negative amount.
fn cents(amount: &RawAmount) -> Option<i64> {
    let value = match amount {
        RawAmount::Int(n) => n.checked_mul(100)?,
        RawAmount::Float(f) if f.is_finite() => (f * 100.0).round() as i64,
        RawAmount::Float(_) => return None,
        RawAmount::Text(text) => Money::parse(text)?.cents()?,
    };
    (value >= 0).then_some(value)
}

/// Replaces each sink's URL in the resolved config with its printable form.
pub(super) fn redact_resolved(resolved: &mut serde_json::Value, settings: &AlertSettings) {
    for (name, sink) in &settings.sinks {
        let name = name.replace('~', "~0").replace('/', "~1");
        if let Some(url) = resolved.pointer_mut(&format!("/alerts/sinks/{name}/url")) {
            *url = sink.printable_url().into();
        }
    }
}

#[cfg(test)]
mod tests;
