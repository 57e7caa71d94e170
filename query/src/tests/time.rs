use super::*;
use crate::range::Range;
use crate::request::TimeUnit;
use crate::time::{buckets, heatmap_columns, heatmap_hours, heatmap_time_buckets, time_buckets, Bucket};

fn labels(b: &[Bucket]) -> Vec<&str> {
    b.iter().map(|b| b.label.as_str()).collect()
}

/// Buckets are contiguous, non-empty and cover the range exactly.
fn check_cover(b: &[Bucket], range: &Range) {
    assert_eq!(b.first().unwrap().from, range.from);
    assert_eq!(b.last().unwrap().to, range.to);
    for w in b.windows(2) {
        assert_eq!(w[0].to, w[1].from);
    }
    assert!(b.iter().all(|b| b.from < b.to));
}

#[test]
fn day_buckets() {
    let range = Range::from_dates(date("2026-03-02"), date("2026-03-08"), UTC);
    let b = buckets(&range, UTC, TimeUnit::Day);
    check_cover(&b, &range);
    assert_eq!(
        labels(&b),
        [
            "2026-03-02",
            "2026-03-03",
            "2026-03-04",
            "2026-03-05",
            "2026-03-06",
            "2026-03-07",
            "2026-03-08"
        ]
    );
    assert!(b.iter().all(|b| b.to - b.from == 24 * HOUR));
}

#[test]
fn day_buckets_across_dst() {
    let range = Range::from_dates(date("2026-03-07"), date("2026-03-09"), NY);
    let b = buckets(&range, NY, TimeUnit::Day);
    check_cover(&b, &range);
    assert_eq!(labels(&b), ["2026-03-07", "2026-03-08", "2026-03-09"]);
    assert_eq!(
        b.iter().map(|b| (b.to - b.from) / HOUR).collect::<Vec<_>>(),
        [24, 23, 24]
    );
    assert_eq!(b[1].from, ms("2026-03-08T00:00:00-05:00"));

    let range = Range::from_dates(date("2026-10-31"), date("2026-11-02"), NY);
    let b = buckets(&range, NY, TimeUnit::Day);
    assert_eq!(
        b.iter().map(|b| (b.to - b.from) / HOUR).collect::<Vec<_>>(),
        [24, 25, 24]
    );

    let range = Range::from_dates(date("2026-03-07"), date("2026-03-08"), KOLKATA);
    let b = buckets(&range, KOLKATA, TimeUnit::Day);
    assert_eq!(b[1].from, ms("2026-03-07T18:30:00Z"));
}

#[test]
fn a_day_starting_after_a_gap_is_labelled_by_its_date() {
    let santiago = chrono_tz::America::Santiago;
    let range = Range::from_dates(date("2026-09-05"), date("2026-09-07"), santiago);
    let b = buckets(&range, santiago, TimeUnit::Day);
    check_cover(&b, &range);
    assert_eq!(labels(&b), ["2026-09-05", "2026-09-06", "2026-09-07"]);
    assert_eq!(b[1].to - b[1].from, 23 * HOUR);
    let h = buckets(
        &Range::from_dates(date("2026-09-06"), date("2026-09-06"), santiago),
        santiago,
        TimeUnit::Hour,
    );
    assert_eq!(h.len(), 23);
    assert_eq!(h[0].label, "2026-09-06 01:00");
}

#[test]
fn hour_buckets_on_the_spring_forward_day() {
    let range = Range::from_dates(date("2026-03-08"), date("2026-03-08"), NY);
    let b = buckets(&range, NY, TimeUnit::Hour);
    check_cover(&b, &range);
    assert_eq!(b.len(), 23);
    assert_eq!(
        labels(&b)[..4],
        [
            "2026-03-08 00:00",
            "2026-03-08 01:00",
            "2026-03-08 03:00",
            "2026-03-08 04:00"
        ]
    );
    assert_eq!(b[22].label, "2026-03-08 23:00");
    assert!(b.iter().all(|b| b.to - b.from == HOUR));
}

