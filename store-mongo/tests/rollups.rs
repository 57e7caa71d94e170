//! Rollup reads specific to how this backend stores rows: summaries without sketches, rows
//! looked up by their `_id`s, and the rollup cache (validated by bucket revisions).

use contract::ids::ProjectId;
use mongodb::bson::{doc, Document};
use store::analytics::rollup::HOUR_MS;
use store::analytics::{Counters, Field, Granularity, RollupDim, RollupRow, RollupSummary, Sketch};
use store::{Millis, Store};
use store_mongo::testing::TestServer;
use store_mongo::MongoStore;

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
    // Another process: the first one's cache would answer from the rows it read before.
    let other = other_process(&s).await;
    let mut after = other
        .rollup_summaries(&p, Granularity::Hour, T0, T0 + 3 * HOUR_MS, &dim)
        .await
        .unwrap();
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

/// A second store on the same database, as another collector process would open it.
async fn other_process(s: &MongoStore) -> MongoStore {
    MongoStore::connect(TestServer::shared().uri(), Some(s.database().name()))
        .await
        .unwrap()
}

fn sorted(mut rows: Vec<store::analytics::StoredRollup>) -> Vec<(Millis, String, u64, u64)> {
    let mut out: Vec<_> = rows
        .drain(..)
        .map(|r| {
            (
                r.bucket,
                r.row.value,
                r.row.counters.pageviews,
                r.row.visitors.estimate(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_rollups_follow_another_collectors_rebuilds() {
    let a = TestServer::shared().fresh_store().await;
    let b = other_process(&a).await;
    let p = ProjectId::from_bytes([9; 12]);
    let dim = RollupDim::Field(Field::Page);
    let (from, to) = (T0, T0 + 3 * HOUR_MS);
    for h in 0..3 {
        a.replace_rollups(&p, Granularity::Hour, T0 + h * HOUR_MS, &[row("/a", 3), row("/b", 2)])
            .await
            .unwrap();
    }
    let values = vec!["/a".to_owned(), "/zzz".to_owned()];
    let read_all = |s: &MongoStore| {
        let s = s.clone();
        let (dim, values) = (dim.clone(), values.clone());
        async move {
            let rows = sorted(s.rollups(&p, Granularity::Hour, from, to, Some(&dim)).await.unwrap());
            let mut summaries: Vec<(Millis, String, u64, u64)> = s
                .rollup_summaries(&p, Granularity::Hour, from, to, &dim)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.bucket, r.value, r.counters.pageviews, r.visitors))
                .collect();
            summaries.sort();
            let of_values = sorted(
                s.rollups_of_values(&p, Granularity::Hour, from, to, &dim, &values)
                    .await
                    .unwrap(),
            );
            (rows, summaries, of_values)
        }
    };

    // A second read of a cold bucket set is served from memory, the same rows.
    let first = read_all(&a).await;
    assert_eq!(first.0.len(), 6);
    assert_eq!(first.0, first.1, "summaries say what the rows say");
    assert_eq!(first.2.len(), 3, "/a in each hour, /zzz nowhere");
    let before = a.rollup_cache_stats();
    assert_eq!(read_all(&a).await, first);
    let after = a.rollup_cache_stats();
    assert_eq!(after.misses, before.misses, "every bucket read from the cache");
    assert_eq!(after.hits - before.hits, 9, "3 buckets x 3 reads");
    assert!(after.bytes > 0);

    // The other process rebuilds hour 1 (/a changes, /b is gone, /zzz appears).
    b.replace_rollups(&p, Granularity::Hour, T0 + HOUR_MS, &[row("/a", 7), row("/zzz", 1)])
        .await
        .unwrap();
    let seen = read_all(&a).await;
    assert_eq!(
        seen,
        read_all(&other_process(&a).await).await,
        "the same as a cold read"
    );
    assert_eq!(seen.0.iter().filter(|r| r.0 == T0 + HOUR_MS).count(), 2);
    assert!(seen.0.contains(&(T0 + HOUR_MS, "/a".to_owned(), 14, 7)));
    assert!(seen.2.contains(&(T0 + HOUR_MS, "/zzz".to_owned(), 2, 1)));
    assert!(!seen.1.iter().any(|r| r.0 == T0 + HOUR_MS && r.1 == "/b"));
    assert_eq!(
        a.rollup_cache_stats().misses - after.misses,
        1,
        "only the rebuilt bucket read again, whole (its rows then answer summaries and values)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_without_a_revision_are_read_through_then_cached() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([10; 12]);
    let dim = RollupDim::Field(Field::Page);
    for h in 0..2 {
        s.replace_rollups(&p, Granularity::Hour, T0 + h * HOUR_MS, &[row("/a", 1)])
            .await
            .unwrap();
    }
    // As a collector from before revisions left them: no bucket's, no project's.
    let revs = s.database().collection::<Document>("rollup_revs");
    assert_eq!(revs.delete_many(doc! {}).await.unwrap().deleted_count, 3);
    let reader = other_process(&s).await;
    let read = || reader.rollups(&p, Granularity::Hour, T0, T0 + 2 * HOUR_MS, Some(&dim));
    assert_eq!(read().await.unwrap().len(), 2);
    assert_eq!(reader.rollup_cache_stats().hits, 0);
    assert_eq!(revs.count_documents(doc! {}).await.unwrap(), 3, "revisions given");
    // Cached under the given revisions at the second read, served from memory at the third.
    assert_eq!(read().await.unwrap().len(), 2);
    assert_eq!(read().await.unwrap().len(), 2);
    assert_eq!(reader.rollup_cache_stats().hits, 2);
    // A rebuild after that still replaces the given revision.
    s.replace_rollups(&p, Granularity::Hour, T0, &[row("/a", 1), row("/b", 1)])
        .await
        .unwrap();
    assert_eq!(read().await.unwrap().len(), 3);
}
