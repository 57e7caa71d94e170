//! Queries cannot starve ingestion: while the heaviest queries the API accepts run back to back,
//! events are still acknowledged promptly, and a query past its budget is cancelled with a clear
//! error. (Latency figures are printed; the bound asserted is far above them, for noisy machines.)

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::json;

/// Concurrent worst-case queries kept running during the ingest.
const HEAVY_QUERIES: usize = 3;
/// Events sent one after another while they run, and the pause between them.
const EVENTS: usize = 120;
const EVENT_GAP: Duration = Duration::from_millis(15);
/// p99 of an acknowledgement under that load must stay below this (unloaded it is ~1 ms; the
/// starvation this guards against delayed events by many seconds).
const ACK_P99_BOUND: Duration = Duration::from_millis(1500);

/// A `matches` pattern of `n` bytes that compiles to a large automaton: an alternation of many
/// distinct words, each with a character class.
fn big_pattern(seed: usize, n: usize) -> String {
    let mut p = String::from("(?:");
    let mut i = 0;
    while p.len() + 16 < n {
        p.push_str(&format!("w{seed}x{i}[a-f]+|"));
        i += 1;
    }
    p.push_str("zz)$");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_hold_while_worst_case_queries_run() {
    let app = Arc::new(TestApp::new().await);
    let project = app.state.store.project(&app.project()).await.unwrap().unwrap();
    let stored = collector::demo::fill(&*app.state.store, &project, 14, 600, 7, collector::now_ms())
        .await
        .unwrap();
    assert!(stored > 5_000, "seeded {stored} events");
    app.settle().await;

    // The whole pattern budget (largest patterns), on two fields so that only the raw events can
    // answer, over the longest range the demo data covers, grouped by a field with many values.
    let largest = store::analytics::raw::MAX_REGEX_BYTES;
    let patterns: Vec<String> = (1..=query::request::MAX_QUERY_PATTERN_BYTES / largest)
        .map(|seed| big_pattern(seed, largest))
        .collect();
    let (half, rest) = patterns.split_at(patterns.len() / 2);
    let mut heavy = json!({
        "project_id": app.project_id,
        "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "time_on_page"],
        "dimensions": ["city", "time:day"],
        "date_range": "30d",
        "filters": [["matches", "page", half], ["matches", "referrer", rest]],
        "limit": 10000,
    });
    let spare = query::request::MAX_QUERY_PATTERN_BYTES - patterns.iter().map(String::len).sum::<usize>();
    heavy["filters"][1][2]
        .as_array_mut()
        .unwrap()
        .push(json!(big_pattern(99, spare + 20)));
    let over = app
        .call(Method::POST, "/api/v1/query", Some(heavy.clone()), Some(&app.token))
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "one pattern too many");
    assert_eq!(over.json()["field"], "filters", "{}", over.json());
    heavy["filters"][1][2].as_array_mut().unwrap().pop();
    heavy["filters"][1][2].as_array_mut().unwrap().push(json!("^$|."));

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut runners = Vec::new();
    for _ in 0..HEAVY_QUERIES {
        let (app, heavy, stop, answered) = (app.clone(), heavy.clone(), stop.clone(), answered.clone());
        runners.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let a = app
                    .call(Method::POST, "/api/v1/query", Some(heavy.clone()), Some(&app.token))
                    .await;
                assert!(
                    a.status == StatusCode::OK
                        || (a.status == StatusCode::SERVICE_UNAVAILABLE && a.json()["code"] == "query_timeout"),
                    "{}: {}",
                    a.status,
                    String::from_utf8_lossy(&a.body)
                );
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Let the queries get going before measuring.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut latencies = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let body = json!({"k": app.key, "n": "pageview", "u": format!("https://example.com/under-load/{i}"),
                          "id": format!("under-load-{i:04}")});
        let started = Instant::now();
        let a = app.beacon(body.to_string()).await;
        latencies.push(started.elapsed());
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&a.body));
        tokio::time::sleep(EVENT_GAP).await;
    }
    let during = answered.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for r in runners {
        r.await.unwrap();
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).min(latencies.len()) - 1];
    println!(
        "acknowledgements under {HEAVY_QUERIES} concurrent worst-case queries: p50 {:?}, p99 {:?}, max {:?}; \
         {during} queries answered meanwhile",
        at(0.5),
        at(0.99),
        latencies[latencies.len() - 1]
    );
    assert!(at(0.99) < ACK_P99_BOUND, "p99 {:?}", at(0.99));
    // Every acknowledged event is stored.
    assert_eq!(
        app.stored_events()
            .await
            .iter()
            .filter(|e| e.path.starts_with("/under-load/"))
            .count(),
        EVENTS
    );
}
