//! The writer: one task that moves accepted events into the store.
//!
//! Requests do not write to the store themselves. With durable acknowledgement (the default) they
//! hand their events to the ingest log ([`super::log`]) and are answered once the log's commit is
//! on disk; the log then hands the events to the writer. The writer takes everything waiting at
//! that moment into a single `Store::ingest` call, so under load many requests share one store
//! transaction (group commit again), and reports what is stored back to the log, which deletes it.
//! A failing store is retried with a growing backoff for as long as it fails: acknowledged events
//! are never given up (at shutdown the writer stops retrying instead: what it has not stored stays
//! in the log for the next start). Meanwhile the log fills, and once [`MAX_LOGGED_EVENTS`] or
//! [`MAX_LOGGED_BYTES`] are reached requests are refused with 503.
//!
//! Durable acknowledgement can be switched off (`Config::durable_ack`, for the benchmark's
//! comparison only): requests are then answered once their events are queued in memory, so the
//! benchmark measures the log's price with the writer working the same way.
//!
//! The writer starts a store write at most every [`WRITE_INTERVAL_MIN`]: nobody waits for the
//! store any more, so a light load is better written in fewer, larger commits (each costs the
//! store an fsync and a transaction's fixed work).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::enriched::EnrichedEvent;
use store::Store;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::log::{
    spawn_group_commit, Append, EntryId, IngestLog, Replayed, Stored, MAX_LOGGED_BYTES, MAX_LOGGED_EVENTS,
};
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;

/// Most events in one store write.
pub const WRITE_BATCH_MAX_EVENTS: usize = 2000;
/// The first wait between retries of a failed store write; doubled up to [`RETRY_BACKOFF_MAX`].
const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The longest wait between retries: how late at most the writer notices that the store is back.
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// The shortest time from the start of one store write to the start of the next. Under heavy
/// load a full batch takes longer than this anyway; under light load it gathers ~25 ms of events
/// into one commit. It delays only what the dashboard shows, which lags by seconds already.
pub const WRITE_INTERVAL_MIN: Duration = Duration::from_millis(25);

/// A request's share of [`MAX_LOGGED_EVENTS`] and [`MAX_LOGGED_BYTES`], given back (dropped)
/// once its events are stored.
pub(super) struct Reservation {
    _room: OwnedSemaphorePermit,
    bytes: u64,
    events: u64,
    pending: Arc<Pending>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.pending.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
        self.pending.metrics.ingest_log_bytes.dec_by(self.bytes as i64);
        self.pending.metrics.ingest_log_events.dec_by(self.events as i64);
    }
}

/// What is accepted and not yet stored.
struct Pending {
    room: Arc<Semaphore>,
    bytes: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Pending {
    /// Room for `events` events of `bytes` bytes, or `None` when the log is full.
    fn reserve(self: &Arc<Self>, events: usize, bytes: u64) -> Option<Reservation> {
        let room = self.room.clone().try_acquire_many_owned(permits(events)).ok()?;
        self.bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                (b + bytes <= MAX_LOGGED_BYTES).then_some(b + bytes)
            })
            .ok()?;
        Some(self.held(room, events, bytes))
    }

    fn held(self: &Arc<Self>, room: OwnedSemaphorePermit, events: usize, bytes: u64) -> Reservation {
        self.metrics.ingest_log_bytes.inc_by(bytes as i64);
        self.metrics.ingest_log_events.inc_by(events as i64);
        Reservation {
            _room: room,
            bytes,
            events: events as u64,
            pending: self.clone(),
        }
    }
}

/// Semaphore permits for `n` events; a request never holds more events than that anyway.
fn permits(n: usize) -> u32 {
    u32::try_from(n.min(MAX_LOGGED_EVENTS)).unwrap_or(u32::MAX)
}

pub(super) enum Job {
    /// Events in the log, acknowledged: stored, retried until they are.
    Logged {
        entry: EntryId,
        events: Vec<EnrichedEvent>,
        held: Reservation,
    },
    /// Events not logged (durable acknowledgement off), acknowledged already: retried until
    /// stored, and lost if the process dies first.
    Unlogged {
        events: Vec<EnrichedEvent>,
        held: Reservation,
    },
    /// Answered once everything queued before it is stored.
    Flush(oneshot::Sender<()>),
}

