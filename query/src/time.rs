//! Local wall time in an IANA time zone and the time buckets of a range.
//!
//! Every boundary is a UTC instant ([`Millis`]) of a *local* boundary (midnight, the hour, the
//! Monday, the 1st), so DST is handled where it happens: a 23- or 25-hour day is one day bucket,
//! the spring-forward hour does not exist, and the fall-back hour occurs twice.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use store::analytics::TimeBuckets;
use store::Millis;

use crate::range::Range;
use crate::request::TimeUnit;

const MINUTE_MS: Millis = 60_000;
const HOUR_MS: Millis = 60 * MINUTE_MS;
const DAY_MS: Millis = 24 * HOUR_MS;
/// Every UTC offset in use since 2000 is a multiple of 15 minutes (Nepal +5:45, Chatham +12:45),
/// so every local hour boundary falls on a UTC multiple of 15 minutes.
const OFFSET_GRID_MS: Millis = 15 * MINUTE_MS;

/// One time bucket: `[from, to)` in UTC, labelled in local time.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Bucket {
    pub from: Millis,
    pub to: Millis,
    pub label: String,
}

/// The local wall time of an instant.
pub fn wall(tz: Tz, at: Millis) -> NaiveDateTime {
    let utc = DateTime::from_timestamp_millis(at).unwrap_or(DateTime::UNIX_EPOCH);
    utc.with_timezone(&tz).naive_local()
}

/// The instant of a local wall time. A wall time that occurs twice (fall back) is its earliest
/// instant; one that does not exist (spring forward, or a skipped day) is the first instant after
/// the gap (the transition itself), so a local midnight in a gap starts the day where it begins.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Millis {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.timestamp_millis(),
        chrono::LocalResult::Ambiguous(a, b) => a.timestamp_millis().min(b.timestamp_millis()),
        chrono::LocalResult::None => first_after_gap(tz, local),
    }
}

/// The first instant whose wall time is at or after `local`, which lies in a gap. Around a gap
/// wall time only grows with the instant, and offsets stay within a day, so a binary search over
/// two days either side finds the transition to the millisecond.
fn first_after_gap(tz: Tz, local: NaiveDateTime) -> Millis {
    let as_utc = local.and_utc().timestamp_millis();
    let (mut lo, mut hi) = (as_utc - 2 * DAY_MS, as_utc + 2 * DAY_MS);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall(tz, mid) >= local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The instant local `date` begins (its midnight, or the end of a gap holding it).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Millis {
    local_to_utc(tz, date.and_time(NaiveTime::MIN))
}

/// The first local hour boundaries strictly after `from` and before `to`, with `from` first.
/// Hour intervals are real UTC intervals starting at local hour boundaries: the spring-forward
/// hour is absent and the fall-back hour gives two intervals.
fn hour_starts(range: &Range, tz: Tz) -> Vec<Millis> {
    let mut starts = Vec::new();
    if range.from >= range.to {
        return starts;
    }
    starts.push(range.from);
    let mut t = range.from.div_euclid(OFFSET_GRID_MS) * OFFSET_GRID_MS + OFFSET_GRID_MS;
    while t < range.to {
        let w = wall(tz, t);
        if w.minute() == 0 && w.second() == 0 {
            starts.push(t);
        }
        t += OFFSET_GRID_MS;
    }
    starts
}

/// `(from, to, wall time of the hour start truncated to the hour)` for every local hour interval.
fn hours(range: &Range, tz: Tz) -> Vec<(Millis, Millis, NaiveDateTime)> {
    let starts = hour_starts(range, tz);
    let ends = starts.iter().skip(1).copied().chain(std::iter::once(range.to));
    starts
        .iter()
        .zip(ends)
        .map(|(&from, to)| {
            let w = wall(tz, from);
            let hour = w.date().and_hms_opt(w.hour(), 0, 0).unwrap_or(w);
            (from, to, hour)
        })
        .collect()
}

/// The first day of the `unit` bucket holding `date` (day: the date; week: its Monday; month: the 1st).
fn bucket_start(date: NaiveDate, unit: TimeUnit) -> NaiveDate {
    match unit {
        TimeUnit::Minute | TimeUnit::Hour | TimeUnit::Day => date,
        TimeUnit::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
        TimeUnit::Month => date.with_day(1).unwrap_or(date),
    }
}

/// The first day of the next `unit` bucket after the one starting at `start`.
fn next_bucket_start(start: NaiveDate, unit: TimeUnit) -> NaiveDate {
    match unit {
        TimeUnit::Minute | TimeUnit::Hour | TimeUnit::Day => start + Duration::days(1),
        TimeUnit::Week => start + Duration::days(7),
        TimeUnit::Month => start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(start + Duration::days(31)),
    }
}

fn date_label(start: NaiveDate, unit: TimeUnit) -> String {
    match unit {
        TimeUnit::Month => start.format("%Y-%m").to_string(),
        _ => start.format("%Y-%m-%d").to_string(),
    }
}

/// Buckets covering `[range.from, range.to)` in local time: hour -> `"2026-01-05 13:00"`, day ->
/// `"2026-01-05"`, week (Monday start) -> `"2026-01-05"` (the Monday, even when the range starts
/// later in that week), month -> `"2026-01"`. The first and last buckets are clipped to the range.
/// Bucket `from`s are UTC instants of local boundaries (DST aware: a 23- or 25-hour day is one day
/// bucket; hours are the real UTC hour-long intervals starting at local hour boundaries, so in a
/// fall-back repeated hour two buckets share a label). Buckets are contiguous and non-empty.
pub fn buckets(range: &Range, tz: Tz, unit: TimeUnit) -> Vec<Bucket> {
    if unit == TimeUnit::Minute {
        return minutes(range, tz);
    }
    if unit == TimeUnit::Hour {
        return hours(range, tz)
            .into_iter()
            .map(|(from, to, hour)| Bucket {
                from,
                to,
                label: hour.format("%Y-%m-%d %H:00").to_string(),
            })
            .collect();
    }
    let mut out = Vec::new();
    if range.from >= range.to {
        return out;
    }
    let mut start_date = bucket_start(wall(tz, range.from).date(), unit);
    let mut from = range.from;
    loop {
        let next_date = next_bucket_start(start_date, unit);
        let next = local_midnight(tz, next_date);
        let to = next.min(range.to);
        if to > from {
            out.push(Bucket {
                from,
                to,
                label: date_label(start_date, unit),
            });
            from = to;
        }
        if next >= range.to {
            return out;
        }
        start_date = next_date;
    }
}

/// Minute buckets, labelled `"2026-01-05 13:07"`. Every UTC offset is a whole number of minutes,
/// so local minute boundaries are UTC minute boundaries; the first and last are clipped.
fn minutes(range: &Range, tz: Tz) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut from = range.from;
    while from < range.to {
        let to = (from.div_euclid(MINUTE_MS) * MINUTE_MS + MINUTE_MS).min(range.to);
        out.push(Bucket {
            from,
            to,
            label: wall(tz, from).format("%Y-%m-%d %H:%M").to_string(),
        });
        from = to;
    }
    out
}

