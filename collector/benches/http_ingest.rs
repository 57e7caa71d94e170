//! Latency of `POST /api/event` under load on loopback, and batch ingest throughput, on each
//! store, with durable acknowledgement (the default: answered once the events are in the fsynced
//! ingest log) and without it (answered once queued in memory, or for the edge once stored), to
//! print what durability costs.
//!
//! `cargo bench -p collector --bench http_ingest [-- sqlite|mongodb] [--seconds N]`
//!
//! For each store and mode: an open-loop load of one single-event request every millisecond
//! (1,000 req/s, the issue's target rate) for the given seconds, sent whether or not earlier ones
//! were answered (a closed loop would hide queueing), from 2,000 simulated visitors; then a
//! closed-loop burst with 64 concurrent clients for the throughput ceiling. Prints
//! p50/p90/p99/max latency and rates.
//!
//! Then batch ingest as the edge does it: [`EDGES`] concurrent clients post signed batches of
//! [`MAX_EVENTS_PER_FORWARD`] enriched events (a day of traffic from many visitors, in arrival
//! order, so a batch mixes ~100 visitors) to `/internal/v1/ingest`, and retry a 503 (the log, or
//! without it the queue, is full) after 20 ms. The collector's writer folds the batches waiting at
//! the same time into one store write, as it does in production. Prints events *stored* per
//! second: batches are answered once logged (or queued), so the clock stops when nothing
//! acknowledged is waiting any more (`collector_ingest_log_events` is 0). Each mode runs on a
//! fresh collector and store, so both store the same events; the writer works the same way in
//! both, so the difference is the log's price.
//!
//! The load generator shares the 2 cores with the server, so figures are conservative.

use std::sync::Arc;
use std::time::{Duration, Instant};

use collector::config::ConfigArgs;
use collector::Application;
use serde_json::json;

const PEPPER: &str = "bench key pepper, at least thirty-two bytes long";
const EDGE_SECRET: &str = "bench edge secret, at least thirty-two bytes long";
/// Concurrent edge clients in the batch phase (Cloudflare runs many isolates, each forwarding).
const EDGES: usize = 16;
/// Events per forwarded batch: the edge's own limit.
const MAX_EVENTS_PER_FORWARD: usize = 100;
/// Events of the batch phase.
const BATCH_PHASE_EVENTS: usize = 200_000;
const VISITORS: usize = 2_000;
const UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

struct Started {
    url: String,
    base: String,
    project: contract::ids::ProjectId,
    key: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(mongodb_uri: Option<String>, durable: bool) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let args = ConfigArgs {
        data_dir: Some(dir.path().into()),
        mongodb_uri,
        durable_ack: Some(durable),
        key_pepper: Some(PEPPER.into()),
        edge_secret: Some(EDGE_SECRET.into()),
        trust_proxy: Some(true),
        ..Default::default()
    };
    let config = args.resolve(Some("127.0.0.1:0".into())).unwrap();
    let store = collector::app::open_store(&config).await.unwrap();
    let owner = collector::ops::create_user(&*store, "bench@example.com", "a bench password")
        .await
        .unwrap();
    let project = collector::ops::create_project(&*store, &owner, "Bench").await.unwrap();
    let (key, _) = collector::ops::create_key(&*store, PEPPER, &project, "bench")
        .await
        .unwrap();
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let url = format!("{base}/api/event");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Started {
        url,
        base,
        project: project.id,
        key: key.expose().to_owned(),
        stop,
        task,
        _dir: dir,
    }
}

fn body(key: &str, n: usize) -> String {
    let path = ["/", "/pricing", "/blog/rust-wasm", "/docs", "/signup"][n % 5];
    // An id as the tracker mints it: the time, then (here) the request's number.
    let id = contract::ids::mint_event_id(
        collector::now_ms() as u64,
        std::array::from_fn(|i| (n >> (6 * (8 - i))) as u8),
    );
    let id = String::from_utf8_lossy(&id);
    json!({"k": key, "n": "pageview", "u": format!("https://example.com{path}"), "id": id, "r": "https://www.google.com/", "w": 1440}).to_string()
}

