//! The internal API the edge calls, authenticated by HMAC-SHA256 signatures
//! ([`contract::signing`]). Answers 404 when no edge secret is configured.

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::enriched::EnrichedEvent;
use contract::internal::{day_of, IngestAnswer, KeyInfo, RejectedEvent, SaltInfo, INGEST_PATH};
use contract::keys::KeyHash;
use contract::limits::MAX_FORWARD_BATCH_EVENTS;
use contract::signing::{verify, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::ingest::read_limited;
use super::PathParams;
use crate::error::{AppError, AppResult};
use crate::ingest::store_valid;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(INGEST_PATH, post(ingest))
        .route("/internal/v1/keys/{key_hash}", get(key))
        .route("/internal/v1/salts/{day}", get(salt))
}

/// Checks the request's signature; returns its body.
async fn authenticate(state: &AppState, parts: &Parts, body: axum::body::Body) -> AppResult<axum::body::Bytes> {
    let Some(secret) = &state.secrets.edge_secret else {
        return Err(AppError::NotFound("internal API (no edge secret configured)"));
    };
    let bytes = read_limited(body).await?;
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    verify(
        secret.expose().as_bytes(),
        crate::now_ms() / 1000,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        parts.method.as_str(),
        parts.uri.path(),
        &bytes,
    )
    .map_err(|e| AppError::Unauthorized(format!("bad signature: {e}")))?;
    Ok(bytes)
}

/// [`contract::internal::IngestBatch`] with each event still raw text, so one bad event is
/// reported on its own instead of failing the whole batch, and each good one is parsed once
/// (through a `Value` tree, parsing took as long as storing).
#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// Takes a batch of events the edge enriched. Answers 200, once the accepted events are in the
/// ingest log on disk, with what was accepted and what was refused; a refused event is refused
/// for good (the edge must not retry it), while a 5xx means "retry the whole batch".
async fn ingest(State(state): State<AppState>, request: Request) -> AppResult<Json<IngestAnswer>> {
    let (parts, body) = request.into_parts();
    let bytes = authenticate(&state, &parts, body).await?;
    let batch: Batch = serde_json::from_slice(&bytes).map_err(|e| {
        AppError::bad_request(
            "invalid_json",
            format!("the body is not a batch {{\"events\": [...]}}: {e}"),
        )
    })?;
    if batch.events.len() > MAX_FORWARD_BATCH_EVENTS {
        return Err(AppError::bad_request(
            "too_many_events",
            format!(
                "the batch has {} events; at most {MAX_FORWARD_BATCH_EVENTS} are allowed",
                batch.events.len()
            ),
        ));
    }
    let now = crate::now_ms();
    let mut valid = Vec::with_capacity(batch.events.len());
    let mut rejected = Vec::new();
    for (index, value) in batch.events.into_iter().enumerate() {
        let parsed = parse_enriched(value.get()).and_then(|event| {
            event.check(now).map_err(|e| e.to_string())?;
            Ok(event)
        });
        match parsed {
            Ok(event) => valid.push(event),
            Err(error) => rejected.push(RejectedEvent { index, error }),
        }
    }
    let accepted = store_valid(&state, "edge", valid, &rejected, false).await?;
    Ok(Json(IngestAnswer { accepted, rejected }))
}

/// One forwarded event. A refused one is parsed a second time, tracking where it is, so that the
/// error names the field (`screen_width: invalid value: integer …, expected u32`); events that
/// parse pay nothing for it.
fn parse_enriched(text: &str) -> Result<EnrichedEvent, String> {
    serde_json::from_str(text).map_err(|error| {
        let mut tracked = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, EnrichedEvent>(&mut tracked) {
            Err(e) if e.path().iter().next().is_some() => format!("{}: {}", e.path(), e.inner()),
            _ => error.to_string(),
        }
    })
}

/// What a key hash stands for: its project and whether it is revoked.
async fn key(
    State(state): State<AppState>,
    PathParams(key_hash): PathParams<String>,
    request: Request,
) -> AppResult<Json<KeyInfo>> {
    let (parts, body) = request.into_parts();
    authenticate(&state, &parts, body).await?;
    let hash = KeyHash::parse(&key_hash).map_err(|e| AppError::bad_request("invalid_key_hash", e.to_string()))?;
    let record = state.store.key_by_hash(&hash).await?.ok_or(AppError::NotFound("key"))?;
    Ok(Json(KeyInfo {
        project_id: record.project_id,
        key_id: record.id.to_string(),
        revoked: record.revoked_at.is_some(),
    }))
}

/// The visitor salt of a UTC day (days since the epoch): yesterday, today or tomorrow only, so
/// that old salts cannot be recovered and ids stay unlinkable across days.
async fn salt(
    State(state): State<AppState>,
    PathParams(day): PathParams<String>,
    request: Request,
) -> AppResult<Json<SaltInfo>> {
    let (parts, body) = request.into_parts();
    authenticate(&state, &parts, body).await?;
    let day: i64 = day
        .parse()
        .map_err(|_| AppError::bad_request("invalid_day", "day: days since 1970-01-01 (UTC)"))?;
    let today = day_of(crate::now_ms());
    // `day` is any i64 the caller sent: no subtraction that could overflow.
    if day.abs_diff(today) > 1 {
        return Err(AppError::bad_request(
            "invalid_day",
            "day: only yesterday, today and tomorrow have salts",
        ));
    }
    let salt = state.salts.for_day(day).await?;
    Ok(Json(SaltInfo::new(day, &salt)))
}
