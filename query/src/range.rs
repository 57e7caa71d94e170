//! Date ranges: the `date_range` forms of a request resolved in a time zone, and the comparison
//! ranges of `compare`.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use store::Millis;

use crate::time::{local_midnight, local_to_utc, wall};

/// Longest range a query may cover, in days (two years, one of them a leap year).
pub const MAX_RANGE_DAYS: i64 = 731;
/// The earliest local date a range may start on.
pub const MIN_DATE: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
/// The local date a range must end by (exclusive).
pub const MAX_DATE: NaiveDate = NaiveDate::from_ymd_opt(2100, 1, 1).expect("a valid date");
/// How far back `live_visitors` looks, ms.
pub const LIVE_WINDOW_MS: Millis = 5 * 60_000;

const DAY_MS: Millis = 86_400_000;

/// A resolved range: the instants `[from, to)` and the local wall times they stand for.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Range {
    /// First instant, UTC ms.
    pub from: Millis,
    /// End instant, exclusive.
    pub to: Millis,
    /// Local wall time of the start, for `meta` (the requested local midnight of a whole-day
    /// range, even when a DST gap makes the day start later).
    pub first: NaiveDateTime,
    /// Local wall time of the end, exclusive.
    pub last_exclusive: NaiveDateTime,
}

/// The `compare` option of a request.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Compare {
    /// The same length immediately before the range (for whole-day ranges: as many local days).
    PreviousPeriod,
    /// The same local dates (and times) one year earlier, Feb 29 becoming Feb 28.
    YearOverYear,
    /// Whole local days the owner chose, `first <= last`, of any length: time buckets still
    /// match by position, so a shorter range leaves the last buckets without a comparison.
    Custom { first: NaiveDate, last: NaiveDate },
}

impl Compare {
    pub fn name(&self) -> &'static str {
        match self {
            Compare::PreviousPeriod => "previous_period",
            Compare::YearOverYear => "year_over_year",
            Compare::Custom { .. } => "custom",
        }
    }

    /// The named comparisons (a custom one is a pair of dates, see [`resolve_custom`]).
    pub fn parse(name: &str) -> Option<Compare> {
        match name {
            "previous_period" => Some(Compare::PreviousPeriod),
            "year_over_year" => Some(Compare::YearOverYear),
            _ => None,
        }
    }
}

/// `match_day_of_week` and a custom comparison range exclude each other: the owner chose the
/// custom days already.
pub const MATCH_DAY_OF_WEEK_NAMED_ONLY: &str =
    "applies to \"previous_period\" and \"year_over_year\"; a custom comparison range is used as given";

/// Wall time formatting for `meta`: ISO 8601 without offset, fractions only when present.
fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

/// The same date one year earlier; Feb 29 becomes Feb 28.
fn year_earlier(date: NaiveDate) -> NaiveDate {
    date.with_year(date.year() - 1)
        .or_else(|| NaiveDate::from_ymd_opt(date.year() - 1, date.month(), 28))
        .unwrap_or(date)
}

impl Range {
    /// The whole local days `first ..= last` (`first <= last`).
    pub fn from_dates(first: NaiveDate, last: NaiveDate, tz: Tz) -> Range {
        let end = last + Duration::days(1);
        Range {
            from: local_midnight(tz, first),
            to: local_midnight(tz, end),
            first: first.and_time(NaiveTime::MIN),
            last_exclusive: end.and_time(NaiveTime::MIN),
        }
    }

    /// The exact instants `[from, to)`.
    pub fn from_instants(from: Millis, to: Millis, tz: Tz) -> Range {
        Range {
            from,
            to,
            first: wall(tz, from),
            last_exclusive: wall(tz, to),
        }
    }

    /// The `live_visitors` window: the [`LIVE_WINDOW_MS`] before `now`.
    pub fn live(now: Millis, tz: Tz) -> Range {
        Range::from_instants(now - LIVE_WINDOW_MS, now, tz)
    }

    /// `(first, last)` local dates, inclusive, when the range is whole local days.
    pub fn whole_days(&self) -> Option<(NaiveDate, NaiveDate)> {
        let midnight = |t: NaiveDateTime| t.time() == NaiveTime::MIN;
        (midnight(self.first) && midnight(self.last_exclusive) && self.first < self.last_exclusive)
            .then(|| (self.first.date(), self.last_exclusive.date() - Duration::days(1)))
    }