impl Job {
    fn events(&self) -> usize {
        match self {
            Job::Logged { events, .. } | Job::Unlogged { events, .. } => events.len(),
            Job::Flush(_) => 0,
        }
    }
}

/// The handle requests use to store events. Dropping every handle stops the writer after it has
/// stored everything accepted (or, while the store fails, left it in the log for the next start).
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    /// The ingest log's group commit, when acknowledgements are durable.
    log: Option<std::sync::mpsc::Sender<Append>>,
    pending: Arc<Pending>,
    metrics: Arc<Metrics>,
}

impl Writer {
    /// Starts the writer and the log's group commit; requests go through the log when `durable`.
    /// The events `replayed` from the log are queued first.
    pub fn spawn(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        log: IngestLog,
        replayed: Vec<Replayed>,
        durable: bool,
    ) -> anyhow::Result<(Self, tokio::task::JoinHandle<()>)> {
        let (jobs, queued) = mpsc::unbounded_channel();
        let pending = Arc::new(Pending {
            room: Arc::new(Semaphore::new(MAX_LOGGED_EVENTS)),
            bytes: AtomicU64::new(0),
            metrics: metrics.clone(),
        });
        let stored = Arc::new(Stored::new(log.lanes()));
        for entry in replayed {
            metrics.events_replayed.inc_by(entry.events.len() as u64);
            // Takes what room there is: more than the limit can only be left by a build with a
            // larger one, and is let through rather than refused.
            let room = pending.room.clone();
            let permits = permits(entry.events.len()).min(room.available_permits() as u32);
            let room = room
                .try_acquire_many_owned(permits)
                .expect("permits that are available");
            pending.bytes.fetch_add(entry.bytes, Ordering::AcqRel);
            let held = pending.held(room, entry.events.len(), entry.bytes);
            let _ = jobs.send(Job::Logged {
                entry: entry.entry,
                events: entry.events,
                held,
            });
        }
        let (appends, appended) = std::sync::mpsc::channel();
        let group_commit = spawn_group_commit(log, appended, jobs.clone(), stored.clone(), metrics.clone())?;
        let writer = Self {
            jobs,
            log: durable.then_some(appends),
            pending,
            metrics: metrics.clone(),
        };
        let task = tokio::spawn(async move {
            run_writer(store, metrics, queued, stored.clone()).await;
            // Every handle, and with them the log's senders, is gone: the group commit has ended.
            let finished = tokio::task::spawn_blocking(move || {
                for thread in group_commit {
                    let mut lane = thread.join().map_err(|_| "an ingest log thread panicked")?;
                    lane.truncate_stored(&stored)
                        .map_err(|_| "deleting the stored entries at shutdown failed")?;
                }
                Ok::<(), &str>(())
            })
            .await;
            match finished {
                Ok(Ok(())) => tracing::debug!("writer drained and stopped"),
                Ok(Err(e)) => tracing::warn!(error = e, "ingest log at shutdown"),
                Err(e) => tracing::warn!(error = %e, "ingest log at shutdown"),
            }
        });
        Ok((writer, task))
    }

    /// Takes the events: answers once they are durable (in the log, on disk), or with durable
    /// acknowledgement off once they are queued. Errs with 503 when the log is full or failed, so
    /// that the sender retries later.
    pub async fn accept(&self, events: Vec<EnrichedEvent>) -> AppResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let Some(log) = &self.log else {
            let held = self.pending.reserve(events.len(), 0).ok_or_else(|| self.full())?;
            return self
                .jobs
                .send(Job::Unlogged { events, held })
                .map_err(|_| AppError::Unavailable);
        };
        let payload = serde_json::to_vec(&events).map_err(|e| AppError::Internal(e.into()))?;
        let held = self
            .pending
            .reserve(events.len(), payload.len() as u64)
            .ok_or_else(|| self.full())?;
        let (done, logged) = oneshot::channel();
        log.send(Append {
            events,
            payload,
            held,
            done,
        })
        .map_err(|_| AppError::Unavailable)?;
        match logged.await {
            Ok(true) => Ok(()),
            _ => Err(AppError::Unavailable),
        }
    }

    fn full(&self) -> AppError {
        self.metrics.ingest_log_full.inc();
        AppError::Overloaded(format!(
            "the collector holds {MAX_LOGGED_EVENTS} events (or {} MiB) not yet stored; retry later",
            MAX_LOGGED_BYTES >> 20
        ))
    }

    /// Waits until everything acknowledged before the call is stored. For tests and tools that
    /// read the store right after sending.
    pub async fn flush(&self) -> AppResult<()> {
        let (done, flushed) = oneshot::channel();
        self.jobs.send(Job::Flush(done)).map_err(|_| AppError::Unavailable)?;
        flushed.await.map_err(|_| AppError::Unavailable)
    }
}

