//! `shopmirror check-config`: validates the config and prints what it resolved to, with any
//! credentials in store URLs removed, and under `next_firings` the next three firings of the
//! default schedule and of each store's, in its zone and in UTC.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::Failure;
use crate::config::{Config, Schedule};
use crate::storefront::redact_text;

pub fn run(config: &Config) -> Result<(), Failure> {
    let mut shown = config.resolved.clone();
    shown["next_firings"] = next_firings(config, Utc::now());
    let text = serde_json::to_string_pretty(&shown).expect("config serializes");
    super::print_line(&redact_text(&text));
    Ok(())
}

/// `daemon.schedule` and each `stores.NAME`: schedule, zone, and the next three firings.
fn next_firings(config: &Config, now: DateTime<Utc>) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(
        "daemon.schedule".into(),
        firings(&config.daemon.schedule, now),
    );
    for store in &config.stores {
        let schedule = config.daemon.schedule_of(&store.name);
        out.insert(format!("stores.{}", store.name), firings(schedule, now));
    }
    Value::Object(out)
}

fn firings(schedule: &Schedule, now: DateTime<Utc>) -> Value {
    let next: Vec<Value> = schedule
        .next_n(now, 3)
        .into_iter()
        .map(|at| {
            json!({
                "local": schedule.local(at),
                "utc": at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            })
        })
        .collect();
    json!({
        "schedule": schedule.as_str(),
        "timezone": schedule.zone().name(),
        "next": next,
    })
}
