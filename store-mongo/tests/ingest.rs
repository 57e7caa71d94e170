//! Ingest edge cases specific to how this backend stores events and sessions in two steps.

use contract::ids::ProjectId;
use mongodb::bson::Document;
use store::sessions::{fold, testing::event};
use store::{IngestReport, Millis, Store};
use store_mongo::codec;
use store_mongo::testing::TestServer;

const T0: Millis = 1_763_683_200_000;
const MIN: Millis = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_between_events_and_sessions_heals_the_sessions() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([5; 12]);
    let batch: Vec<_> = (0..6)
        .map(|i| event(p, 3, &format!("h{i}"), "pageview", T0 + i * MIN, "/h"))
        .collect();
    // Step 1 of an ingest that then died: the events are stored, the sessions are not.
    let docs: Vec<Document> = batch[..4].iter().map(codec::event_doc).collect();
    s.database()
        .collection::<Document>("events")
        .insert_many(docs)
        .await
        .unwrap();
    assert_eq!(s.sessions(&p, T0, T0 + 60 * MIN).await.unwrap(), vec![]);
    // The retry (with two more events) counts the four as duplicates and still folds them.
    assert_eq!(
        s.ingest(&batch).await.unwrap(),
        IngestReport {
            stored: 2,
            duplicates: 4
        }
    );
    let got = s.sessions(&p, T0, T0 + 60 * MIN).await.unwrap();
    let refs: Vec<_> = batch.iter().collect();
    let want = fold(vec![], &refs, &mut || "x".into()).sessions;
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].events, got[0].pageviews, got[0].applied.clone()),
        (6, 6, want[0].applied.clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_twice_in_one_batch_is_stored_and_folded_once() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([6; 12]);
    let e = event(p, 4, "twice", "pageview", T0, "/t");
    let other = event(p, 4, "once", "pageview", T0 + MIN, "/u");
    assert_eq!(
        s.ingest(&[e.clone(), other, e]).await.unwrap(),
        IngestReport {
            stored: 2,
            duplicates: 1
        }
    );
    let got = s.sessions(&p, T0, T0 + 60 * MIN).await.unwrap();
    assert_eq!((got.len(), got[0].events), (1, 2));
    assert_eq!(s.ingest(&[]).await.unwrap(), IngestReport::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_before_the_dirty_marks_marks_the_hours() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([7; 12]);
    let batch = [
        event(p, 5, "m1", "pageview", T0 + 10 * MIN, "/m"),
        event(p, 5, "m2", "pageview", T0 + 70 * MIN, "/m"),
    ];
    s.ingest(&batch).await.unwrap();
    let hours = |marks: Vec<store::analytics::DirtyHour>| marks.into_iter().map(|m| m.hour).collect::<Vec<_>>();
    assert_eq!(hours(s.dirty_hours(10).await.unwrap()), [T0, T0 + 60 * MIN]);
    // Events and sessions written, then the process died before marking.
    s.database()
        .collection::<Document>("rollup_dirty")
        .delete_many(mongodb::bson::doc! {})
        .await
        .unwrap();
    assert_eq!(
        s.ingest(&batch).await.unwrap(),
        IngestReport {
            stored: 0,
            duplicates: 2
        }
    );
    assert_eq!(
        hours(s.dirty_hours(10).await.unwrap()),
        [T0, T0 + 60 * MIN],
        "the retry marks the hours again"
    );
}