async fn send(client: &reqwest::Client, s: &Started, n: usize) -> Option<Duration> {
    let t = Instant::now();
    let answer = client
        .post(&s.url)
        .header("content-type", "text/plain")
        .header("user-agent", UA)
        .header(
            "x-forwarded-for",
            format!("198.51.{}.{}", (n % VISITORS) / 250, (n % VISITORS) % 250),
        )
        .body(body(&s.key, n))
        .send()
        .await
        .ok()?;
    (answer.status() == 202).then(|| t.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(label: &str, mut latencies: Vec<Duration>, failed: usize, wall: Duration) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  {label:<28} {:>6} ok {:>4} failed  {:>8.0} req/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
        latencies.len(),
        failed,
        latencies.len() as f64 / wall.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
    );
}

/// Runs every phase on a fresh collector; returns the batch phase's events stored per second.
async fn run(mongodb_uri: Option<String>, durable: bool, seconds: u64) -> f64 {
    println!(
        "  durable acknowledgement {}:",
        if durable { "on (default)" } else { "off" }
    );
    let s = Arc::new(start(mongodb_uri, durable).await);
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    // Warm-up: connections, key cache, salt.
    for n in 0..200 {
        send(&client, &s, 1_000_000 + n).await;
    }

    // Open loop at 1,000 req/s.
    let total = (seconds * 1000) as usize;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for n in 0..total {
        tick.tick().await;
        let (client, s) = (client.clone(), s.clone());
        tasks.push(tokio::spawn(async move { send(&client, &s, n).await }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Some(d) => latencies.push(d),
            None => failed += 1,
        }
    }
    report("open loop, 1,000 req/s", latencies, failed, started.elapsed());

    // Closed loop: 64 clients as fast as they can, 20,000 requests.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(2_000_000));
    let mut workers = Vec::new();
    for _ in 0..64 {
        let (client, s, next) = (client.clone(), s.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut failed = 0;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= 2_020_000 {
                    break (mine, failed);
                }
                match send(&client, &s, n).await {
                    Some(d) => mine.push(d),
                    None => failed += 1,
                }
            }
        }));
    }
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.await.unwrap();
        latencies.extend(l);
        failed += f;
    }
    report("closed loop, 64 clients", latencies, failed, started.elapsed());

    let rate = edge_batches(&client, &s).await;

    let s = Arc::into_inner(s).expect("all requests done");
    s.stop.send(()).unwrap();
    s.task.await.unwrap().unwrap();
    rate
}

/// Both modes on one store, and what durability costs.
async fn compare(store: &str, mongodb_uri: impl Fn() -> Option<String>, seconds: u64) {
    println!("store: {store}");
    let on = run(mongodb_uri(), true, seconds).await;
    let off = run(mongodb_uri(), false, seconds).await;
    println!(
        "  batch ingest, durable on vs off: {on:.0} vs {off:.0} events/s stored: durability costs {:.1}% (target: at most 25%)",
        (1.0 - on / off) * 100.0
    );
}

/// Events acknowledged and not yet stored, from `/metrics`.
async fn logged_events(client: &reqwest::Client, base: &str) -> i64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("collector_ingest_log_events "))
        .and_then(|v| v.trim().parse().ok())
        .expect("collector_ingest_log_events in /metrics")
}

/// A day of traffic up to now, in arrival order, as the edge's signed batch bodies.
fn edge_bodies(project: contract::ids::ProjectId) -> Vec<Vec<u8>> {
    const DAY_MS: i64 = 86_400_000;
    let visitors = 20_000;
    let shape = query::dataset::Shape {
        project,
        seed: 7,
        start: collector::now_ms() - DAY_MS,
        days: 1,
        visitors,
        // ~6.4 events per visit in the generator.
        visits_per_visitor: BATCH_PHASE_EVENTS as f64 / 6.4 / f64::from(visitors),
        pages: 200,
    };
    let mut events = Vec::new();
    query::dataset::generate(&shape, 10_000, |b| events.extend(b));
    events.sort_by_key(|e| e.occurred_at);
    events.truncate(BATCH_PHASE_EVENTS);
    events
        .chunks(MAX_EVENTS_PER_FORWARD)
        .map(|chunk| serde_json::to_vec(&json!({ "events": chunk })).unwrap())
        .collect()
}