#[test]
fn hour_buckets_on_the_fall_back_day() {
    let range = Range::from_dates(date("2026-11-01"), date("2026-11-01"), NY);
    let b = buckets(&range, NY, TimeUnit::Hour);
    check_cover(&b, &range);
    assert_eq!(b.len(), 25);
    assert_eq!(
        labels(&b)[..4],
        [
            "2026-11-01 00:00",
            "2026-11-01 01:00",
            "2026-11-01 01:00",
            "2026-11-01 02:00"
        ]
    );
    assert_eq!(b[1].from, ms("2026-11-01T01:00:00-04:00"));
    assert_eq!(b[2].from, ms("2026-11-01T01:00:00-05:00"));
    assert!(b.iter().all(|b| b.to - b.from == HOUR));
}

#[test]
fn hour_buckets_in_a_half_hour_zone() {
    let range = Range::from_dates(date("2026-03-08"), date("2026-03-08"), KOLKATA);
    let b = buckets(&range, KOLKATA, TimeUnit::Hour);
    check_cover(&b, &range);
    assert_eq!(b.len(), 24);
    assert_eq!(b[0].from, ms("2026-03-07T18:30:00Z"));
    assert_eq!(b[13].label, "2026-03-08 13:00");
    assert_eq!(b[13].from, ms("2026-03-08T07:30:00Z"));
}

#[test]
fn first_and_last_buckets_are_clipped() {
    let range = Range::from_instants(ms("2026-01-05T10:15:00Z"), ms("2026-01-05T12:30:00Z"), UTC);
    let b = buckets(&range, UTC, TimeUnit::Hour);
    check_cover(&b, &range);
    assert_eq!(labels(&b), ["2026-01-05 10:00", "2026-01-05 11:00", "2026-01-05 12:00"]);
    assert_eq!(b[0].to, ms("2026-01-05T11:00:00Z"));

    let b = buckets(&range, UTC, TimeUnit::Day);
    assert_eq!(
        b,
        vec![Bucket {
            from: range.from,
            to: range.to,
            label: "2026-01-05".into()
        }]
    );

    // Kolkata: 10:15Z is 15:45 local, so the first hour is 15:00, clipped to 15:45.
    let b = buckets(&range, KOLKATA, TimeUnit::Hour);
    check_cover(&b, &range);
    assert_eq!(labels(&b), ["2026-01-05 15:00", "2026-01-05 16:00", "2026-01-05 17:00"]);
    assert_eq!(b[1].from, ms("2026-01-05T10:30:00Z"));

    assert!(buckets(&Range::from_instants(5, 5, UTC), UTC, TimeUnit::Day).is_empty());
    assert!(buckets(&Range::from_instants(5, 5, UTC), UTC, TimeUnit::Hour).is_empty());
}

#[test]
fn week_buckets_start_on_monday() {
    // 2026-01-07 is a Wednesday, 2026-01-20 a Tuesday.
    let range = Range::from_dates(date("2026-01-07"), date("2026-01-20"), UTC);
    let b = buckets(&range, UTC, TimeUnit::Week);
    check_cover(&b, &range);
    assert_eq!(labels(&b), ["2026-01-05", "2026-01-12", "2026-01-19"]);
    assert_eq!(b[0].from, ms("2026-01-07T00:00:00Z"));
    assert_eq!(b[1].from, ms("2026-01-12T00:00:00Z"));
    assert_eq!(b[2].to, ms("2026-01-21T00:00:00Z"));
    // A week holding the spring-forward day is 7 * 24 - 1 hours.
    let range = Range::from_dates(date("2026-03-02"), date("2026-03-15"), NY);
    let b = buckets(&range, NY, TimeUnit::Week);
    assert_eq!(labels(&b), ["2026-03-02", "2026-03-09"]);
    assert_eq!(b[0].to - b[0].from, (7 * 24 - 1) * HOUR);
}

