//! Demo traffic: realistic synthetic events (`query::dataset`) ingested into a site, so a new
//! user's first dashboard has something to show (`collector project demo-data`, the run command)
//! and the dashboard's browser test has a known dataset.

use anyhow::{bail, Context};
use store::{Millis, Store};

/// Most days of demo traffic: the raw events are kept a year.
pub const MAX_DEMO_DAYS: u32 = 365;
/// Most demo visitors (about 20 events each): enough for a 10-million-event dataset.
pub const MAX_DEMO_VISITORS: u32 = 1_000_000;
/// Events per ingest call while loading demo data.
const DEMO_BATCH: usize = 1000;
const DAY_MS: Millis = 86_400_000;

/// Generates `days` of traffic ending at `now` and ingests it like the edge's batches (dedupe,
/// sessions, dirty hours for the rollup worker). Events after `now` are left out. Returns how
/// many events were stored (a second run with the same seed stores none: same event ids).
pub async fn fill(
    store: &dyn Store,
    project: &store::Project,
    days: u32,
    visitors: u32,
    seed: u64,
    now: Millis,
) -> anyhow::Result<u64> {
    if days == 0 || days > MAX_DEMO_DAYS {
        bail!("--days must be 1 to {MAX_DEMO_DAYS}");
    }
    if visitors == 0 || visitors > MAX_DEMO_VISITORS {
        bail!("--visitors must be 1 to {MAX_DEMO_VISITORS}");
    }
    let shape = query::dataset::Shape {
        project: project.id,
        seed,
        // Whole UTC days ending with today, so the last visits land in the last hours.
        start: (now.div_euclid(DAY_MS) - i64::from(days) + 1) * DAY_MS,
        days,
        visitors,
        visits_per_visitor: 2.5,
        pages: 40,
    };
    // Generation is synchronous; ingest is not: batches go over a bounded channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<contract::enriched::EnrichedEvent>>(4);
    let generator = tokio::task::spawn_blocking(move || {
        query::dataset::generate(&shape, DEMO_BATCH, |batch| {
            let batch: Vec<_> = batch.into_iter().filter(|e| e.occurred_at <= now).collect();
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
        })
    });
    let mut stored = 0u64;
    while let Some(batch) = rx.recv().await {
        stored += store.ingest(&batch).await.context("storing demo events")?.stored as u64;
    }
    generator.await.context("generating demo events")?;
    Ok(stored)
}
