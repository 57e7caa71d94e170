use serde_json::json;

use super::*;
use crate::range::{resolve, Compare, Range, LIVE_WINDOW_MS};
use crate::time::{local_midnight, local_to_utc};

/// Sunday 2026-03-08 15:00 UTC: 11:00 in New York (the 23-hour day), 20:30 in Kolkata.
const NOW: &str = "2026-03-08T15:00:00Z";

fn days(value: serde_json::Value, now: &str, tz: Tz) -> (String, String) {
    let r = resolve(&value, ms(now), tz).unwrap_or_else(|e| panic!("{value}: {e}"));
    let (first, last) = r.whole_days().expect("whole days");
    (first.to_string(), last.to_string())
}

/// Every relative form: `(name, first, last inclusive)` at [`NOW`], the same local dates in all
/// three zones since the local date is 2026-03-08 everywhere.
const RELATIVE: [(&str, &str, &str); 11] = [
    ("day", "2026-03-08", "2026-03-08"),
    ("yesterday", "2026-03-07", "2026-03-07"),
    ("7d", "2026-03-02", "2026-03-08"),
    ("28d", "2026-02-09", "2026-03-08"),
    ("30d", "2026-02-07", "2026-03-08"),
    ("91d", "2025-12-08", "2026-03-08"),
    ("month", "2026-03-01", "2026-03-08"),
    ("last_month", "2026-02-01", "2026-02-28"),
    ("6mo", "2025-10-01", "2026-03-08"),
    ("12mo", "2025-04-01", "2026-03-08"),
    ("year", "2026-01-01", "2026-03-08"),
];

#[test]
fn relative_ranges_are_whole_local_days_ending_today() {
    assert_eq!(crate::range::RELATIVE_RANGES.len(), RELATIVE.len());
    for tz in [UTC, NY, KOLKATA] {
        for (name, first, last) in RELATIVE {
            assert!(crate::range::RELATIVE_RANGES.contains(&name));
            assert_eq!(
                days(json!(name), NOW, tz),
                (first.to_owned(), last.to_owned()),
                "{name} in {tz}"
            );
        }
    }
}

#[test]
fn relative_ranges_resolve_to_local_midnights() {
    let now = ms(NOW);
    let r = |name: &str, tz| resolve(&json!(name), now, tz).unwrap();
    // UTC
    assert_eq!(r("day", UTC).from, ms("2026-03-08T00:00:00Z"));
    assert_eq!(r("day", UTC).to, ms("2026-03-09T00:00:00Z"));
    // New York: 2026-03-08 loses an hour.
    let day = r("day", NY);
    assert_eq!(day.from, ms("2026-03-08T00:00:00-05:00"));
    assert_eq!(day.to, ms("2026-03-09T00:00:00-04:00"));
    assert_eq!(day.to - day.from, 23 * HOUR);
    assert_eq!(
        day.iso(),
        ["2026-03-08T00:00:00".to_owned(), "2026-03-09T00:00:00".to_owned()]
    );
    assert_eq!(r("6mo", NY).from, ms("2025-10-01T00:00:00-04:00"));
    assert_eq!(r("91d", NY).from, ms("2025-12-08T00:00:00-05:00"));
    assert_eq!(r("last_month", NY).to, ms("2026-03-01T00:00:00-05:00"));
    assert_eq!(r("yesterday", NY).to, ms("2026-03-08T00:00:00-05:00"));
    // Kolkata: +05:30, no DST.
    let day = r("day", KOLKATA);
    assert_eq!(day.from, ms("2026-03-07T18:30:00Z"));
    assert_eq!(day.to, ms("2026-03-08T18:30:00Z"));
    assert_eq!(r("7d", KOLKATA).from, ms("2026-03-02T00:00:00+05:30"));
    assert_eq!(r("year", KOLKATA).from, ms("2026-01-01T00:00:00+05:30"));
}

