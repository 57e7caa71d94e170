//! Journeys and the session explorer (`docs/query-api.md`): `POST /api/v1/journeys`,
//! `GET /api/v1/projects/{id}/sessions` and `GET /api/v1/projects/{id}/sessions/{session_id}`.
//! Answers carry no visitor id and no address.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::api;
use serde_json::{json, Value};
use store::analytics::explorer::{SessionCursor, SessionId, MAX_SESSION_EVENTS};
use store::analytics::journeys::{Journeys, Step};
use store::Session;

use super::query::QUERY_TIME_BUDGET;
use super::{rfc3339, JsonBody, PathParams, QueryParams};
use crate::auth::Owner;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/journeys", post(journeys))
        .route("/api/v1/projects/{id}/sessions", get(session_list))
        .route("/api/v1/projects/{id}/sessions/{session_id}", get(session_detail))
}

fn invalid(e: query::QueryError) -> AppError {
    AppError::BadRequest {
        code: "invalid_query",
        message: e.to_string(),
        details: Some(json!({ "field": e.field })),
    }
}

/// Runs a store read under the query API's time budget (503 `query_timeout` past it).
async fn within_budget<T>(read: impl std::future::Future<Output = store::Result<T>>) -> AppResult<T> {
    match tokio::time::timeout(QUERY_TIME_BUDGET, read).await {
        Err(_) => Err(AppError::QueryTimeout(QUERY_TIME_BUDGET)),
        Ok(result) => Ok(result?),
    }
}

/// Parses off the async workers: a filter's patterns can take milliseconds to compile.
async fn parse_off_thread<T: Send + 'static>(
    parse: impl FnOnce() -> Result<T, query::QueryError> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("parsing a request")))?
        .map_err(invalid)
}

async fn journeys(
    State(state): State<AppState>,
    owner: Owner,
    JsonBody(body): JsonBody<Value>,
) -> AppResult<Json<api::JourneyResult>> {
    // Someone else's project is "not found"; a missing or malformed id is the parser's to name.
    let project = match body.get("project_id").and_then(Value::as_str) {
        Some(id) if contract::ids::ProjectId::parse(id).is_ok() => {
            Some(ops::owned_project(&*state.store, &owner.user, id).await?)
        }
        _ => None,
    };
    let now = crate::now_ms();
    let request = parse_off_thread(move || query::journeys::parse_journeys(&body, now)).await?;
    if project.is_none_or(|p| p.id != request.query.project) {
        return Err(AppError::NotFound("project"));
    }
    let answer = within_budget(state.store.journeys(&request.query)).await?;
    Ok(Json(journey_result(answer, &request.range, request.timezone.name())))
}

fn node_ref(step: &Step) -> api::JourneyNodeRef {
    api::JourneyNodeRef {
        kind: step.kind.name().to_owned(),
        value: step.value.clone(),
    }
}

fn journey_result(answer: Journeys, range: &query::Range, timezone: &str) -> api::JourneyResult {
    let index: HashMap<(u32, &Step), u32> = answer
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ((n.depth, &n.step), i as u32))
        .collect();
    let links = answer
        .links
        .iter()
        .filter_map(|l| {
            Some(api::JourneyLink {
                from: *index.get(&(l.depth, &l.from))?,
                to: *index.get(&(l.depth + 1, &l.to))?,
                visitors: l.visitors,
            })
        })
        .collect();
    api::JourneyResult {
        nodes: answer
            .nodes
            .iter()
            .map(|n| api::JourneyNode {
                depth: n.depth,
                kind: n.step.kind.name().to_owned(),
                value: n.step.value.clone(),
                visitors: n.visitors,
            })
            .collect(),
        links,
        paths: answer
            .paths
            .iter()
            .map(|p| api::JourneyPath {
                steps: p.steps.iter().map(node_ref).collect(),
                visitors: p.visitors,
            })
            .collect(),
        depths: answer
            .depths
            .iter()
            .map(|d| api::JourneyDepth {
                depth: d.depth,
                visitors: d.visitors,
                drop_off: d.drop_off,
            })
            .collect(),
        date_range: vec![rfc3339(range.from), rfc3339(range.to)],
        timezone: timezone.to_owned(),
    }
}

/// A session as the explorer shows it: no visitor id, no address.
fn summary(s: &Session) -> api::SessionSummary {
    api::SessionSummary {
        id: s.id.clone(),
        started_at: rfc3339(s.start),
        ended_at: rfc3339(s.end),
        duration_ms: s.duration_ms().max(0) as u64,
        pageviews: s.pageviews,
        events: s.events,
        custom_events: s.custom_events,
        bounce: s.is_bounce(),
        entry_page: s.entry_page.clone(),
        exit_page: s.exit_page.clone(),
        hostname: s.hostname.clone(),
        source: s.source.clone(),
        referrer: s.referrer.clone(),
        utm_source: s.utm.source.clone(),
        utm_medium: s.utm.medium.clone(),
        utm_campaign: s.utm.campaign.clone(),
        browser: s.client.browser.clone(),
        os: s.client.os.clone(),
        device: s.client.device.as_str().to_owned(),
        country: s.geo.country.clone(),
        region: s.geo.region.clone(),
        city: s.geo.city.clone(),
    }
}

async fn session_list(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<BTreeMap<String, String>>,
) -> AppResult<Json<api::SessionList>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let now = crate::now_ms();
    let request = parse_off_thread(move || query::journeys::parse_session_list(project.id, &params, now)).await?;
    let page_size = request.query.limit;
    // One more than the page: whether there is a next page, without counting.
    let probe = store::analytics::explorer::SessionListQuery {
        limit: page_size + 1,
        ..request.query
    };
    let mut sessions = within_budget(state.store.session_list(&probe)).await?;
    let next_cursor = if sessions.len() > page_size {
        sessions.truncate(page_size);
        sessions.last().and_then(SessionCursor::after).map(|c| c.encode())
    } else {
        None
    };
    Ok(Json(api::SessionList {
        sessions: sessions.iter().map(summary).collect(),
        next_cursor,
    }))
}

async fn session_detail(
    State(state): State<AppState>,
    owner: Owner,
    PathParams((id, session_id)): PathParams<(String, String)>,
) -> AppResult<Json<api::SessionDetail>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let session_id = SessionId::parse(&session_id).ok_or(AppError::NotFound("session"))?;
    let session = state
        .store
        .session(&project.id, &session_id)
        .await?
        .ok_or(AppError::NotFound("session"))?;
    let mut events = within_budget(state.store.session_events(&session, MAX_SESSION_EVENTS + 1)).await?;
    let truncated = events.len() > MAX_SESSION_EVENTS;
    events.truncate(MAX_SESSION_EVENTS);
    Ok(Json(api::SessionDetail {
        session: summary(&session),
        events: events
            .iter()
            .map(|e| api::SessionEvent {
                at: rfc3339(e.occurred_at),
                name: e.name.clone(),
                path: e.path.clone(),
                duration_ms: e.duration_ms,
                scroll_depth: e.scroll_depth.map(u32::from),
                props: e.props.clone(),
            })
            .collect(),
        truncated,
    }))
}
