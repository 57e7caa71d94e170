//! The background work behind the dashboard: rebuilding the rollups of the hours ingestion
//! touched, and deleting what is past its retention.

use std::sync::Arc;
use std::time::Duration;

use store::analytics::rollup::DAY_MS;
use store::analytics::Retention;
use store::Store;

use crate::config::ROLLUP_RETENTION_DAYS;

/// Dirty hours rebuilt per round; rounds repeat until none are left.
pub const REBUILD_BATCH: usize = 64;
/// Most of the wall time the rollup worker spends rebuilding: after a round that took `t`, it
/// waits at least `3t` (and at least the configured interval) before the next. Rebuilding an hour
/// costs in proportion to the hour's events, so without a cap a busy site's worker would rebuild
/// its current hour back to back and take a core from ingestion; with it, the dashboard lags
/// ingestion by at most four rounds' time.
pub const MAX_REBUILD_DUTY: f64 = 0.25;
/// How often the retention sweep runs.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// Rebuilds every dirty hour (and its day) within the retention of `raw_days`, batch by batch.
/// Errors are logged; the marks stay, so the next round retries.
pub async fn rebuild_pending(store: Arc<dyn Store>, raw_days: u32) {
    let kept_since = retention(crate::now_ms(), raw_days).hourly_before;
    loop {
        match query::engine::rebuild_dirty(&*store, REBUILD_BATCH, kept_since).await {
            Ok(n) if n < REBUILD_BATCH => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "rebuilding rollups failed");
                return;
            }
        }
    }
}

/// The retention cut-offs at `now` for `raw_days` of raw events.
pub fn retention(now: i64, raw_days: u32) -> Retention {
    let raw_before = now - i64::from(raw_days) * DAY_MS;
    Retention {
        raw_before,
        hourly_before: raw_before,
        daily_before: now - i64::from(ROLLUP_RETENTION_DAYS) * DAY_MS,
    }
}

/// Deletes what is past its retention.
pub async fn sweep(store: Arc<dyn Store>, raw_days: u32) {
    match store.delete_expired(&retention(crate::now_ms(), raw_days)).await {
        Ok(x) if x.events + x.sessions + x.rollups == 0 => {}
        Ok(x) => tracing::info!(
            events = x.events,
            sessions = x.sessions,
            rollups = x.rollups,
            "deleted data past its retention"
        ),
        Err(e) => tracing::warn!(error = format!("{e:#}"), "retention sweep failed"),
    }
}