#[test]
fn today_is_the_local_date_of_now() {
    // 02:00 UTC on the 9th is 22:00 on the 8th in New York and 07:30 on the 9th in Kolkata.
    let now = "2026-03-09T02:00:00Z";
    assert_eq!(days(json!("day"), now, UTC).0, "2026-03-09");
    assert_eq!(days(json!("day"), now, NY).0, "2026-03-08");
    assert_eq!(days(json!("day"), now, KOLKATA).0, "2026-03-09");
    // 20:00 UTC on the 8th is already 01:30 on the 9th in Kolkata.
    assert_eq!(days(json!("day"), "2026-03-08T20:00:00Z", KOLKATA).0, "2026-03-09");
    // 03:00 UTC on March 1st is still February 28th in New York.
    assert_eq!(days(json!("yesterday"), "2026-03-01T03:00:00Z", NY).0, "2026-02-27");
    assert_eq!(
        days(json!("last_month"), "2026-01-15T12:00:00Z", UTC),
        ("2025-12-01".into(), "2025-12-31".into())
    );
}

#[test]
fn explicit_dates_are_inclusive_local_days() {
    let now = ms(NOW);
    let r = resolve(&json!(["2026-11-01", "2026-11-01"]), now, NY).unwrap();
    assert_eq!(r.from, ms("2026-11-01T00:00:00-04:00"));
    assert_eq!(r.to, ms("2026-11-02T00:00:00-05:00"));
    assert_eq!(r.to - r.from, 25 * HOUR);
    let r = resolve(&json!(["2026-01-01", "2026-01-31"]), now, KOLKATA).unwrap();
    assert_eq!(
        (r.from, r.to),
        (ms("2026-01-01T00:00:00+05:30"), ms("2026-02-01T00:00:00+05:30"))
    );
    assert_eq!(
        r.iso(),
        ["2026-01-01T00:00:00".to_owned(), "2026-02-01T00:00:00".to_owned()]
    );
}

#[test]
fn datetimes_are_exact_instants() {
    let now = ms(NOW);
    let r = resolve(
        &json!(["2026-01-05T10:15:00+01:00", "2026-01-05T12:00:00Z"]),
        now,
        KOLKATA,
    )
    .unwrap();
    assert_eq!((r.from, r.to), (ms("2026-01-05T09:15:00Z"), ms("2026-01-05T12:00:00Z")));
    assert_eq!(r.first, local("2026-01-05T14:45:00"));
    assert_eq!(r.last_exclusive, local("2026-01-05T17:30:00"));
    assert_eq!(r.whole_days(), None);
    let r = resolve(&json!(["2026-01-05T00:00:00.250Z", "2026-01-06T00:00:00Z"]), now, UTC).unwrap();
    assert_eq!(r.iso()[0], "2026-01-05T00:00:00.250");
}

