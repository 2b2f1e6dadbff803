//! A store's cron schedule: parsing a 6-field expression (croner) and stepping to its next
//! firing. Part of the configuration; the daemon's planner only asks it for times.

use std::fmt;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// A cron schedule with seconds: `sec min hour day-of-month month day-of-week`.
#[derive(Clone)]
pub struct Schedule {
    expr: String,
    cron: Cron,
}

impl Schedule {
    /// Parses a 6-field cron expression such as `"0 0 */6 * * *"` (every 6 hours).
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let expr = text.trim().to_string();
        let refuse = |why: String| {
            format!(
                "{text:?} is not a cron schedule with 6 fields \
                 (sec min hour day month weekday, e.g. \"0 0 */6 * * *\"): {why}"
            )
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .build()
            .parse(&expr)
            .map_err(|e| refuse(e.to_string()))?;
        let schedule = Schedule { expr, cron };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(refuse("it never fires again".into()));
        }
        Ok(schedule)
    }

    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, false).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.expr
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Schedule {}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.expr)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, m, s).unwrap()
    }

    #[test]
    fn cron_has_six_fields_with_seconds() {
        let s = Schedule::parse("0 0 */6 * * *").unwrap();
        assert_eq!(s.next_after(at(1, 0, 0)), Some(at(6, 0, 0)));
        assert_eq!(s.next_after(at(6, 0, 0)), Some(at(12, 0, 0)));
        let s = Schedule::parse("30 * * * * *").unwrap();
        assert_eq!(s.next_after(at(1, 0, 0)), Some(at(1, 0, 30)));
        for bad in ["", "every day", "0 0 */6 * * * * *", "61 * * * * *"] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
