//! Rollup reads specific to how this backend stores rows: summaries without sketches, and rows
//! looked up by their `_id`s.

use contract::ids::ProjectId;
use mongodb::bson::{doc, Document};
use store::analytics::rollup::HOUR_MS;
use store::analytics::{Counters, Field, Granularity, RollupDim, RollupRow, RollupSummary, Sketch};
use store::{Millis, Store};
use store_mongo::testing::TestServer;

const T0: Millis = 1_763_683_200_000;

fn row(value: &str, visitors: u64) -> RollupRow {
    let mut sketch = Sketch::new();
    for v in 0..visitors {
        sketch.insert(v.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    RollupRow {
        dim: RollupDim::Field(Field::Page),
        value: value.to_owned(),
        counters: Counters {
            pageviews: visitors * 2,
            ..Counters::default()
        },
        visitors: sketch,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_stored_without_a_visitor_count_are_summarised_from_their_sketches() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([7; 12]);
    let rows = [row("/a", 3), row("/b", 5_000), row("/c", 1)];
    for h in 0..3 {
        s.replace_rollups(&p, Granularity::Hour, T0 + h * HOUR_MS, &rows)
            .await
            .unwrap();
    }
    let dim = RollupDim::Field(Field::Page);
    let read = || s.rollup_summaries(&p, Granularity::Hour, T0, T0 + 3 * HOUR_MS, &dim);
    let mut before = read().await.unwrap();
    before.sort_by(|a, b| (a.bucket, &a.value).cmp(&(b.bucket, &b.value)));
    let want: Vec<RollupSummary> = (0..3)
        .flat_map(|h| {
            rows.iter().map(move |r| RollupSummary {
                bucket: T0 + h * HOUR_MS,
                value: r.value.clone(),
                counters: r.counters,
                visitors: r.visitors.estimate(),
                visitors_exact: r.visitors.is_exact(),
            })
        })
        .collect();
    assert_eq!(before, want);
    assert!(want.iter().any(|r| !r.visitors_exact) && want.iter().any(|r| r.visitors_exact));

    // As an older collector wrote them: no `n`, no `x`.
    let unset = s
        .database()
        .collection::<Document>("rollups")
        .update_many(
            doc! { "v": { "$in": ["/a", "/b"] } },
            doc! { "$unset": { "n": "", "x": "" } },
        )
        .await
        .unwrap();
    assert_eq!(unset.modified_count, 6);
    let mut after = read().await.unwrap();
    after.sort_by(|a, b| (a.bucket, &a.value).cmp(&(b.bucket, &b.value)));
    assert_eq!(after, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_values_are_found_in_unaligned_ranges_and_day_buckets() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([8; 12]);
    let rows = [row("/a", 2), row("/b", 2), row("/c", 2)];
    let day = T0 - T0 % (24 * HOUR_MS);
    for d in 0..3 {
        s.replace_rollups(&p, Granularity::Day, day + d * 24 * HOUR_MS, &rows)
            .await
            .unwrap();
    }
    let dim = RollupDim::Field(Field::Page);
    let values = vec!["/c".to_owned(), "/a".to_owned(), "/missing".to_owned()];
    // From the middle of day 0 to the middle of day 2: only day 1 and day 2 start in it.
    let got = s
        .rollups_of_values(
            &p,
            Granularity::Day,
            day + HOUR_MS,
            day + 2 * 24 * HOUR_MS + HOUR_MS,
            &dim,
            &values,
        )
        .await
        .unwrap();
    let mut keys: Vec<(Millis, String)> = got.iter().map(|r| (r.bucket, r.row.value.clone())).collect();
    keys.sort();
    let d1 = day + 24 * HOUR_MS;
    let d2 = day + 48 * HOUR_MS;
    assert_eq!(
        keys,
        vec![
            (d1, "/a".to_owned()),
            (d1, "/c".to_owned()),
            (d2, "/a".to_owned()),
            (d2, "/c".to_owned())
        ]
    );
    assert!(got.iter().all(|r| r.row.dim == dim && r.row.counters.pageviews == 4));
}
