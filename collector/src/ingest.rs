//! The ingestion pipeline shared by `POST /api/event`, the GIF and the edge's internal endpoint.
//!
//! Requests do not write to the store themselves: they hand their events to one [`Writer`] task
//! and wait for it. The writer takes everything queued at that moment into a single
//! `Store::ingest` call, so under load many requests share one transaction (group commit), and a
//! request is answered only once its events are stored: nothing accepted is lost, and on shutdown
//! the queue is drained before the process exits.

use std::sync::Arc;
use std::time::Instant;

use contract::enriched::{enrich, Dropped, EnrichedEvent, RequestContext};
use contract::internal::{day_of, RejectedEvent};
use contract::wire::{parse_body, Accepted, BodyError};
use serde_json::json;
use store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::error::{AppError, AppResult};
use crate::metrics::{Metrics, PathLabel};
use crate::state::AppState;

/// Requests that may wait for the writer at once; past it, callers wait for room (back-pressure).
pub const WRITE_QUEUE_CAPACITY: usize = 4096;
/// Most events in one store write.
pub const WRITE_BATCH_MAX_EVENTS: usize = 2000;

struct Job {
    events: Vec<EnrichedEvent>,
    done: oneshot::Sender<Result<(), ()>>,
}

/// The handle requests use to store events. Dropping every handle stops the writer after it has
/// written everything queued.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(WRITE_QUEUE_CAPACITY);
        (Self { tx }, tokio::spawn(run_writer(store, metrics, rx)))
    }

    /// Stores the events (deduplicated and sessionized by the store); errs with 503 when the
    /// store failed, so the sender retries.
    pub async fn write(&self, events: Vec<EnrichedEvent>) -> AppResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { events, done })
            .await
            .map_err(|_| AppError::Unavailable)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(AppError::Unavailable),
        }
    }
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
        let events: Vec<EnrichedEvent> = jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.events)).collect();
        let started = Instant::now();
        let result = store.ingest(&events).await;
        metrics.store_write_seconds.observe(started.elapsed().as_secs_f64());
        let outcome = match result {
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
        };
        for job in jobs {
            // A requester that went away still had its events written.
            let _ = job.done.send(outcome);
        }
    }
    tracing::debug!("writer drained and stopped");
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
    let accepted = store_valid(state, "direct", valid, &rejected, dropped > 0).await?;
    Ok(Accepted {
        accepted,
        dropped,
        rejected,
    })
}

/// The tail both ingestion paths share: counts the refused events, refuses a request with nothing
/// valid in it (400 listing why, unless bots explain the emptiness), stores the valid events and
/// counts them. Returns how many were stored.
pub async fn store_valid(
    state: &AppState,
    path: &'static str,
    valid: Vec<EnrichedEvent>,
    rejected: &[RejectedEvent],
    dropped_any: bool,
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
    state.writer.write(valid).await?;
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
