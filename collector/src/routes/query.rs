//! The dashboard's query API (`docs/query-api.md`): `POST /api/v1/query`, and the seed's
//! `GET /api/stats` shortcut.

use axum::extract::{Query as UrlQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::JsonBody;
use crate::auth::Owner;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

/// Paths in the `/api/stats` answer.
pub const STATS_TOP_PATHS: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/query", post(run_query))
        .route("/api/stats", get(daily_stats))
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
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
    let q = query::parse_query(&body, crate::now_ms()).map_err(|e| invalid(&e.field, e.message))?;
    // Someone else's project is "not found", like a project that does not exist.
    ops::owned_project(&*state.store, &owner.user, &q.project.to_string()).await?;
    let result = query::engine::run(&*state.store, &q, &engine_options(&state))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("query")))?;
    if wants_csv(&headers) {
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

#[derive(Deserialize)]
struct StatsParams {
    site_id: Option<String>,
    date: Option<String>,
}

/// Seed 002's reporting endpoint: one UTC day's views, unique visitors and top paths.
async fn daily_stats(
    State(state): State<AppState>,
    owner: Owner,
    UrlQuery(params): UrlQuery<StatsParams>,
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
