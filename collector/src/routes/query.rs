//! The dashboard's query API (`docs/query-api.md`): `POST /api/v1/query`, and the seed's
//! `GET /api/stats` shortcut.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{JsonBody, QueryParams};
use crate::auth::Owner;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

/// Paths in the `/api/stats` answer.
pub const STATS_TOP_PATHS: usize = 10;
/// Longest a query may take before it is cancelled with a 503 `query_timeout`: the stores'
/// budget for one read ([`store::ANALYTICS_TIME_BUDGET`]), which also stops the reads left
/// running when the answer is abandoned.
pub const QUERY_TIME_BUDGET: std::time::Duration = store::ANALYTICS_TIME_BUDGET;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/query", post(run_query))
        .route("/api/stats", get(daily_stats))
}

/// A 400 naming the field (`{"error": "<field>: <message>", "code": "invalid_query", "field"}`),
/// as [`query::QueryError::to_json`] describes; saved segments answer their filters' errors so too.
pub(super) fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        code: "invalid_query",
        message: format!("{field}: {}", message.into()),
        details: Some(json!({ "field": field })),
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")))
}

fn engine_options(state: &AppState) -> query::engine::EngineOptions {
    query::engine::EngineOptions {
        hourly_kept_since: crate::rollups::retention(crate::now_ms(), state.raw_retention_days).hourly_before,
        force_raw: false,
    }
}

async fn run_query(
    State(state): State<AppState>,
    owner: Owner,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> AppResult<Response> {
    // Someone else's project is "not found", like a project that does not exist. A missing or
    // malformed id is left to the parser, which names the field.
    let project = match body.get("project_id").and_then(Value::as_str) {
        Some(id) if contract::ids::ProjectId::parse(id).is_ok() => {
            Some(ops::owned_project(&*state.store, &owner.user, id).await?)
        }
        _ => None,
    };
    answer(&state, project.as_ref(), body, &headers).await
}

/// Answers a query body for `project` (already checked to be the caller's): JSON or CSV.
pub async fn answer(
    state: &AppState,
    project: Option<&store::Project>,
    mut body: Value,
    headers: &HeaderMap,
) -> AppResult<Response> {
    if let Some(project) = project {
        resolve_all_time(state, project, &mut body).await?;
    }
    // Off the async workers: compiling a query's patterns can take milliseconds, and ingestion
    // shares those workers.
    let now = crate::now_ms();
    let q = tokio::task::spawn_blocking(move || query::parse_query(&body, now))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("parsing a query")))?
        .map_err(|e| invalid(&e.field, e.message))?;
    if project.is_none_or(|p| p.id != q.project) {
        return Err(AppError::NotFound("project"));
    }
    let options = engine_options(state);
    let run = query::engine::run(&*state.store, &q, &options);
    let result = match tokio::time::timeout(QUERY_TIME_BUDGET, run).await {
        Err(_) => return Err(AppError::QueryTimeout(QUERY_TIME_BUDGET)),
        Ok(Err(query::engine::EngineError::Store(e))) => return Err(e.into()),
        // A goal id or name the project does not have.
        Ok(Err(query::engine::EngineError::Query(e))) => return Err(invalid(&e.field, e.message)),
        Ok(Ok(result)) => result,
    };
    if wants_csv(headers) {
        let disposition = format!("attachment; filename=\"metrics-{}.csv\"", q.project);
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            result.to_csv(),
        )
            .into_response());
    }
    Ok(Json(result.to_json()).into_response())
}

/// `"date_range": "all"`: from the local date of the site's first event (its creation when it
/// has none yet) to today, in the query's time zone, at most the longest range a query may cover.
pub(super) async fn resolve_all_time(state: &AppState, project: &store::Project, body: &mut Value) -> AppResult<()> {
    if body.get("date_range").and_then(Value::as_str) != Some("all") {
        return Ok(());
    }
    // An invalid zone is refused by the parser afterwards, naming `timezone`.
    let tz: chrono_tz::Tz = body
        .get("timezone")
        .and_then(Value::as_str)
        .and_then(|name| name.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let now = crate::now_ms();
    let first = state
        .store
        .first_event_at(&project.id)
        .await?
        .unwrap_or(project.created_at)
        .min(now);
    let today = query::time::wall(tz, now).date();
    let earliest = today - chrono::Duration::days(query::request::MAX_RANGE_DAYS - 1);
    let from = query::time::wall(tz, first).date().max(earliest);
    body["date_range"] = json!([
        from.format("%Y-%m-%d").to_string(),
        today.format("%Y-%m-%d").to_string()
    ]);
    Ok(())
}

#[derive(Deserialize)]
struct StatsParams {
    site_id: Option<String>,
    date: Option<String>,
}

/// Seed 002's reporting endpoint: one UTC day's views, unique visitors and top paths.
async fn daily_stats(
    State(state): State<AppState>,
    owner: Owner,
    QueryParams(params): QueryParams<StatsParams>,
) -> AppResult<Json<Value>> {
    let site_id = params
        .site_id
        .ok_or_else(|| invalid("site_id", "is required (a project id)"))?;
    let date_text = params.date.ok_or_else(|| invalid("date", "is required (YYYY-MM-DD)"))?;
    let date = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d")
        .map_err(|_| invalid("date", format!("{date_text:?} is not a date like 2026-01-15")))?;
    let project = ops::owned_project(&*state.store, &owner.user, &site_id).await?;
    let day_start = date
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0);
    let (views, visitors, paths) = query::engine::daily_stats(&*state.store, &project.id, day_start, STATS_TOP_PATHS)
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("daily stats")))?;
    Ok(Json(json!({
        "success": true,
        "data": {
            "site_id": project.id.to_string(),
            "date": date.format("%Y-%m-%d").to_string(),
            "total_views": views,
            "unique_users_count": visitors,
            "top_paths": paths.iter().map(|(path, views)| json!({ "path": path, "views": views })).collect::<Vec<_>>(),
        }
    })))
}
