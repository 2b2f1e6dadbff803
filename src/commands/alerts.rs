//! `shopmirror alerts`: the outbox for operators: list what was not delivered, retry dead rows,
//! resume a paused sink, send a sample to a sink, deliver what is due (for cron users).

use std::sync::Arc;

use chrono::Utc;

use super::{print_line, Failure};
use crate::alerts::deliver::{send, Answer, Delivery};
use crate::alerts::render;
use crate::cli::AlertsAction;
use crate::config::{Config, SinkConfig};
use crate::message::one_line;
use crate::store::{parse_time, AlertRow, Reader, SinkStats, Writer};

pub fn run(config: &Config, action: &AlertsAction) -> Result<(), Failure> {
    match action {
        AlertsAction::List { dead, json } => list(config, *dead, *json),
        AlertsAction::Retry { id, all_dead } => {
            let id = if *all_dead { None } else { *id };
            write(
                config,
                move |writer| async move { retry(&writer, id).await },
            )
        }
        AlertsAction::Resume { sink } => {
            sink_of(config, sink)?;
            let sink = sink.clone();
            write(config, move |writer| async move {
                let name = sink.clone();
                let resumed = writer.call(move |db| db.resume_sink(&name)).await?;
                print_line(&match resumed {
                    true => format!("sink {sink} resumed: its pending alerts are due now"),
                    false => format!("sink {sink} was not paused; its pending alerts are due now"),
                });
                Ok(())
            })
        }
        AlertsAction::Test { sink } => test(config, sink_of(config, sink)?),
        AlertsAction::Deliver => write(config, |writer| async move {
            let wake = Arc::new(tokio::sync::Notify::new());
            let delivery = Delivery::new(writer.clone(), &config.alerts, wake)
                .map_err(|e| Failure::Failed(one_line(&e)))?;
            let drained = delivery
                .drain(config.alerts.sync_timeout)
                .await
                .map_err(|e| Failure::Failed(one_line(&e)))?;
            if config.alerts.sinks.is_empty() {
                print_line("no sinks configured ([alerts.sinks.NAME])");
            } else if !drained.ran {
                print_line("another process (the daemon) is delivering alerts: nothing done");
            } else {
                print_line(&format!(
                    "{} alerts delivered, {} failed attempts",
                    drained.delivered, drained.failed
                ));
            }
            Ok(())
        }),
    }
}

fn sink_of<'a>(config: &'a Config, name: &str) -> Result<&'a SinkConfig, Failure> {
    config.alerts.sinks.get(name).ok_or_else(|| {
        Failure::Usage(format!(
            "no sink {name:?} in the config ([alerts.sinks.{name}])"
        ))
    })
}

/// Runs `work` with the database's writer in a runtime.
fn write<F, Fut>(config: &Config, work: F) -> Result<(), Failure>
where
    F: FnOnce(Writer) -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let writer = Writer::open(&config.db_path)?;
        work(writer).await
    })
}

async fn retry(writer: &Writer, id: Option<i64>) -> Result<(), Failure> {
    match id {
        Some(id) => {
            if writer.call(move |db| db.retry_alert(id)).await? {
                print_line(&format!("alert {id} is pending again, due now"));
                Ok(())
            } else {
                Err(Failure::Failed(format!("no dead alert with id {id}")))
            }
        }
        None => {
            let n = writer.call(|db| db.retry_dead_alerts()).await?;
            print_line(&format!("{n} dead alerts are pending again, due now"));
            Ok(())
        }
    }
}

fn list(config: &Config, dead: bool, json: bool) -> Result<(), Failure> {
    if !config.db_path.exists() {
        return Err(Failure::Failed(format!(
            "database {} does not exist yet: run `shopmirror sync` first",
            config.db_path.display()
        )));
    }
    let rows = Reader::open(&config.db_path)?.alerts(dead)?;
    if json {
        print_line(&serde_json::to_string_pretty(&rows).expect("alerts serialize"));
        return Ok(());
    }
    if rows.is_empty() {
        print_line(if dead {
            "no dead alerts"
        } else {
            "no undelivered alerts"
        });
    }
    for row in rows {
        print_line(&describe(&row));
    }
    Ok(())
}

/// `status`'s lines about alerts: per sink (configured, or with rows), pending, dead, the age
/// of the oldest pending alert, and whether it is paused.
pub(super) fn status(config: &Config, reader: &Reader) -> Result<(), Failure> {
    let mut stats = reader.sink_stats()?;
    for name in config.alerts.sinks.keys() {
        if !stats.iter().any(|s| &s.sink == name) {
            stats.push(SinkStats {
                sink: name.clone(),
                ..SinkStats::default()
            });
        }
    }
    stats.sort_by(|a, b| a.sink.cmp(&b.sink));
    for s in stats {
        let oldest = s
            .oldest_pending_at
            .as_deref()
            .and_then(parse_time)
            .map(|at| {
                let age = (Utc::now() - at).to_std().unwrap_or_default();
                let age = std::time::Duration::from_secs(age.as_secs());
                format!(" (oldest {} old)", humantime::format_duration(age))
            })
            .unwrap_or_default();
        let paused = match s.paused.as_deref() {
            Some("gone") => "; paused: the sink answered 410 (gone); `alerts resume` resumes it",
            Some(_) => "; suspended: failing too long; `alerts resume` resumes it",
            None => "",
        };
        let configured = match config.alerts.sinks.contains_key(&s.sink) {
            true => "",
            false => " (not configured)",
        };
        print_line(&format!(
            "alerts sink {}{configured}: {} pending{oldest}, {} dead{paused}",
            s.sink, s.pending, s.dead
        ));
    }
    Ok(())
}

fn describe(row: &AlertRow) -> String {
    let product = match (&row.store, &row.handle) {
        (Some(store), Some(handle)) => format!("{store}/{handle}"),
        _ => format!("product {}", row.product_id),
    };
    let when = match row.state.as_str() {
        "pending" => match parse_time(&row.next_attempt_at) {
            Some(at) if at > Utc::now() => format!("; next attempt {}", row.next_attempt_at),
            _ => "; due now".to_string(),
        },
        _ => String::new(),
    };
    format!(
        "{id} {state} {event} {product} rule {rule} -> sink {sink}; {attempts} failed attempts{when}{error}",
        id = row.id,
        state = row.state,
        event = row.event,
        rule = row.rule,
        sink = row.sink,
        attempts = row.attempts,
        error = row
            .last_error
            .as_deref()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default(),
    )
}

/// Sends a sample alert to `sink` and says how it answered.
fn test(config: &Config, sink: &SinkConfig) -> Result<(), Failure> {
    let runtime = super::runtime()?;
    let body = render::body(sink, &render::sample());
    let answer = runtime.block_on(async {
        let client = crate::alerts::deliver::client(config.alerts.timeout)
            .map_err(|e| Failure::Failed(format!("cannot build the HTTP client: {e}")))?;
        let id = format!("msg_test_{}", Utc::now().timestamp_millis());
        Ok::<_, Failure>(send(&client, sink, &id, &body).await)
    })?;
    let target = format!("sink {} ({})", sink.name, sink.printable_url());
    match answer {
        Answer::Status { code, .. } if (200..300).contains(&code) => {
            print_line(&format!("{target} answered {code}: sample delivered"));
            Ok(())
        }
        Answer::Status { code, .. } => Err(Failure::Failed(format!("{target} answered {code}"))),
        Answer::Timeout(e) | Answer::Connect(e) => Err(Failure::Failed(format!("{target}: {e}"))),
    }
}
