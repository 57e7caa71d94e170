//! The ingestion pipeline shared by `POST /api/event`, the GIF and the edge's internal endpoint.
//!
//! Requests do not write to the store themselves: they hand their events to one [`Writer`] task.
//! The writer takes everything queued at that moment into a single `Store::ingest` call, so under
//! load many requests share one transaction (group commit).
//!
//! Two ways to hand events over, by what the sender can do with the answer:
//!
//! * [`Writer::write`] answers once the events are stored, or fails so that the sender retries.
//!   The edge's batches use it: the edge retries, then dead-letters.
//! * [`Writer::enqueue`] answers as soon as the events are queued. Browsers use it
//!   (`POST /api/event`, the GIF): `sendBeacon` and a pixel never look at the answer, so waiting
//!   for the database (tens of ms on MongoDB) would only keep the page's request open. A full
//!   queue refuses with 503 at once, and nothing queued is dropped on a store error: the writer
//!   retries the write ([`QUEUED_WRITE_ATTEMPTS`]) and drains the queue on graceful shutdown.
//!   Only a crash of the process loses the queue (at most [`MAX_QUEUED_EVENTS`] events).

use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::enriched::{enrich, Dropped, EnrichedEvent, RequestContext};
use contract::internal::{day_of, RejectedEvent};
use contract::wire::{parse_body, Accepted, BodyError};
use serde_json::json;
use store::Store;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};
use crate::metrics::{Metrics, PathLabel};
use crate::state::AppState;

/// Events waiting for the writer, over all requests. Bounds the queue's memory (an enriched event
/// is well under 4 KiB, so ~400 MiB at worst) and how much a crash can lose; past it,
/// [`Writer::enqueue`] answers 503 and [`Writer::write`] waits for room.
pub const MAX_QUEUED_EVENTS: usize = 100_000;
/// Requests (jobs) that may be queued at once: as many as events, since a job holds at least one,
/// so that only [`MAX_QUEUED_EVENTS`] bounds the queue (a burst of single-event requests past 4096
/// was refused with 503 while the queue still had room).
pub const WRITE_QUEUE_CAPACITY: usize = MAX_QUEUED_EVENTS;
/// Most events in one store write.
pub const WRITE_BATCH_MAX_EVENTS: usize = 2000;
/// Store writes tried for queued events before they are given up (logged and counted in
/// `collector_events_lost`): with [`RETRY_BACKOFF_MAX`], about five minutes of a failing store.
/// Bounded so that a batch the store can never take does not stall ingestion for good.
pub const QUEUED_WRITE_ATTEMPTS: u32 = 64;
/// The first wait between retries of a failed write; doubled up to [`RETRY_BACKOFF_MAX`].
const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(50);
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(5);

struct Job {
    events: Vec<EnrichedEvent>,
    /// `Some` for [`Writer::write`]: told the outcome. `None`: acknowledged already.
    done: Option<oneshot::Sender<Result<(), ()>>>,
    /// The job's share of [`MAX_QUEUED_EVENTS`], released once it is written.
    room: OwnedSemaphorePermit,
}

/// The handle requests use to store events. Dropping every handle stops the writer after it has
/// written everything queued.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    room: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl Writer {
    pub fn spawn(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(WRITE_QUEUE_CAPACITY);
        let writer = Self {
            tx,
            room: Arc::new(Semaphore::new(MAX_QUEUED_EVENTS)),
            metrics: metrics.clone(),
        };
        (writer, tokio::spawn(run_writer(store, metrics, rx)))
    }

    /// Stores the events (deduplicated and sessionized by the store) and answers once they are;
    /// errs with 503 when the store failed, so the sender retries.
    pub async fn write(&self, events: Vec<EnrichedEvent>) -> AppResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let room = self
            .room
            .clone()
            .acquire_many_owned(permits(events.len()))
            .await
            .map_err(|_| AppError::Unavailable)?;
        self.send_and_wait(events, room).await
    }

    /// Queues the events and answers at once: 503 if the queue is full (or the collector is
    /// stopping). See the module documentation for what happens to them then.
    pub fn enqueue(&self, events: Vec<EnrichedEvent>) -> AppResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let overloaded = || {
            self.metrics.ingest_overloaded.inc();
            AppError::Unavailable
        };
        let room = self
            .room
            .clone()
            .try_acquire_many_owned(permits(events.len()))
            .map_err(|_| overloaded())?;
        self.tx
            .try_send(Job {
                events,
                done: None,
                room,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => overloaded(),
                mpsc::error::TrySendError::Closed(_) => AppError::Unavailable,
            })
    }

    /// Waits until everything queued before the call is written (or given up). For tests and
    /// tools that read the store right after sending.
    pub async fn flush(&self) -> AppResult<()> {
        let room = self
            .room
            .clone()
            .acquire_many_owned(0)
            .await
            .map_err(|_| AppError::Unavailable)?;
        self.send_and_wait(Vec::new(), room).await
    }

    async fn send_and_wait(&self, events: Vec<EnrichedEvent>, room: OwnedSemaphorePermit) -> AppResult<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job {
                events,
                done: Some(done),
                room,
            })
            .await
            .map_err(|_| AppError::Unavailable)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(AppError::Unavailable),
        }
    }
}

/// Semaphore permits for `n` events; a request never holds more events than that anyway.
fn permits(n: usize) -> u32 {
    u32::try_from(n.min(MAX_QUEUED_EVENTS)).unwrap_or(u32::MAX)
}