    /// `[first, last_exclusive]` as local ISO wall times (`"2026-01-05T00:00:00"`), for `meta`.
    pub fn iso(&self) -> [String; 2] {
        [iso(self.first), iso(self.last_exclusive)]
    }

    /// The range `compare` compares this one with. With `match_day_of_week`, the named
    /// comparisons move back by whole weeks instead, so each day meets the same weekday (Mondays
    /// against Mondays, which matters for sites whose weekends differ from their weekdays):
    /// the previous period by the fewest weeks that do not overlap the range, a year by 52 weeks
    /// (364 days).
    pub fn comparison(&self, compare: Compare, match_day_of_week: bool, tz: Tz) -> Range {
        match (compare, match_day_of_week) {
            (Compare::PreviousPeriod, false) => self.previous_period(tz),
            (Compare::YearOverYear, false) => self.year_over_year(tz),
            (Compare::PreviousPeriod, true) => self.weeks_earlier(self.weeks_spanned(), tz),
            (Compare::YearOverYear, true) => self.weeks_earlier(52, tz),
            (Compare::Custom { first, last }, _) => Range::from_dates(first, last, tz),
        }
    }

    /// The whole weeks the range spans, rounded up: local days for whole-day ranges, else
    /// elapsed time (at least one).
    fn weeks_spanned(&self) -> i64 {
        let days = match self.whole_days() {
            Some((first, last)) => (last - first).num_days() + 1,
            None => (self.to - self.from + DAY_MS - 1) / DAY_MS,
        };
        ((days + 6) / 7).max(1)
    }

    /// The same local wall times `weeks` weeks earlier (weekdays kept).
    pub fn weeks_earlier(&self, weeks: i64, tz: Tz) -> Range {
        let back = Duration::days(7 * weeks);
        if let Some((first, last)) = self.whole_days() {
            return Range::from_dates(first - back, last - back, tz);
        }
        Range::from_walls(self.first - back, self.last_exclusive - back, tz)
    }

    /// The same length immediately before `from`; for whole-day ranges, as many local days.
    pub fn previous_period(&self, tz: Tz) -> Range {
        if let Some((first, last)) = self.whole_days() {
            let days = (last - first).num_days() + 1;
            return Range::from_dates(first - Duration::days(days), first - Duration::days(1), tz);
        }
        Range::from_instants(self.from - (self.to - self.from), self.from, tz)
    }

    /// The same local dates one year earlier (Feb 29 -> Feb 28); for other ranges, the same
    /// local wall times one year earlier.
    pub fn year_over_year(&self, tz: Tz) -> Range {
        if let Some((first, last)) = self.whole_days() {
            return Range::from_dates(year_earlier(first), year_earlier(last), tz);
        }
        let shift = |t: NaiveDateTime| year_earlier(t.date()).and_time(t.time());
        Range::from_walls(shift(self.first), shift(self.last_exclusive), tz)
    }

    /// The instants of the local wall times `[first, last_exclusive)` (a gap or an overlap at
    /// either end can make them meet: never reversed).
    fn from_walls(first: NaiveDateTime, last_exclusive: NaiveDateTime, tz: Tz) -> Range {
        let (from, to) = (local_to_utc(tz, first), local_to_utc(tz, last_exclusive));
        Range {
            from,
            to: to.max(from),
            first,
            last_exclusive,
        }
    }
}

/// Why a `date_range` was refused (the message of a `date_range` error).
pub type RangeError = String;

fn date_span_check(first: NaiveDate, last: NaiveDate) -> Result<(), RangeError> {
    if first > last {
        return Err(format!("the first date {first} is after the last date {last}"));
    }
    if first < MIN_DATE || last >= MAX_DATE {
        return Err(format!("dates must lie between {MIN_DATE} and {MAX_DATE}"));
    }
    let days = (last - first).num_days() + 1;
    if days > MAX_RANGE_DAYS {
        return Err(format!("covers {days} days; at most {MAX_RANGE_DAYS} are allowed"));
    }
    Ok(())
}

fn whole_days(first: NaiveDate, last: NaiveDate, tz: Tz) -> Result<Range, RangeError> {
    date_span_check(first, last)?;
    let range = Range::from_dates(first, last, tz);
    if range.from >= range.to {
        return Err(format!("{first} .. {last} does not exist in {}", tz.name()));
    }
    Ok(range)
}

