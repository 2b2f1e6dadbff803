//! Cron forms, zones, and the two daylight-saving days of Europe/Berlin in 2026 (spring
//! forward on 29 March at 01:00 UTC, fall back on 25 October at 01:00 UTC).

use chrono::TimeZone;
use chrono_tz::{Europe::Berlin, UTC};

use super::*;

fn utc(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, mo, d, h, mi, 0).unwrap()
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, h, m, s).unwrap()
}

#[test]
fn five_fields_six_fields_and_nicknames() {
    let s = Schedule::parse("0 */6 * * *", UTC).unwrap();
    assert_eq!(s.six_fields(), "0 0 */6 * * *");
    assert_eq!(s.next_after(at(1, 0, 0)), Some(at(6, 0, 0)));
    assert_eq!(s.next_after(at(6, 0, 0)), Some(at(12, 0, 0)));
    let s = Schedule::parse("30 * * * * *", UTC).unwrap();
    assert_eq!(s.next_after(at(1, 0, 0)), Some(at(1, 0, 30)));
    let s = Schedule::parse("@hourly", UTC).unwrap();
    assert_eq!(s.next_after(at(1, 0, 0)), Some(at(2, 0, 0)));
    let s = Schedule::parse("@daily", UTC).unwrap();
    assert_eq!(s.next_after(at(1, 0, 0)), Some(utc(1, 2, 0, 0)));
    // 2026-01-01 is a Thursday: the next Sunday is the 4th.
    let s = Schedule::parse("@weekly", UTC).unwrap();
    assert_eq!(s.next_after(at(1, 0, 0)), Some(utc(1, 4, 0, 0)));
    let s = Schedule::parse("@monthly", UTC).unwrap();
    assert_eq!(s.next_after(at(1, 0, 0)), Some(utc(2, 1, 0, 0)));
    assert_eq!(s.as_str(), "@monthly");
}

#[test]
fn wrong_expressions_say_what_is_wrong() {
    for (bad, why) in [
        ("", "0 fields"),
        ("every day", "2 fields"),
        ("0 0 */6 * * * *", "7 fields"),
        ("@often", "unknown nickname"),
        ("61 * * * * *", ""),
        ("0 0 1 * MON", "both the day of the month and the weekday"),
        ("0 0 30 2 *", "never fires"),
    ] {
        let e = Schedule::parse(bad, UTC).unwrap_err();
        assert!(e.why.contains(why), "{bad:?}: {e}");
        assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
    }
}

#[test]
fn zones_are_iana_names() {
    assert_eq!(parse_zone("Europe/Berlin").unwrap(), Berlin);
    assert_eq!(parse_zone(" UTC ").unwrap(), UTC);
    let e = parse_zone("Mars/Olympus").unwrap_err().to_string();
    assert!(
        e.contains("\"Mars/Olympus\" is not an IANA time zone"),
        "{e}"
    );
}

#[test]
fn a_schedule_reads_wall_time_in_its_zone() {
    let s = Schedule::parse("0 9 * * *", Berlin).unwrap();
    // Winter: 09:00 CET is 08:00 UTC; summer: 09:00 CEST is 07:00 UTC.
    assert_eq!(s.next_after(utc(1, 1, 0, 0)), Some(utc(1, 1, 8, 0)));
    assert_eq!(s.next_after(utc(7, 1, 0, 0)), Some(utc(7, 1, 7, 0)));
    assert_eq!(s.local(utc(7, 1, 7, 0)), "2026-07-01 09:00:00 CEST");
    assert_eq!(s.offset_at(utc(1, 1, 0, 0)), 3600);
    assert_eq!(s.offset_at(utc(7, 1, 0, 0)), 7200);
}

#[test]
fn spring_forward_day_fires_once_just_after_the_gap() {
    // 02:30 does not exist on 29 March: clocks jump from 02:00 CET to 03:00 CEST.
    let s = Schedule::parse("30 2 * * *", Berlin).unwrap();
    let firings = s.next_n(utc(3, 28, 0, 0), 3);
    assert_eq!(
        firings,
        [utc(3, 28, 1, 30), utc(3, 29, 1, 0), utc(3, 30, 0, 30)]
    );
    let local: Vec<String> = firings.iter().map(|t| s.local(*t)).collect();
    assert_eq!(
        local,
        [
            "2026-03-28 02:30:00 CET",
            "2026-03-29 03:00:00 CEST",
            "2026-03-30 02:30:00 CEST"
        ]
    );
}

#[test]
fn fall_back_day_fires_once_at_the_first_occurrence() {
    // 02:30 exists twice on 25 October: 00:30 UTC (CEST) and 01:30 UTC (CET).
    let s = Schedule::parse("30 2 * * *", Berlin).unwrap();
    let firings = s.next_n(utc(10, 24, 0, 0), 3);
    assert_eq!(
        firings,
        [utc(10, 24, 0, 30), utc(10, 25, 0, 30), utc(10, 26, 1, 30)]
    );
    // Asked from inside the repeated hour, after the first 02:30 (a restart, or a run that
    // ended there): not the second 02:30, and not the first one in the past either.
    assert_eq!(s.next_after(utc(10, 25, 1, 10)), Some(utc(10, 26, 1, 30)));
    assert_eq!(s.next_after(utc(10, 25, 0, 30)), Some(utc(10, 26, 1, 30)));
}

#[test]
fn wildcard_schedules_fire_at_every_real_time_through_the_repeated_hour() {
    let s = Schedule::parse("*/30 * * * *", Berlin).unwrap();
    let firings = s.next_n(utc(10, 24, 23, 50), 8);
    let expected: Vec<_> = (0..8)
        .map(|i| utc(10, 25, 0, 0) + chrono::Duration::minutes(30 * i))
        .collect();
    assert_eq!(firings, expected);
    // From inside the repeated hour, the next is the next real half hour.
    assert_eq!(s.next_after(utc(10, 25, 1, 10)), Some(utc(10, 25, 1, 30)));
}
