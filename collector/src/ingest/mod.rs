//! The ingestion pipeline shared by `POST /api/event`, the GIF and the edge's internal endpoint:
//! parsing and enrichment here, then the [`Writer`], which answers once the events are in the
//! ingest log ([`log`]) on disk and moves them into the store behind the answer.

pub mod log;
pub mod writer;

use contract::enriched::{enrich, Dropped, EnrichedEvent, RequestContext};
use contract::internal::{day_of, RejectedEvent};
use contract::wire::{parse_body, Accepted, BodyError};
use serde_json::json;

pub use self::log::{IngestLog, MAX_LOGGED_BYTES, MAX_LOGGED_EVENTS};
pub use self::writer::{Writer, WRITE_BATCH_MAX_EVENTS, WRITE_INTERVAL_MIN};
use crate::error::{AppError, AppResult};
use crate::metrics::PathLabel;
use crate::state::AppState;

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
/// valid in it (400 listing why, unless bots explain the emptiness), hands the valid events to the
/// writer and counts them. Returns how many were accepted.
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
    state.writer.accept(valid).await?;
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