#[test]
fn month_buckets() {
    let range = Range::from_dates(date("2025-11-15"), date("2026-02-10"), NY);
    let b = buckets(&range, NY, TimeUnit::Month);
    check_cover(&b, &range);
    assert_eq!(labels(&b), ["2025-11", "2025-12", "2026-01", "2026-02"]);
    assert_eq!(b[1].from, ms("2025-12-01T00:00:00-05:00"));
    assert_eq!(b[1].to - b[1].from, 31 * 24 * HOUR);
    let range = Range::from_dates(date("2026-10-01"), date("2026-11-30"), NY);
    let b = buckets(&range, NY, TimeUnit::Month);
    assert_eq!(
        b[1].to - b[1].from,
        (30 * 24 + 1) * HOUR,
        "November holds the 25-hour day"
    );
    let range = Range::from_dates(date("2024-01-01"), date("2025-12-31"), UTC);
    assert_eq!(buckets(&range, UTC, TimeUnit::Month).len(), 24);
    assert_eq!(buckets(&range, UTC, TimeUnit::Day).len(), 731);
}

#[test]
fn heatmap_cells_are_weekday_and_hour() {
    // 2026-01-05 is a Monday, 2026-01-11 a Sunday.
    let monday = heatmap_hours(&Range::from_dates(date("2026-01-05"), date("2026-01-05"), UTC), UTC);
    assert_eq!(
        monday.iter().map(|c| c.2).collect::<Vec<_>>(),
        (0..24).collect::<Vec<_>>()
    );
    assert_eq!(monday[9], (ms("2026-01-05T09:00:00Z"), ms("2026-01-05T10:00:00Z"), 9));
    let week = heatmap_hours(
        &Range::from_dates(date("2026-01-05"), date("2026-01-11"), KOLKATA),
        KOLKATA,
    );
    assert_eq!(week.len(), 168);
    assert_eq!(
        week.iter().map(|c| c.2).collect::<Vec<_>>(),
        (0..168).collect::<Vec<_>>()
    );
    assert_eq!(week[0].0, ms("2026-01-04T18:30:00Z"));
    // 2026-11-01 is a Sunday with 1:00 twice in New York.
    let fall = heatmap_hours(&Range::from_dates(date("2026-11-01"), date("2026-11-01"), NY), NY);
    assert_eq!(fall.len(), 25);
    assert_eq!(fall.iter().filter(|c| c.2 == 6 * 24 + 1).count(), 2);
    assert_eq!(fall[24].2, 6 * 24 + 23);

    assert_eq!(heatmap_columns(0), (1, 0));
    assert_eq!(heatmap_columns(6 * 24 + 23), (7, 23));
    assert_eq!(heatmap_columns(24 + 9), (2, 9));

    let tb = heatmap_time_buckets(&Range::from_dates(date("2026-01-05"), date("2026-01-06"), UTC), UTC);
    assert_eq!(tb.bounds.len(), 49);
    assert_eq!(tb.label_of(ms("2026-01-06T09:59:00Z")), Some(24 + 9));
    assert_eq!(tb.label_of(ms("2026-01-07T00:00:00Z")), None);
}

#[test]
fn time_buckets_for_raw_aggregations() {
    let range = Range::from_dates(date("2026-03-07"), date("2026-03-09"), NY);
    let b = buckets(&range, NY, TimeUnit::Day);
    let tb = time_buckets(&b);
    assert_eq!(tb.bounds, vec![b[0].from, b[1].from, b[2].from, b[2].to]);
    assert_eq!(tb.labels, vec![0, 1, 2]);
    assert_eq!(tb.label_of(ms("2026-03-08T23:59:59-04:00")), Some(1));
    assert_eq!(time_buckets(&[]).bounds, Vec::<Millis>::new());
}

#[test]
fn minute_buckets_are_local_minutes_clipped_to_the_range() {
    // 13:07:30 to 13:10:00 UTC, shown in Kathmandu (+05:45): minute boundaries stay minute boundaries.
    let from = chrono::DateTime::parse_from_rfc3339("2026-03-02T13:07:30Z")
        .unwrap()
        .timestamp_millis();
    let range = Range::from_instants(from, from + 150_000, chrono_tz::Asia::Kathmandu);
    let b = buckets(&range, chrono_tz::Asia::Kathmandu, TimeUnit::Minute);
    check_cover(&b, &range);
    assert_eq!(labels(&b), ["2026-03-02 18:52", "2026-03-02 18:53", "2026-03-02 18:54"]);
    assert_eq!(b[0].to - b[0].from, 30_000);
    assert_eq!(b[1].to - b[1].from, 60_000);
}