#[test]
fn bad_ranges_are_refused() {
    let now = ms(NOW);
    let bad = [
        json!("week"),
        json!("7D"),
        json!(7),
        json!(["2026-01-01"]),
        json!(["2026-01-01", "2026-01-02", "2026-01-03"]),
        json!(["2026-01-02", "2026-01-01"]),
        json!(["2026-1-2", "2026-01-03"]),
        json!(["2026-02-30", "2026-03-01"]),
        json!(["2026-01-01", "2026-01-02T00:00:00Z"]),
        json!(["2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z"]),
        json!(["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]),
        json!(["2026-01-02T00:00:00", "2026-01-03T00:00:00"]),
        json!(["1999-12-31", "2000-01-05"]),
        json!(["2099-12-31", "2100-01-01"]),
        json!(["1999-12-31T23:00:00Z", "2000-01-02T00:00:00Z"]),
        json!(["2024-01-01", "2026-01-01"]),
        json!(["2024-01-01T00:00:00Z", "2026-01-01T00:00:01Z"]),
        json!([1, 2]),
        json!({"from": "2026-01-01"}),
    ];
    for value in bad {
        assert!(resolve(&value, now, UTC).is_err(), "{value} was accepted");
    }
    // The bounds themselves are fine: 731 days, first and last allowed dates.
    assert!(resolve(&json!(["2024-01-01", "2025-12-31"]), now, UTC).is_ok());
    assert!(resolve(&json!(["2000-01-01", "2000-01-01"]), now, UTC).is_ok());
    assert!(resolve(&json!(["2099-12-31", "2099-12-31"]), now, KOLKATA).is_ok());
    assert!(resolve(&json!("day"), ms("1999-06-01T00:00:00Z"), UTC).is_err());
}

#[test]
fn local_midnight_in_a_gap_is_the_end_of_the_gap() {
    // Santiago springs forward at local midnight: 2026-09-06 starts at 01:00 (-03).
    let santiago = chrono_tz::America::Santiago;
    assert_eq!(
        local_midnight(santiago, date("2026-09-06")),
        ms("2026-09-06T01:00:00-03:00")
    );
    let r = Range::from_dates(date("2026-09-06"), date("2026-09-06"), santiago);
    assert_eq!(r.to - r.from, 23 * HOUR);
    assert_eq!(
        r.first,
        local("2026-09-06T00:00:00"),
        "meta keeps the requested midnight"
    );
    // New York's 02:30 on 2026-03-08 does not exist: it is 03:00 EDT.
    assert_eq!(
        local_to_utc(NY, local("2026-03-08T02:30:00")),
        ms("2026-03-08T03:00:00-04:00")
    );
    // 01:30 on 2026-11-01 happens twice: the earliest is EDT.
    assert_eq!(
        local_to_utc(NY, local("2026-11-01T01:30:00")),
        ms("2026-11-01T01:30:00-04:00")
    );
}

#[test]
fn previous_period_is_as_many_days_before() {
    let now = ms(NOW);
    let r = resolve(&json!("7d"), now, NY).unwrap();
    let p = r.comparison(Compare::PreviousPeriod, false, NY);
    assert_eq!(p.whole_days(), Some((date("2026-02-23"), date("2026-03-01"))));
    assert_eq!((p.from, p.to), (ms("2026-02-23T00:00:00-05:00"), r.from));
    // The 23-hour day compares with the 24-hour day before it.
    let r = resolve(&json!("day"), now, NY).unwrap();
    let p = r.previous_period(NY);
    assert_eq!(
        (p.from, p.to),
        (ms("2026-03-07T00:00:00-05:00"), ms("2026-03-08T00:00:00-05:00"))
    );
    // Exact instants: the same length immediately before.
    let r = resolve(&json!(["2026-01-05T10:00:00Z", "2026-01-05T12:30:00Z"]), now, KOLKATA).unwrap();
    let p = r.previous_period(KOLKATA);
    assert_eq!((p.from, p.to), (ms("2026-01-05T07:30:00Z"), ms("2026-01-05T10:00:00Z")));
    assert_eq!(p.first, local("2026-01-05T13:00:00"));
}

#[test]
fn year_over_year_keeps_the_local_dates() {
    let yoy = |first: &str, last: &str| {
        let r = Range::from_dates(date(first), date(last), NY).year_over_year(NY);
        let (a, b) = r.whole_days().unwrap();
        (a.to_string(), b.to_string())
    };
    assert_eq!(
        yoy("2024-02-29", "2024-02-29"),
        ("2023-02-28".into(), "2023-02-28".into())
    );
    assert_eq!(
        yoy("2024-02-01", "2024-02-29"),
        ("2023-02-01".into(), "2023-02-28".into())
    );
    assert_eq!(
        yoy("2024-02-28", "2024-02-28"),
        ("2023-02-28".into(), "2023-02-28".into())
    );
    assert_eq!(
        yoy("2025-03-01", "2025-03-07"),
        ("2024-03-01".into(), "2024-03-07".into())
    );
    assert_eq!(
        yoy("2024-02-29", "2024-03-01"),
        ("2023-02-28".into(), "2023-03-01".into())
    );
    let r = Range::from_dates(date("2026-03-08"), date("2026-03-08"), NY).year_over_year(NY);
    assert_eq!(
        (r.from, r.to),
        (ms("2025-03-08T00:00:00-05:00"), ms("2025-03-09T00:00:00-05:00"))
    );
    // Exact instants keep their local wall times.
    let r = resolve(&json!(["2024-02-29T10:00:00Z", "2024-02-29T11:00:00Z"]), ms(NOW), UTC).unwrap();
    let y = r.comparison(Compare::YearOverYear, false, UTC);
    assert_eq!((y.from, y.to), (ms("2023-02-28T10:00:00Z"), ms("2023-02-28T11:00:00Z")));
}

/// With `match_day_of_week` the named comparisons move back by whole weeks, checked against a
/// brute force: every day of the comparison has the weekday of its day in the range, the
/// comparison ends before the range (previous period) and is as long.
#[test]
fn matching_the_day_of_week_moves_back_by_whole_weeks() {
    use chrono::Datelike;
    let now = ms(NOW);
    for name in RELATIVE.map(|r| r.0) {
        let r = resolve(&json!(name), now, NY).unwrap();
        let (first, last) = r.whole_days().unwrap();
        let days = (last - first).num_days() + 1;
        for compare in [Compare::PreviousPeriod, Compare::YearOverYear] {
            let c = r.comparison(compare, true, NY);
            let (cf, cl) = c.whole_days().unwrap();
            assert_eq!((cl - cf).num_days() + 1, days, "{name} {compare:?}");
            assert_eq!(cf.weekday(), first.weekday(), "{name} {compare:?}");
            let back = (first - cf).num_days();
            assert_eq!(back % 7, 0, "{name} {compare:?}");
            match compare {
                // The fewest weeks that do not overlap: as far back as the range is long, rounded
                // up to a week.
                Compare::PreviousPeriod => {
                    assert!(cl < first, "{name}");
                    assert!(
                        back >= days && back < days + 7,
                        "{name}: {back} days back for {days} days"
                    );
                }
                _ => assert_eq!(back, 364, "{name}"),
            }
        }
    }
    // "day" (a Sunday) meets the Sunday before, not Saturday.
    let r = resolve(&json!("day"), now, NY).unwrap();
    let c = r.comparison(Compare::PreviousPeriod, true, NY);
    assert_eq!(c.whole_days(), Some((date("2026-03-01"), date("2026-03-01"))));
    // Exact instants keep their wall times, whole weeks earlier.
    let r = resolve(&json!(["2026-01-05T10:00:00Z", "2026-01-05T12:30:00Z"]), now, KOLKATA).unwrap();
    let c = r.comparison(Compare::PreviousPeriod, true, KOLKATA);
    assert_eq!((c.from, c.to), (ms("2025-12-29T10:00:00Z"), ms("2025-12-29T12:30:00Z")));
    let c = r.comparison(Compare::YearOverYear, true, KOLKATA);
    assert_eq!((c.from, c.to), (ms("2025-01-06T10:00:00Z"), ms("2025-01-06T12:30:00Z")));
}

#[test]
fn a_custom_comparison_is_the_days_given() {
    let r = resolve(&json!("7d"), ms(NOW), NY).unwrap();
    let custom = crate::range::resolve_custom(&[json!("2025-12-01"), json!("2025-12-31")], NY).unwrap();
    let c = r.comparison(custom, false, NY);
    assert_eq!(c.whole_days(), Some((date("2025-12-01"), date("2025-12-31"))));
    assert_eq!(c.from, ms("2025-12-01T00:00:00-05:00"));
    for bad in [
        json!(["2025-12-31", "2025-12-01"]),
        json!(["2025-12-01"]),
        json!(["2025-12-01T00:00:00Z", "2025-12-02T00:00:00Z"]),
        json!(["1999-12-31", "2000-01-01"]),
        json!(["2020-01-01", "2025-01-01"]),
        json!([1, 2]),
    ] {
        let pair = bad.as_array().unwrap();
        assert!(crate::range::resolve_custom(pair, NY).is_err(), "{bad} was accepted");
    }
}

#[test]
fn the_live_window_is_the_last_five_minutes() {
    let r = Range::live(ms(NOW), KOLKATA);
    assert_eq!((r.from, r.to), (ms(NOW) - LIVE_WINDOW_MS, ms(NOW)));
    assert_eq!(LIVE_WINDOW_MS, 300_000);
}