async fn run_writer(store: Arc<dyn Store>, metrics: Arc<Metrics>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut count = jobs[0].events.len();
        while count < WRITE_BATCH_MAX_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let lens: Vec<usize> = jobs.iter().map(|j| j.events.len()).collect();
        let events: Vec<EnrichedEvent> = jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.events)).collect();
        let outcome = write_once(&*store, &metrics, &events).await;
        // Acknowledged events of a failed write are kept for the retries; senders that wait are
        // told, and retry themselves.
        let mut queued: Vec<EnrichedEvent> = Vec::new();
        // Their room in the queue stays taken until they are written or given up.
        let mut held = Vec::new();
        // Flushes (no events of their own) wait for the retries of what was queued before them.
        let mut flushes = Vec::new();
        let mut offset = 0;
        for (job, len) in jobs.into_iter().zip(lens) {
            match job.done {
                Some(done) if len == 0 => flushes.push(done),
                // A requester that went away still had its events written (or may retry them).
                Some(done) => {
                    let _ = done.send(outcome);
                }
                None if outcome.is_err() => {
                    queued.extend_from_slice(&events[offset..offset + len]);
                    held.push(job.room);
                }
                None => {}
            }
            offset += len;
        }
        if !queued.is_empty() {
            retry_queued(&*store, &metrics, &queued).await;
        }
        drop(held);
        for done in flushes {
            let _ = done.send(Ok(()));
        }
    }
    tracing::debug!("writer drained and stopped");
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

/// Retries the write of acknowledged events with a growing backoff (ingest is idempotent, so a
/// write that failed after storing part of them is safe to repeat). Meanwhile the queue fills and
/// new browser requests get 503: nothing is accepted that cannot be kept.
async fn retry_queued(store: &dyn Store, metrics: &Metrics, events: &[EnrichedEvent]) {
    let mut backoff = RETRY_BACKOFF_MIN;
    for _ in 1..QUEUED_WRITE_ATTEMPTS {
        tokio::time::sleep(backoff).await;
        if write_once(store, metrics, events).await.is_ok() {
            return;
        }
        backoff = (backoff * 2).min(RETRY_BACKOFF_MAX);
    }
    metrics.events_lost.inc_by(events.len() as u64);
    tracing::error!(
        events = events.len(),
        attempts = QUEUED_WRITE_ATTEMPTS,
        "gave up writing acknowledged events: the store kept failing"
    );
}

/// Maps a whole-body error to its HTTP error.
pub fn body_error(e: BodyError) -> AppError {
    match e {
        BodyError::TooLarge => AppError::PayloadTooLarge(e.to_string()),
        BodyError::NotUtf8 => AppError::bad_request("invalid_utf8", e.to_string()),
        BodyError::Json(_) => AppError::bad_request("invalid_json", e.to_string()),
        BodyError::MissingKey => AppError::Unauthorized(e.to_string()),
        BodyError::TooManyEvents(_) => AppError::bad_request("too_many_events", e.to_string()),
        _ => AppError::bad_request("invalid_body", e.to_string()),
    }
}

/// Validates, enriches and stores a site's request (`POST /api/event` or the GIF).
pub async fn accept_direct(state: &AppState, body: &[u8], ctx: RequestContext) -> AppResult<Accepted> {
    let submission = parse_body(body).map_err(body_error)?;
    let key = state.keys.resolve(&submission.key, ctx.received_at).await?;
    let salt = state.salts.for_day(day_of(ctx.received_at)).await?;
    let mut valid = Vec::with_capacity(submission.events.len());
    let mut rejected = Vec::new();
    let mut dropped = 0;
    for (index, event) in submission.events.into_iter().enumerate() {
        match event {
            Ok(event) => match enrich(event, key.project_id, &ctx, &salt, submission.webdriver, rand::random) {
                Ok(enriched) => valid.push(enriched),
                Err(Dropped::Bot) => dropped += 1,
            },
            Err(e) => rejected.push(RejectedEvent {
                index,
                error: e.to_string(),
            }),
        }
    }
    state.metrics.events_bots.inc_by(dropped as u64);
    let accepted = store_valid(state, "direct", valid, &rejected, dropped > 0, Ack::Queued).await?;
    Ok(Accepted {
        accepted,
        dropped,
        rejected,
    })
}

/// When a request's events count as taken: see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ack {
    /// Once stored ([`Writer::write`]).
    Stored,
    /// Once queued ([`Writer::enqueue`]).
    Queued,
}

/// The tail both ingestion paths share: counts the refused events, refuses a request with nothing
/// valid in it (400 listing why, unless bots explain the emptiness), hands the valid events to the
/// writer and counts them. Returns how many were accepted.
pub async fn store_valid(
    state: &AppState,
    path: &'static str,
    valid: Vec<EnrichedEvent>,
    rejected: &[RejectedEvent],
    dropped_any: bool,
    ack: Ack,
) -> AppResult<usize> {
    let label = PathLabel { path };
    state
        .metrics
        .events_rejected
        .get_or_create(&label)
        .inc_by(rejected.len() as u64);
    if valid.is_empty() && !dropped_any && !rejected.is_empty() {
        return Err(no_valid_event(rejected.to_vec()));
    }
    let accepted = valid.len();
    match ack {
        Ack::Stored => state.writer.write(valid).await?,
        Ack::Queued => state.writer.enqueue(valid)?,
    }
    state
        .metrics
        .events_accepted
        .get_or_create(&label)
        .inc_by(accepted as u64);
    Ok(accepted)
}

/// 400 for a request none of whose events is valid, listing each reason.
pub fn no_valid_event(rejected: Vec<RejectedEvent>) -> AppError {
    let message = match rejected.as_slice() {
        [only] => format!("invalid event: {}", only.error),
        _ => format!("none of the {} events is valid", rejected.len()),
    };
    AppError::BadRequest {
        code: "invalid_event",
        message,
        details: Some(json!({ "rejected": rejected })),
    }
}
