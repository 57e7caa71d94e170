//! Journeys and the session explorer over 30 days of generated traffic, on either store. Prints
//! figures; asserts nothing.
//!
//! ```text
//! cargo bench -p query --bench journeys -- [sqlite|mongodb] [--events 1000000] [--visitors 30000] [--runs 5] [--keep DIR]
//! ```
//!
//! Loads `--events` events (`query::dataset`, through `Store::ingest` in batches of 100; with
//! `--keep DIR` an SQLite store in DIR is loaded once and reused), then times, `--runs` times
//! each, p50 and max: a depth-4 journey from every session's first step, a depth-4 journey from
//! `/` filtered by device, the first page of sessions (25, newest first), the same filtered by
//! country with at least 2 page views, and one session's detail.

use std::sync::Arc;
use std::time::Instant;

use contract::ids::ProjectId;
use query::dataset::{generate, Shape};
use serde_json::json;
use store::analytics::explorer::SessionId;
use store::Store;

const DAY_MS: i64 = 86_400_000;
/// Events per visit in the generator (the dashboard bench's measure).
const EVENTS_PER_VISIT: f64 = 6.4;
const LOADED: &str = "journeys-bench-loaded";

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

async fn load(store: &Arc<dyn Store>, shape: Shape) -> u64 {
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<contract::enriched::EnrichedEvent>>(64);
    let loader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Some(batch) = rx.recv().await {
                n += store.ingest(&batch).await.expect("ingest").stored as u64;
            }
            n
        })
    };
    tokio::task::spawn_blocking(move || generate(&shape, 100, |b| tx.blocking_send(b).expect("send")))
        .await
        .unwrap();
    let stored = loader.await.unwrap();
    println!("load: {stored} events in {:.1} s", started.elapsed().as_secs_f64());
    stored
}

async fn time<T, F, Fut>(name: &str, runs: usize, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        last = Some(f().await);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let max = times.iter().cloned().fold(0.0, f64::max);
    times.sort_by(f64::total_cmp);
    println!(
        "{name:<48} p50 {:>9.1} ms   max {:>9.1} ms",
        times[(times.len() - 1) / 2],
        max
    );
    last.expect("one run")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = args
        .iter()
        .skip(1)
        .find(|a| matches!(a.as_str(), "sqlite" | "mongodb"))
        .cloned();
    let backend = backend.unwrap_or_else(|| "sqlite".into());
    let events = arg(&args, "--events", 1_000_000);
    let visitors = arg(&args, "--visitors", 30_000) as u32;
    let runs = arg(&args, "--runs", 5) as usize;
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = keep.unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).expect("data dir");

    // The data ends at the start of today (UTC) so that "30d" covers it.
    let now = store_now();
    let today = now - now.rem_euclid(DAY_MS);
    let project = ProjectId::parse("65f0a1b2c3d4e5f601234567").unwrap();
    let store: Arc<dyn Store> = match backend.as_str() {
        "mongodb" => Arc::new(store_mongo::testing::TestServer::shared().fresh_store().await),
        _ => Arc::new(store_sqlite::SqliteStore::open_in(&dir).expect("open store")),
    };
    let marker = dir.join(LOADED);
    let loaded_at: i64 = match std::fs::read_to_string(&marker) {
        Ok(text) if backend == "sqlite" => text.trim().parse().expect("a time"),
        _ => {
            let shape = Shape {
                project,
                seed: 42,
                start: today - 29 * DAY_MS,
                days: 30,
                visitors,
                visits_per_visitor: events as f64 / EVENTS_PER_VISIT / f64::from(visitors),
                pages: 500,
            };
            load(&store, shape).await;
            std::fs::write(&marker, now.to_string()).expect("marker");
            now
        }
    };
    // Queries resolve "30d" at the load's time, so a kept store answers the same range later.
    let p = project.to_string();
    let parse = |body: serde_json::Value| {
        query::journeys::parse_journeys(&body, loaded_at)
            .expect("a valid request")
            .query
    };
    println!("{backend}, ~{events} events, {visitors} visitors, 30 days, {runs} runs each");

    let everything = parse(json!({"project_id": p, "date_range": "30d", "depth": 4}));
    let j = time("journey depth 4, from the first step", runs, || {
        store.journeys(&everything)
    })
    .await
    .unwrap();
    println!(
        "  {} nodes, {} links, {} paths, {} visitors at depth 1",
        j.nodes.len(),
        j.links.len(),
        j.paths.len(),
        j.depths[0].visitors
    );
    let from_home = parse(json!({"project_id": p, "date_range": "30d", "depth": 4, "start": "/",
                                 "filters": [["is", "device", ["desktop"]]]}));
    time("journey depth 4, from /, desktop", runs, || store.journeys(&from_home))
        .await
        .unwrap();

    let params = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let first_page = query::journeys::parse_session_list(project, &params(&[("date_range", "30d")]), loaded_at)
        .expect("valid")
        .query;
    let page = time("sessions, first page (25)", runs, || store.session_list(&first_page))
        .await
        .unwrap();
    let filtered = query::journeys::parse_session_list(
        project,
        &params(&[
            ("date_range", "30d"),
            ("filters", r#"[["is","country",["DE"]]]"#),
            ("min_pageviews", "2"),
        ]),
        loaded_at,
    )
    .expect("valid")
    .query;
    time("sessions, first page, country DE, >= 2 pages", runs, || {
        store.session_list(&filtered)
    })
    .await
    .unwrap();
    if let Some(s) = page.first() {
        let id = SessionId::parse(&s.id).expect("an id");
        time("one session and its events", runs, || async {
            let s = store.session(&project, &id).await.unwrap().expect("the session");
            store.session_events(&s, 1001).await.unwrap().len()
        })
        .await;
    }
}

fn store_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}
