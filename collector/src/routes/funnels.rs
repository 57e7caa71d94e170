//! Funnels (`docs/query-api.md`, "Funnels"): `POST /api/v1/funnel` computes one, and
//! `/api/v1/projects/{id}/funnels` keeps the dashboard's saved ones.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use contract::api;
use query::funnel::{parse_funnel, parse_steps, StepSpec};
use serde_json::{json, Value};
use store::analytics::funnel::{FunnelQuery, FunnelStep, FunnelSteps};
use store::funnels::{SavedFunnel, SavedFunnelStep, SavedFunnelSteps, MAX_SAVED_FUNNELS_PER_PROJECT};
use store::ids::FunnelId;
use store::{Name, Project};

use super::query::{resolve_all_time, QUERY_TIME_BUDGET};
use super::{rfc3339, JsonBody, PathParams};
use crate::auth::Owner;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/funnel", post(run_funnel))
        .route("/api/v1/projects/{id}/funnels", get(list_funnels).post(create_funnel))
        .route("/api/v1/projects/{id}/funnels/{funnel_id}", delete(delete_funnel))
}

/// A 400 naming the field, shaped like the query API's.
fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        code: "invalid_query",
        message: format!("{field}: {}", message.into()),
        details: Some(json!({ "field": field })),
    }
}

/// The store's steps and their labels ([`query::funnel::resolve_steps`]); the project's goals
/// are read only when a step names one.
async fn resolve_steps(
    state: &AppState,
    project: &contract::ids::ProjectId,
    specs: &[StepSpec],
    at: &str,
) -> AppResult<(Vec<FunnelStep>, Vec<String>)> {
    let goals = if specs.iter().any(|s| matches!(s, StepSpec::Goal(_))) {
        state.store.goals_of(project).await?
    } else {
        Vec::new()
    };
    query::funnel::resolve_steps(specs, &goals, at).map_err(|e| invalid(&e.field, e.message))
}

async fn run_funnel(
    State(state): State<AppState>,
    owner: Owner,
    JsonBody(mut body): JsonBody<Value>,
) -> AppResult<Json<api::FunnelResult>> {
    // Someone else's project is "not found", like one that does not exist; a missing or
    // malformed id is left to the parser, which names the field.
    let project: Option<Project> = match body.get("project_id").and_then(Value::as_str) {
        Some(id) if contract::ids::ProjectId::parse(id).is_ok() => {
            Some(ops::owned_project(&*state.store, &owner.user, id).await?)
        }
        _ => None,
    };
    if let Some(project) = &project {
        resolve_all_time(&state, project, &mut body).await?;
    }
    // Off the async workers: `matches` filters compile regular expressions.
    let now = crate::now_ms();
    let request = tokio::task::spawn_blocking(move || parse_funnel(&body, now))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("parsing a funnel")))?
        .map_err(|e| invalid(&e.field, e.message))?;
    if project.is_none_or(|p| p.id != request.project) {
        return Err(AppError::NotFound("project"));
    }
    let (steps, labels) = resolve_steps(&state, &request.project, &request.steps, "steps").await?;
    let q = FunnelQuery {
        project: request.project,
        from: request.range.from,
        to: request.range.to,
        filters: request.filters,
        steps: FunnelSteps::new(steps).map_err(|why| invalid("steps", why))?,
    };
    let counts = match tokio::time::timeout(QUERY_TIME_BUDGET, state.store.funnel(&q)).await {
        Err(_) => return Err(AppError::QueryTimeout(QUERY_TIME_BUDGET)),
        Ok(counts) => counts?,
    };
    Ok(Json(query::funnel::funnel_result(
        &counts,
        &labels,
        &request.range,
        request.timezone,
    )))
}

fn saved_step(step: &StepSpec) -> SavedFunnelStep {
    match step {
        StepSpec::Page(p) => SavedFunnelStep::Page(p.clone()),
        StepSpec::Event(n) => SavedFunnelStep::Event(n.clone()),
        StepSpec::Goal(id) => SavedFunnelStep::Goal(id.clone()),
    }
}

fn funnel_view(f: &SavedFunnel) -> api::SavedFunnel {
    let steps = f
        .steps
        .as_slice()
        .iter()
        .map(|s| {
            query::funnel::step_spec_view(&match s {
                SavedFunnelStep::Page(p) => StepSpec::Page(p.clone()),
                SavedFunnelStep::Event(n) => StepSpec::Event(n.clone()),
                SavedFunnelStep::Goal(id) => StepSpec::Goal(id.clone()),
            })
        })
        .collect();
    api::SavedFunnel {
        id: f.id.to_string(),
        name: f.name.as_str().to_owned(),
        steps,
        created_at: rfc3339(f.created_at),
    }
}

async fn list_funnels(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::SavedFunnelList>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let funnels = state.store.saved_funnels_of(&project.id).await?;
    Ok(Json(api::SavedFunnelList {
        funnels: funnels.iter().map(funnel_view).collect(),
    }))
}

async fn create_funnel(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<Value>,
) -> AppResult<Response> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let Some(object) = body.as_object() else {
        return Err(invalid(
            "body",
            "must be a JSON object: {\"name\": ..., \"steps\": [...]}",
        ));
    };
    if let Some(unknown) = object.keys().find(|k| !["name", "steps"].contains(&k.as_str())) {
        return Err(invalid(unknown, "unknown field; a saved funnel has name and steps"));
    }
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("name", "is required: 1 to 100 characters"))?;
    let name = Name::parse(name).map_err(|why| invalid("name", why))?;
    let specs =
        parse_steps(object.get("steps").filter(|v| !v.is_null()), "steps").map_err(|e| invalid(&e.field, e.message))?;
    // Goal steps must name a goal of the project now, not only when the funnel runs.
    resolve_steps(&state, &project.id, &specs, "steps").await?;
    let steps = SavedFunnelSteps::new(specs.iter().map(saved_step).collect()).map_err(|why| invalid("steps", why))?;
    if state.store.saved_funnels_of(&project.id).await?.len() >= MAX_SAVED_FUNNELS_PER_PROJECT {
        return Err(AppError::Conflict(format!(
            "a site has at most {MAX_SAVED_FUNNELS_PER_PROJECT} saved funnels: delete one first"
        )));
    }
    let now = crate::now_ms();
    let funnel = SavedFunnel {
        id: FunnelId::new(now),
        project: project.id,
        name,
        steps,
        created_at: now,
    };
    state.store.create_saved_funnel(&funnel).await?;
    Ok((StatusCode::CREATED, Json(funnel_view(&funnel))).into_response())
}

async fn delete_funnel(
    State(state): State<AppState>,
    owner: Owner,
    PathParams((id, funnel_id)): PathParams<(String, String)>,
) -> AppResult<StatusCode> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let funnel_id = FunnelId::parse(&funnel_id).ok_or(AppError::NotFound("funnel"))?;
    if !state.store.delete_saved_funnel(&project.id, &funnel_id).await? {
        return Err(AppError::NotFound("funnel"));
    }
    Ok(StatusCode::NO_CONTENT)
}
