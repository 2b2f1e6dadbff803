//! A store's cron schedule as people write it (5 fields, 6 with seconds first, or @hourly,
//! @daily, @weekly, @monthly, @yearly) in an IANA time zone, and stepping to its next firing
//! across daylight-saving changes. Part of the configuration; the daemon asks it for times and
//! for the 6-field pattern its cron jobs are made from.

use std::fmt;

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, Direction, JobType};

/// A cron schedule read in a time zone.
#[derive(Clone)]
pub struct Schedule {
    /// As written (trimmed).
    expr: String,
    /// The same schedule in 6 fields, seconds first (what tokio-cron-scheduler reads).
    six: String,
    cron: Cron,
    zone: Tz,
}

/// A text that is not a usable cron schedule, and why.
#[derive(Debug, thiserror::Error)]
#[error(
    "{text:?} is not a cron schedule (5 fields \"min hour day month weekday\" such as \
     \"0 */6 * * *\", 6 with seconds first, or @hourly, @daily, @weekly, @monthly): {why}"
)]
pub struct BadSchedule {
    pub text: String,
    pub why: String,
}

/// A text that is not an IANA time zone name.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IANA time zone name such as \"UTC\" or \"Europe/Berlin\"")]
pub struct BadZone(pub String);

/// Parses an IANA time zone name (`UTC`, `Europe/Berlin`, ...).
pub fn parse_zone(text: &str) -> Result<Tz, BadZone> {
    text.trim()
        .parse::<Tz>()
        .map_err(|_| BadZone(text.to_string()))
}

/// The 6-field form of a nickname.
fn nickname(text: &str) -> Option<&'static str> {
    Some(match text.to_ascii_lowercase().as_str() {
        "@hourly" => "0 0 * * * *",
        "@daily" | "@midnight" => "0 0 0 * * *",
        "@weekly" => "0 0 0 * * 0",
        "@monthly" => "0 0 0 1 * *",
        "@yearly" | "@annually" => "0 0 0 1 1 *",
        _ => return None,
    })
}

impl Schedule {
    /// Parses `text` as a schedule read in `zone`.
    pub fn parse(text: &str, zone: Tz) -> Result<Schedule, BadSchedule> {
        let expr = text.trim().to_string();
        let refuse = |why: &str| BadSchedule {
            text: text.to_string(),
            why: why.to_string(),
        };
        let six = if expr.starts_with('@') {
            nickname(&expr)
                .ok_or_else(|| refuse("unknown nickname"))?
                .to_string()
        } else {
            let fields: Vec<&str> = expr.split_whitespace().collect();
            match fields.len() {
                5 => format!("0 {}", fields.join(" ")),
                6 => fields.join(" "),
                n => return Err(refuse(&format!("it has {n} fields"))),
            }
        };
        let fields: Vec<&str> = six.split_whitespace().collect();
        let any = |f: &str| f == "*" || f == "?";
        if !any(fields[3]) && !any(fields[5]) {
            // Vixie cron runs on either day, other crons (and tokio-cron-scheduler) on both.
            return Err(refuse(
                "it restricts both the day of the month and the weekday, which cron \
                 implementations read differently (either or both); restrict only one",
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Disallowed)
            .build()
            .parse(&six)
            .map_err(|e| refuse(&e.to_string()))?;
        let schedule = Schedule {
            expr,
            six,
            cron,
            zone,
        };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(refuse("it never fires again"));
        }
        Ok(schedule)
    }

    /// The first firing strictly after `t`. Across daylight-saving changes a time of day that
    /// does not exist (spring forward) fires once at the first time after the gap, and one
    /// that exists twice (fall back) fires once, at its first occurrence; a schedule with
    /// wildcard hours or minutes fires at each real time that matches.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.first_after(t.with_timezone(&self.zone), t)?;
        // croner walks wall time forward, so from the first pass of a repeated (fall-back)
        // hour it never returns to that hour's second pass: a wildcard schedule looks there
        // too, from the instant the clocks went back.
        let wildcard = self.cron.determine_job_type() == JobType::IntervalWildcard;
        if !wildcard || self.offset_at(first) >= self.offset_at(t) {
            return Some(first);
        }
        let back = self.clocks_went_back(t, first).with_timezone(&self.zone);
        Some(
            self.first_after(back, t)
                .map_or(first, |second| second.min(first)),
        )
    }

    /// The first firing strictly after `t` found searching from `from` on. In a repeated
    /// (fall-back) hour croner answers a wall time's first occurrence even when `t` lies past
    /// it, and a wildcard schedule's second occurrence before the next wall time's first: the
    /// earliest of its first answers that lies after `t` is the one.
    fn first_after(&self, from: DateTime<Tz>, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .iter_from(from, Direction::Forward)
            .take(4)
            .map(|at| at.with_timezone(&Utc))
            .filter(|at| *at > t)
            .min()
    }

    /// The first second in `(from, to]` with `to`'s (smaller) UTC offset.
    fn clocks_went_back(&self, mut from: DateTime<Utc>, mut to: DateTime<Utc>) -> DateTime<Utc> {
        let before = self.offset_at(from);
        while to - from > chrono::Duration::seconds(1) {
            let mid = from + (to - from) / 2;
            if self.offset_at(mid) == before {
                from = mid;
            } else {
                to = mid;
            }
        }
        to
    }

    /// The next `n` firings after `t`.
    pub fn next_n(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut from = t;
        while out.len() < n {
            let Some(at) = self.next_after(from) else {
                break;
            };
            out.push(at);
            from = at;
        }
        out
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    /// Six fields, seconds first.
    pub fn six_fields(&self) -> &str {
        &self.six
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The zone's offset from UTC (seconds east) at `t`.
    pub fn offset_at(&self, t: DateTime<Utc>) -> i32 {
        self.zone
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// `t` as wall time in the schedule's zone, with the zone's abbreviation.
    pub fn local(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.zone == other.zone
    }
}

impl Eq for Schedule {}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?} in {})", self.expr, self.zone)
    }
}

#[cfg(test)]
mod tests;