async fn run_writer(
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    mut queued: mpsc::UnboundedReceiver<Job>,
    stored: Arc<Stored>,
) {
    while let Some(first) = queued.recv().await {
        let started = tokio::time::Instant::now();
        let mut count = first.events();
        let mut jobs = vec![first];
        while count < WRITE_BATCH_MAX_EVENTS {
            match queued.try_recv() {
                Ok(job) => {
                    count += job.events();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut events = Vec::with_capacity(count);
        let mut held = Vec::new();
        let mut flushes = Vec::new();
        let mut logged = Vec::new();
        let mut any_unlogged = false;
        for job in jobs {
            match job {
                Job::Logged {
                    entry,
                    events: mut e,
                    held: h,
                } => {
                    events.append(&mut e);
                    held.push(h);
                    logged.push(entry);
                }
                Job::Unlogged { events: mut e, held: h } => {
                    events.append(&mut e);
                    held.push(h);
                    any_unlogged = true;
                }
                Job::Flush(done) => flushes.push(done),
            }
        }
        // Once every sender is gone (shutdown), logged events are not worth waiting for a store
        // that fails: they are replayed from the log at the next start.
        let stopping = || queued.is_closed() && !any_unlogged;
        if !store_until_it_works(&*store, &metrics, &events, stopping).await {
            tracing::warn!(
                events = events.len(),
                "stopping with events not stored: they stay in the ingest log for the next start"
            );
            break;
        }
        // Each lane's jobs arrive in its order and each batch is stored before the next is
        // taken, so every entry of a lane up to the highest seen is stored.
        for entry in logged {
            stored.mark(entry);
        }
        drop(held);
        for done in flushes {
            let _ = done.send(());
        }
        tokio::time::sleep_until(started + WRITE_INTERVAL_MIN).await;
    }
}

/// Writes the events, retrying with a growing backoff until the store takes them: they are
/// acknowledged, so giving up would lose them. Ingest is idempotent, so a write that failed after
/// storing part of them is safe to repeat. Meanwhile the log fills and new requests get 503.
/// Returns false, without storing, only if `give_up` says so after a failure.
async fn store_until_it_works(
    store: &dyn Store,
    metrics: &Metrics,
    events: &[EnrichedEvent],
    give_up: impl Fn() -> bool,
) -> bool {
    let mut backoff = RETRY_BACKOFF_MIN;
    let mut failures: u64 = 0;
    while write_once(store, metrics, events).await.is_err() {
        if give_up() {
            return false;
        }
        failures += 1;
        if failures.is_power_of_two() {
            tracing::warn!(
                events = events.len(),
                failures,
                "the store keeps failing; the events stay in the ingest log and are retried"
            );
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_BACKOFF_MAX);
    }
    true
}

async fn write_once(store: &dyn Store, metrics: &Metrics, events: &[EnrichedEvent]) -> Result<(), ()> {
    if events.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let result = store.ingest(events).await;
    metrics.store_write_seconds.observe(started.elapsed().as_secs_f64());
    match result {
        Ok(report) => {
            metrics.events_stored.inc_by(report.stored as u64);
            metrics.events_duplicate.inc_by(report.duplicates as u64);
            Ok(())
        }
        Err(e) => {
            metrics.store_write_errors.inc();
            tracing::error!(error = format!("{e:#}"), events = events.len(), "store write failed");
            Err(())
        }
    }
}