async fn edge_batches(client: &reqwest::Client, s: &Arc<Started>) -> f64 {
    let bodies = Arc::new(edge_bodies(s.project));
    let events: usize = BATCH_PHASE_EVENTS.min(bodies.len() * MAX_EVENTS_PER_FORWARD);
    let url = format!("{}{}", s.base, contract::internal::INGEST_PATH);
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..EDGES {
        let (client, url, bodies, next, refused) = (
            client.clone(),
            url.clone(),
            bodies.clone(),
            next.clone(),
            refused.clone(),
        );
        workers.push(tokio::spawn(async move {
            let (mut mine, mut failed, mut stored) = (Vec::new(), 0, 0);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    break (mine, failed, stored);
                };
                let t = Instant::now();
                // A full ingest log answers 503: retried shortly, as the edge retries (sooner
                // than its Retry-After, to keep the collector busy).
                let accepted = loop {
                    let ts = collector::now_ms() / 1000;
                    let path = contract::internal::INGEST_PATH;
                    let sig = contract::signing::sign(EDGE_SECRET.as_bytes(), ts, "POST", path, body);
                    let answer = client
                        .post(&url)
                        .header(contract::signing::TIMESTAMP_HEADER, ts.to_string())
                        .header(contract::signing::SIGNATURE_HEADER, sig)
                        .body(body.clone())
                        .send()
                        .await;
                    match answer {
                        Ok(a) if a.status() == 200 => {
                            break a
                                .json::<serde_json::Value>()
                                .await
                                .ok()
                                .and_then(|v| v["accepted"].as_u64())
                        }
                        Ok(a) if a.status() == 503 => {
                            refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        _ => break None,
                    }
                };
                match accepted {
                    Some(n) => {
                        mine.push(t.elapsed());
                        stored += n as usize;
                    }
                    None => failed += 1,
                }
            }
        }));
    }
    let (mut latencies, mut failed, mut stored) = (Vec::new(), 0, 0);
    for w in workers {
        let (l, f, n) = w.await.unwrap();
        latencies.extend(l);
        failed += f;
        stored += n;
    }
    let answered = started.elapsed();
    report(&format!("edge batches, {EDGES} clients"), latencies, failed, answered);
    // Answered is not stored yet when the answer only waited for the log.
    while logged_events(client, &s.base).await > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall = started.elapsed();
    let rate = stored as f64 / wall.as_secs_f64();
    println!(
        "  batch ingest: {stored} of {events} events answered in {:.2} s ({} answers 503 log full, retried), stored in {:.2} s = {rate:.0} events/s (batches of {MAX_EVENTS_PER_FORWARD}; target 50,000 embedded, 30,000 MongoDB)",
        answered.as_secs_f64(),
        refused.load(std::sync::atomic::Ordering::Relaxed),
        wall.as_secs_f64(),
    );
    rate
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let only = |name: &str| !args.iter().any(|a| a == "sqlite" || a == "mongodb") || args.iter().any(|a| a == name);
    println!("POST /api/event latency on loopback ({seconds} s at 1,000 req/s, then 20,000 requests from 64 clients)");
    if only("sqlite") {
        compare("embedded (SQLite)", || None, seconds).await;
    }
    if only("mongodb") {
        let server = store_mongo::testing::TestServer::shared();
        let fresh_database = || {
            Some(
                server
                    .uri()
                    .replacen("/?", &format!("/{}?", store_mongo::testing::fresh_db_name()), 1),
            )
        };
        compare("MongoDB-wire (SecantusDB)", fresh_database, seconds).await;
    }
}
