//! `shopmirror status`: per-store health from a read-only connection; a run shows as running
//! only while a live process holds its store's lock.

use super::Failure;
use crate::config::Config;
use crate::outcome::{RunState, RunStatus};
use crate::store::Reader;

pub fn run(config: &Config, json: bool) -> Result<(), Failure> {
    if !config.db_path.exists() {
        return Err(Failure::Failed(format!(
            "database {} does not exist yet: run `shopmirror sync` first",
            config.db_path.display()
        )));
    }
    let reader = Reader::open(&config.db_path)?;
    let mut statuses = reader.store_statuses()?;
    for s in &mut statuses {
        // A run row says "running" until its process ends it; only a live holder of the
        // store's lock makes that true. A dead holder's run is interrupted (the next resumes).
        if s.last_run_status == Some(RunState::Running)
            && crate::lock::holder(&config.db_path, &s.store).is_none()
        {
            s.last_run_status = Some(RunState::Ended(RunStatus::Interrupted));
        }
    }
    if json {
        let text = serde_json::to_string_pretty(&statuses).expect("status serializes");
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
        super::print_line(&format!(
            "{}: {} live{truncated}, {} deleted products{quarantined}; {run}; next sync {}; \
             breaker {}{}",
            s.store,
            s.live_products,
            s.deleted_products,
            s.next_sync_at.as_deref().unwrap_or("not scheduled"),
            s.breaker_state,
            s.last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        ));
    }
    super::alerts::status(config, &reader)
}
