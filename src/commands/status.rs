//! `shopmirror status`: per-store health from a read-only connection; a run shows as running
//! only while a live process holds its store's lock. A configured store's schedule, zone and
//! next sync are shown in its zone.

use super::Failure;
use crate::config::Config;
use crate::store::Reader;

/// The config the packaged service runs with (systemd/shopmirror.service).
const SERVICE_CONFIG: &str = "/etc/shopmirror/config.toml";

pub fn run(config: &Config, json: bool) -> Result<(), Failure> {
    if !config.db_path.exists() {
        return Err(Failure::Failed(format!(
            "database {} does not exist yet: `shopmirror sync URL` mirrors a store into it; \
             for the installed service, add a store to {SERVICE_CONFIG}, run `sudo systemctl \
             reload shopmirror` (or `start`), then `shopmirror --config {SERVICE_CONFIG} status`",
            config.db_path.display()
        )));
    }
    let reader = Reader::open(&config.db_path)?;
    let statuses = reader.store_statuses_now()?;
    if json {
        let mut shown = serde_json::to_value(&statuses).expect("status serializes");
        if let Some(rows) = shown.as_array_mut() {
            for row in rows {
                let store = row["store"].as_str().unwrap_or_default().to_string();
                let next = row["next_sync_at"].as_str().map(str::to_string);
                if let Some(plan) = plan(config, &store, next.as_deref()) {
                    row["schedule"] = plan.schedule.into();
                    row["timezone"] = plan.zone.into();
                    row["next_sync_local"] = plan.next_local.into();
                }
            }
        }
        let text = serde_json::to_string_pretty(&shown).expect("status serializes");
        super::print_line(&text);
        return Ok(());
    }
    for s in statuses {
        let run = match (&s.last_run_status, &s.last_run_started_at) {
            (Some(status), Some(started)) => format!(
                "last run {status} (started {started}{finished}; +{} new, ~{} changed, \
                 -{} deleted)",
                s.last_run_new.unwrap_or(0),
                s.last_run_changed.unwrap_or(0),
                s.last_run_deleted.unwrap_or(0),
                finished = s
                    .last_run_finished_at
                    .as_deref()
                    .map(|f| format!(", finished {f}"))
                    .unwrap_or_default(),
            ),
            _ => "never synced".to_string(),
        };
        let truncated = match s.possibly_truncated_products {
            0 => String::new(),
            n => format!(" ({n} with exactly 100 variants: possibly truncated)"),
        };
        let quarantined = match s.quarantined {
            0 => String::new(),
            n => format!(", {n} quarantined (unusable; see the quarantine table)"),
        };
        super::print_shown(&format!(
            "{}: {} live{truncated}, {} deleted products{quarantined}; {run}; {}; \
             breaker {}{}",
            s.store,
            s.live_products,
            s.deleted_products,
            match plan(config, &s.store, s.next_sync_at.as_deref()) {
                Some(p) => format!(
                    "schedule {:?} ({}), next sync {}",
                    p.schedule,
                    p.zone,
                    p.next_local.as_deref().unwrap_or("not planned")
                ),
                None => "not scheduled".to_string(),
            },
            s.breaker_state,
            s.last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        ));
    }
    super::alerts::status(config, &reader)
}

/// A configured store's schedule, zone, and its next sync (`next_sync_at`, UTC) in that zone.
struct Plan {
    schedule: String,
    zone: String,
    next_local: Option<String>,
}

fn plan(config: &Config, store: &str, next_utc: Option<&str>) -> Option<Plan> {
    config.stores.iter().find(|s| s.name == store)?;
    let schedule = config.daemon.schedule_of(store);
    let next_local = next_utc
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
        .map(|t| schedule.local(t.and_utc()));
    Some(Plan {
        schedule: schedule.as_str().to_string(),
        zone: schedule.zone().name().to_string(),
        next_local,
    })
}