/// The relative forms: `day`, `yesterday`, `7d`, `28d`, `30d`, `91d`, `month`, `last_month`,
/// `6mo`, `12mo`, `year`. All are whole local days; all but `yesterday` and `last_month` end with
/// today (the local date of `now` in `tz`).
pub const RELATIVE_RANGES: [&str; 11] = [
    "day",
    "yesterday",
    "7d",
    "28d",
    "30d",
    "91d",
    "month",
    "last_month",
    "6mo",
    "12mo",
    "year",
];

fn relative(name: &str, now: Millis, tz: Tz) -> Option<Result<Range, RangeError>> {
    let today = wall(tz, now).date();
    let month_start = today.with_day(1)?;
    let months_back = |n: u32| month_start.checked_sub_months(Months::new(n));
    let days = |n: i64| today - Duration::days(n - 1);
    let (first, last) = match name {
        "day" => (today, today),
        "yesterday" => (today - Duration::days(1), today - Duration::days(1)),
        "7d" => (days(7), today),
        "28d" => (days(28), today),
        "30d" => (days(30), today),
        "91d" => (days(91), today),
        "month" => (month_start, today),
        "last_month" => (months_back(1)?, month_start - Duration::days(1)),
        "6mo" => (months_back(5)?, today),
        "12mo" => (months_back(11)?, today),
        "year" => (today.with_ordinal(1)?, today),
        _ => return None,
    };
    Some(whole_days(first, last, tz))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
    shape.then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).flatten()
}

fn parse_instant(s: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Resolves a `date_range` value at `now` in `tz`.
pub fn resolve(value: &serde_json::Value, now: Millis, tz: Tz) -> Result<Range, RangeError> {
    use serde_json::Value;
    const FORMS: &str = "a name (day, yesterday, 7d, 28d, 30d, 91d, month, last_month, 6mo, 12mo, year), \
                         [\"YYYY-MM-DD\", \"YYYY-MM-DD\"] (inclusive local dates) or two RFC 3339 datetimes \
                         (end exclusive)";
    match value {
        Value::String(name) => {
            relative(name, now, tz).unwrap_or_else(|| Err(format!("unknown range {name:?}; expected {FORMS}")))
        }
        Value::Array(pair) if pair.len() == 2 => {
            let (Some(a), Some(b)) = (pair[0].as_str(), pair[1].as_str()) else {
                return Err(format!("expected {FORMS}"));
            };
            if let (Some(first), Some(last)) = (parse_date(a), parse_date(b)) {
                return whole_days(first, last, tz);
            }
            match (parse_instant(a), parse_instant(b)) {
                (Some(from), Some(to)) => instants(from, to, tz),
                _ => Err(format!(
                    "{a:?} and {b:?} are not two dates (YYYY-MM-DD) nor two RFC 3339 datetimes (2026-01-05T13:00:00+01:00)"
                )),
            }
        }
        _ => Err(format!("expected {FORMS}")),
    }
}

/// A custom `compare` value: `["YYYY-MM-DD", "YYYY-MM-DD"]`, inclusive local dates under the
/// limits of a `date_range`.
pub fn resolve_custom(pair: &[serde_json::Value], tz: Tz) -> Result<Compare, RangeError> {
    let dates = match pair {
        [a, b] => a.as_str().and_then(parse_date).zip(b.as_str().and_then(parse_date)),
        _ => None,
    };
    let Some((first, last)) = dates else {
        return Err(
            "a custom comparison is two dates, [\"YYYY-MM-DD\", \"YYYY-MM-DD\"] (inclusive local dates)".to_owned(),
        );
    };
    whole_days(first, last, tz)?;
    Ok(Compare::Custom { first, last })
}

fn instants(from: Millis, to: Millis, tz: Tz) -> Result<Range, RangeError> {
    if from >= to {
        return Err("the start must be before the end".to_owned());
    }
    let range = Range::from_instants(from, to, tz);
    if range.first.date() < MIN_DATE || range.last_exclusive > MAX_DATE.and_time(NaiveTime::MIN) {
        return Err(format!("dates must lie between {MIN_DATE} and {MAX_DATE}"));
    }
    if to - from > MAX_RANGE_DAYS * DAY_MS {
        return Err(format!("covers more than {MAX_RANGE_DAYS} days"));
    }
    Ok(range)
}
