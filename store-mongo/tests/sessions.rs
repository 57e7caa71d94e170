//! Session folding under heavier concurrency than the conformance suite's two writers: several
//! independent `MongoStore` handles (separate clients, as separate collector processes would
//! have) ingest every event of several visitors, each in its own order and batching.

use std::collections::BTreeMap;
use std::sync::Arc;

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use store::sessions::{fold, testing::event, Session};
use store::{Millis, Store};
use store_mongo::testing::TestServer;
use store_mongo::MongoStore;

const T0: Millis = 1_763_683_200_000;
const MIN: Millis = 60_000;

fn pid(n: u8) -> ProjectId {
    ProjectId::from_bytes([n; 12])
}

fn comparable(sessions: Vec<Session>) -> Vec<Session> {
    sessions
        .into_iter()
        .map(|s| Session { id: String::new(), ..s })
        .collect()
}

/// A serial fold of all events, every visitor present, each session with its own id.
fn expected_sessions(events: &[EnrichedEvent]) -> Vec<Session> {
    let mut by_visitor: BTreeMap<_, Vec<&EnrichedEvent>> = BTreeMap::new();
    for e in events {
        by_visitor.entry((e.project_id, e.visitor_id)).or_default().push(e);
    }
    let mut n = 0;
    let mut mint = || {
        n += 1;
        format!("s{n}")
    };
    let mut all: Vec<Session> = by_visitor
        .values()
        .flat_map(|mine| fold(vec![], mine, &mut mint).sessions)
        .collect();
    all.sort_by_key(|s| (s.start, s.visitor_id));
    comparable(all)
}

/// Many visitors, many writers, overlapping retried batches, late events that merge sessions:
/// the stored sessions must equal a serial fold whatever interleaving the writers get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_with_late_events_agree_with_a_serial_fold() {
    let server = TestServer::shared();
    let first = server.fresh_store().await;
    let db = first.database().name().to_owned();
    let mut handles = vec![first];
    for _ in 0..3 {
        handles.push(MongoStore::connect(server.uri(), Some(&db)).await.unwrap());
    }
    let stores: Vec<Arc<MongoStore>> = handles.into_iter().map(Arc::new).collect();
    // 6 visitors (one with the top bit set), visits with gaps of 20–40 minutes so that late
    // events keep merging and splitting.
    let mut events = Vec::new();
    for v in 0..6u64 {
        let visitor = if v == 5 { u64::MAX - 1 } else { v };
        for i in 0..60i64 {
            let minute = (i * 37 + v as i64 * 11) % 400;
            let name = ["pageview", "path_change", "page_exit", "click"][(i % 4) as usize];
            events.push(event(
                pid(1),
                visitor,
                &format!("m{v}x{i}"),
                name,
                T0 + minute * MIN,
                &format!("/m{}", i % 5),
            ));
        }
    }
    let expected = expected_sessions(&events);
    let mut tasks = Vec::new();
    for (w, store) in stores.iter().enumerate() {
        // Each writer gets every event, in its own order and batching: maximal overlap.
        let mut mine = events.clone();
        mine.rotate_left(w * 37);
        if w % 2 == 1 {
            mine.reverse();
        }
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for chunk in mine.chunks(5 + w * 3) {
                store.ingest(chunk).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let races: u64 = stores.iter().map(|s| s.lost_races()).sum();
    eprintln!("{races} lost compare-and-set races were retried");
    let got = stores[0]
        .sessions(&pid(1), T0 - 60 * MIN, T0 + 600 * MIN)
        .await
        .unwrap();
    assert_eq!(comparable(got), expected);
    assert_eq!(
        stores[1].events(&pid(1), T0, T0 + 600 * MIN).await.unwrap().len(),
        events.len()
    );
}
