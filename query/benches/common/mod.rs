//! What the query benchmarks share: their arguments, the dataset they load (and keep, so each
//! reuses a directory the other loaded) and their percentiles.

use std::sync::Arc;
use std::time::Instant;

use contract::ids::ProjectId;
use query::dataset::{generate, Shape};
use query::engine;
use store::Store;

pub const DAY_MS: i64 = 86_400_000;
/// Events per visit in the generator, measured (page view, exits, path changes, custom events).
pub const EVENTS_PER_VISIT: f64 = 6.4;
/// The notes a kept directory holds (which backend, project, first day and events).
pub const KEPT: &str = "bench-notes.json";

pub fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Generates and ingests the events (the dashboard benchmark's steps 1 and 2), then rebuilds the
/// rollups. Returns how many events were stored.
pub async fn load(
    store: &Arc<dyn Store>,
    project: ProjectId,
    start: i64,
    days: u32,
    events_target: u64,
    visitors: u32,
) -> u64 {
    let shape = Shape {
        project,
        seed: 42,
        start,
        days,
        visitors,
        visits_per_visitor: events_target as f64 / EVENTS_PER_VISIT / f64::from(visitors),
        pages: 500,
    };

    // Load through Store::ingest, batches of 100, one in flight per worker (the writer's shape).
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
    let generated = tokio::task::spawn_blocking(move || generate(&shape, 100, |b| tx.blocking_send(b).expect("send")))
        .await
        .unwrap();
    let stored = loader.await.unwrap();
    let load_s = started.elapsed().as_secs_f64();
    println!(
        "load: {generated} events generated, {stored} stored in {load_s:.1} s ({:.0} events/s)",
        stored as f64 / load_s
    );
    let started = Instant::now();
    let mut hours = 0;
    loop {
        let n = engine::rebuild_dirty(&**store, 64, i64::MIN).await.expect("rollups");
        hours += n;
        if n == 0 {
            break;
        }
    }
    println!(
        "rollups: {hours} hours rebuilt in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    stored
}
