//! Batch-ingest throughput of `MongoStore` against the test server (`store_mongo::testing`).
//!
//! `cargo bench -p store-mongo --bench ingest` (release build). Environment:
//! `BENCH_EVENTS` (200000), `BENCH_VISITORS` (5000), `BENCH_BATCH` (100),
//! `BENCH_CONCURRENCY` (comma-separated ingests in flight, "1,4"), plus the test server's own
//! (`SECANTUSD_BIN`, `METRICS_TEST_MONGODB_URI`).
//!
//! Traffic is one simulated day: each visitor makes 1–4 visits of 3–12 pages (path changes,
//! some custom events, a `page_exit` per page), spread over 24 h, sent in time order with the
//! jitter of edge batching, so a batch of 100 holds events of several dozen visitors and
//! neighbouring batches (in flight together when concurrency > 1) share visitors. After each run
//! the stored sessions are compared with a serial `fold` of all events.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use contract::enriched::EnrichedEvent;
use contract::ids::{EventId, ProjectId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::sessions::{fold, testing::event, Session};
use store::Store;
use store_mongo::testing::TestServer;

const T0: i64 = 1_763_683_200_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn traffic(project: ProjectId, events: usize, visitors: u64) -> Vec<EnrichedEvent> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = Vec::new();
    let mut n = 0u64;
    let day = 24 * 3_600_000;
    for v in 0..visitors {
        // Spread the 64-bit hashes over the whole range, like real visitor ids.
        let visitor = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for _ in 0..rng.random_range(1..=4) {
            let mut at = T0 + rng.random_range(0..day);
            for page in 0..rng.random_range(3..=12) {
                let name = if page == 0 { "pageview" } else { "path_change" };
                let path = format!("/p{}", rng.random_range(0..40));
                let mut push = |name: &str, at: i64, path: &str| {
                    n += 1;
                    // Ids as the tracker mints them: the time, then (here) the sequence number.
                    let id = EventId::minted(at, std::array::from_fn(|i| (n >> (6 * (8 - i))) as u8));
                    out.push(event(project, visitor, id.as_str(), name, at, path));
                };
                push(name, at, &path);
                if rng.random_bool(0.3) {
                    push("signup", at + rng.random_range(1_000..5_000), &path);
                }
                let stay = rng.random_range(10_000..90_000);
                push("page_exit", at + stay, &path);
                at += stay;
            }
        }
    }
    out.sort_by_key(|e| e.occurred_at);
    out.truncate(events);
    // Edge batching delivers roughly in time order, not exactly.
    for i in 0..out.len() {
        let j = (i + rng.random_range(0..300)).min(out.len() - 1);
        out.swap(i, j);
    }
    out
}

fn comparable(mut sessions: Vec<Session>) -> Vec<Session> {
    sessions.iter_mut().for_each(|s| s.id.clear());
    sessions.sort_by_key(|s| (s.start, s.visitor_id));
    sessions
}

fn expected(events: &[EnrichedEvent]) -> Vec<Session> {
    let mut by_visitor: BTreeMap<u64, Vec<&EnrichedEvent>> = BTreeMap::new();
    for e in events {
        by_visitor.entry(e.visitor_id.0).or_default().push(e);
    }
    // `fold` tells sessions apart by id: the mint must give each one its own.
    let mut n = 0u64;
    let mut mint = || {
        n += 1;
        n.to_string()
    };
    let all = by_visitor
        .values()
        .flat_map(|mine| fold(vec![], mine, &mut mint).sessions)
        .collect();
    comparable(all)
}

fn main() {
    let events = env("BENCH_EVENTS", 200_000);
    let visitors = env("BENCH_VISITORS", 5_000) as u64;
    let batch = env("BENCH_BATCH", 100);
    let concurrency: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,4".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let server = TestServer::shared();
    let binary = match std::env::var(store_mongo::testing::URI_ENV) {
        Ok(uri) => uri,
        Err(_) => store_mongo::testing::server_binary().display().to_string(),
    };
    let project = ProjectId::from_bytes([3; 12]);
    let traffic = Arc::new(traffic(project, events, visitors));
    let per_batch: f64 = traffic
        .chunks(batch)
        .map(|c| {
            c.iter()
                .map(|e| e.visitor_id)
                .collect::<std::collections::BTreeSet<_>>()
                .len() as f64
        })
        .sum::<f64>()
        / traffic.chunks(batch).len() as f64;
    println!("server: {binary}");
    println!(
        "{} events, {visitors} visitors, batches of {batch} ({per_batch:.1} visitors per batch)",
        traffic.len()
    );
    let want = expected(&traffic);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // What the server needs just to store the events (insert_many into `events` with its
    // indexes, no sessions): the ceiling for any session design.
    rt.block_on(async {
        let store = server.fresh_store().await;
        let events = store.database().collection::<mongodb::bson::Document>("events");
        let started = Instant::now();
        for chunk in traffic.chunks(batch) {
            let docs: Vec<_> = chunk.iter().map(store_mongo::codec::event_doc).collect();
            events.insert_many(docs).ordered(false).await.expect("insert_many");
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "baseline, events alone (insert_many, no sessions): {:.0} events/s",
            traffic.len() as f64 / secs
        );
        // What the server needs just to write one small document per visitor of each batch (a
        // plain `$set` upsert by `_id`, all of a batch in one `update` command, no read, no
        // compare-and-set, no index but `_id`): the ceiling for any design that keeps sessions
        // in per-visitor documents.
        let started = Instant::now();
        for chunk in traffic.chunks(batch) {
            let ids: std::collections::BTreeSet<u64> = chunk.iter().map(|e| e.visitor_id.0).collect();
            let updates: Vec<_> = ids
                .into_iter()
                .map(|v| {
                    mongodb::bson::doc! {
                        "q": { "_id": format!("{v:016x}") },
                        "u": { "$set": { "pages": 3_i64, "entry": "/p1", "exit": "/p2", "at": T0 } },
                        "upsert": true,
                    }
                })
                .collect();
            let command = mongodb::bson::doc! { "update": "visitor_docs", "updates": updates, "ordered": false };
            store.database().run_command(command).await.expect("update");
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "baseline, one small upsert per visitor of each batch alone: {:.0} events/s",
            traffic.len() as f64 / secs
        );
    });
    for c in concurrency {
        rt.block_on(async {
            let store = Arc::new(server.fresh_store().await);
            let next = Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let workers: Vec<_> = (0..c.max(1))
                .map(|_| {
                    let (store, next, traffic) = (store.clone(), next.clone(), traffic.clone());
                    tokio::spawn(async move {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(chunk) = traffic.chunks(batch).nth(i) else {
                                break;
                            };
                            store.ingest(chunk).await.expect("ingest");
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await.expect("worker");
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "concurrency {c}: {:.2} s, {:.0} events/s ({} lost compare-and-set races retried)",
                secs,
                traffic.len() as f64 / secs,
                store.lost_races()
            );
            let got = comparable(
                store
                    .sessions(&project, T0 - 3_600_000, T0 + 48 * 3_600_000)
                    .await
                    .expect("sessions"),
            );
            assert_eq!(got.len(), want.len(), "session count");
            assert!(got == want, "stored sessions differ from a serial fold");
            let stored = store
                .events(&project, T0 - 3_600_000, T0 + 48 * 3_600_000)
                .await
                .expect("events")
                .len();
            assert_eq!(stored, traffic.len());
            println!(
                "  checked: {} sessions equal a serial fold, {stored} events stored",
                got.len()
            );
        });
    }
}
