//! The dashboard's saved segments, for a site's owner: `GET/POST /api/v1/projects/{id}/segments`
//! and `DELETE /api/v1/projects/{id}/segments/{segment_id}`. A segment's filters are checked by
//! the query API's own rules (`query::check_filters`) so that every saved segment applies; the
//! dashboard applies one by copying its filters into its URL, and queries never read them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use contract::api;
use serde_json::json;
use store::{Name, Segment, SegmentFilter, SegmentFilters, SegmentId, MAX_SEGMENTS_PER_PROJECT};

use super::query::invalid;
use super::{rfc3339, JsonBody, PathParams};
use crate::auth::Owner;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects/{id}/segments", get(list).post(create))
        .route("/api/v1/projects/{id}/segments/{segment_id}", delete(remove))
}

fn view(s: &Segment) -> api::Segment {
    api::Segment {
        id: s.id.to_string(),
        name: s.name.as_str().to_owned(),
        filters: s.filters.as_slice().to_vec(),
        created_at: rfc3339(s.created_at),
    }
}

/// A checked filter under the dimension's own name (`visit:country` -> `country`), the one the
/// dashboard's URL state reads: it applies a segment by copying the filters as they are.
fn canonical((op, dimension, values): SegmentFilter) -> SegmentFilter {
    let dimension = match query::Dimension::parse(&dimension) {
        Some(query::Dimension::Field(field)) => field.name(),
        Some(query::Dimension::Goal) => "goal".to_owned(),
        _ => dimension,
    };
    (op, dimension, values)
}

/// Two names are the same segment's when they differ only by case (both are trimmed already).
fn same_name(a: &Name, b: &Name) -> bool {
    a.as_str().to_lowercase() == b.as_str().to_lowercase()
}

async fn list(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::SegmentList>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let segments = state.store.segments_of(&project.id).await?;
    Ok(Json(api::SegmentList {
        segments: segments.iter().map(view).collect(),
    }))
}

async fn create(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<api::NewSegment>,
) -> AppResult<Response> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let name = Name::parse(&body.name).map_err(|why| invalid("name", why))?;
    if body.filters.is_empty() {
        return Err(invalid("filters", "a segment needs at least one filter"));
    }
    // The query API's rules, errors and all (`filters[0][1]: unknown dimension ...`). Off the
    // async workers: `matches` filters compile regular expressions.
    let value = json!(body.filters);
    tokio::task::spawn_blocking(move || query::check_filters(&value))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("checking a segment's filters")))?
        .map_err(|e| invalid(&e.field, e.message))?;
    let filters = SegmentFilters::new(body.filters.into_iter().map(canonical).collect())
        .map_err(|why| invalid("filters", why))?;
    // Checked before inserting, so two requests at once can pass them together: the limit is
    // approximate by that much, and two segments of one name are a nuisance, not a fault.
    let existing = state.store.segments_of(&project.id).await?;
    if let Some(taken) = existing.iter().find(|s| same_name(&s.name, &name)) {
        return Err(AppError::Conflict(format!(
            "a segment named {:?} exists: choose another name, or delete that one first",
            taken.name.as_str()
        )));
    }
    if existing.len() >= MAX_SEGMENTS_PER_PROJECT {
        return Err(AppError::Conflict(format!(
            "a site has at most {MAX_SEGMENTS_PER_PROJECT} segments: delete one first"
        )));
    }
    let now = crate::now_ms();
    let segment = Segment {
        id: SegmentId::new(now),
        project: project.id,
        name,
        filters,
        created_at: now,
    };
    state.store.create_segment(&segment).await?;
    Ok((StatusCode::CREATED, Json(view(&segment))).into_response())
}

async fn remove(
    State(state): State<AppState>,
    owner: Owner,
    PathParams((id, segment_id)): PathParams<(String, String)>,
) -> AppResult<StatusCode> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let segment_id = SegmentId::parse(&segment_id).ok_or(AppError::NotFound("segment"))?;
    if !state.store.delete_segment(&project.id, &segment_id).await? {
        return Err(AppError::NotFound("segment"));
    }
    Ok(StatusCode::NO_CONTENT)
}