/// Weekday x hour cells: for every local hour interval in the range (as in [`buckets`] by hour),
/// `(from, to, cell)` with `cell = weekday_from_monday (0..7) * 24 + hour (0..24)`.
pub fn heatmap_hours(range: &Range, tz: Tz) -> Vec<(Millis, Millis, i64)> {
    hours(range, tz)
        .into_iter()
        .map(|(from, to, hour)| (from, to, heatmap_cell(hour)))
        .collect()
}

/// The heatmap cell of a local wall time.
pub fn heatmap_cell(local: NaiveDateTime) -> i64 {
    i64::from(local.weekday().num_days_from_monday()) * 24 + i64::from(local.hour())
}

/// The output columns of a heatmap cell: `(weekday, hour)` with weekday 1 = Monday .. 7 = Sunday
/// and hour 0..23.
pub fn heatmap_columns(cell: i64) -> (u64, u64) {
    let cell = cell.clamp(0, 7 * 24 - 1) as u64;
    (cell / 24 + 1, cell % 24)
}

/// The [`TimeBuckets`] of a raw aggregation for `buckets`: labels are the buckets' indexes.
pub fn time_buckets(buckets: &[Bucket]) -> TimeBuckets {
    let mut bounds: Vec<Millis> = buckets.iter().map(|b| b.from).collect();
    bounds.extend(buckets.last().map(|b| b.to));
    TimeBuckets {
        bounds,
        labels: (0..buckets.len() as i64).collect(),
    }
}

/// The [`TimeBuckets`] of a raw aggregation by heatmap cell (labels repeat: every Monday 9:00 is
/// one cell).
pub fn heatmap_time_buckets(range: &Range, tz: Tz) -> TimeBuckets {
    let cells = heatmap_hours(range, tz);
    let mut bounds: Vec<Millis> = cells.iter().map(|c| c.0).collect();
    bounds.extend(cells.last().map(|c| c.1));
    TimeBuckets {
        bounds,
        labels: cells.iter().map(|c| c.2).collect(),
    }
}
