//! A site's conversion goals, for its owner: `GET/POST /api/v1/projects/{id}/goals` and
//! `DELETE /api/v1/projects/{id}/goals/{goal_id}`. The query API counts them (`conversion_rate`
//! with `{"id": goal_id}`, the `goal` filter and dimension: `docs/query-api.md`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use contract::api;
use store::{Goal, GoalId, GoalKind, MAX_GOALS_PER_PROJECT};

use super::{rfc3339, JsonBody, PathParams};
use crate::auth::Owner;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects/{id}/goals", get(list_goals).post(create_goal))
        .route("/api/v1/projects/{id}/goals/{goal_id}", delete(delete_goal))
}

pub fn goal_view(g: &Goal) -> api::Goal {
    let (event, page) = match &g.kind {
        GoalKind::Event(name) => (Some(name.clone()), None),
        GoalKind::Page(pattern) => (None, Some(pattern.as_str().to_owned())),
    };
    api::Goal {
        id: g.id.to_string(),
        name: g.kind.name(),
        event,
        page,
        created_at: rfc3339(g.created_at),
    }
}

fn invalid(field: &str, why: impl std::fmt::Display) -> AppError {
    AppError::BadRequest {
        code: "invalid_field",
        message: format!("{field}: {why}"),
        details: Some(serde_json::json!({ "field": field })),
    }
}

/// The goal a request describes: exactly one of a custom event name and a page pattern.
fn parse_new_goal(body: &api::NewGoal) -> AppResult<GoalKind> {
    match (&body.event, &body.page) {
        (Some(event), None) => GoalKind::event(event).map_err(|e| invalid("event", e)),
        (None, Some(page)) => GoalKind::page(page).map_err(|e| invalid("page", e)),
        (Some(_), Some(_)) => Err(invalid("page", "give either event or page, not both")),
        (None, None) => Err(invalid(
            "event",
            "is required: a custom event name (\"signup\"), or give page, a page pattern (\"/docs/*\")",
        )),
    }
}

async fn list_goals(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::GoalList>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let goals = state.store.goals_of(&project.id).await?;
    Ok(Json(api::GoalList {
        goals: goals.iter().map(goal_view).collect(),
    }))
}

async fn create_goal(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<api::NewGoal>,
) -> AppResult<Response> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let kind = parse_new_goal(&body)?;
    let goals = state.store.goals_of(&project.id).await?;
    // Checked before inserting, so two requests at once can pass it together: the limit is
    // approximate by that much, which is all it needs to be (it bounds the work of a query by goal).
    if goals.len() >= MAX_GOALS_PER_PROJECT {
        return Err(AppError::Conflict(format!(
            "a site has at most {MAX_GOALS_PER_PROJECT} goals: delete one first"
        )));
    }
    // Goals are filtered and shown by name: an event goal named like a page goal (`Visit /x`)
    // would be two goals with one name.
    let name = kind.name();
    if goals.iter().any(|g| g.kind.name() == name) {
        return Err(AppError::Conflict(format!("a goal named {name:?} already exists")));
    }
    let now = crate::now_ms();
    let goal = Goal {
        id: GoalId::new(now),
        project: project.id,
        kind,
        created_at: now,
    };
    state.store.create_goal(&goal).await?;
    Ok((StatusCode::CREATED, Json(goal_view(&goal))).into_response())
}

async fn delete_goal(
    State(state): State<AppState>,
    owner: Owner,
    PathParams((id, goal_id)): PathParams<(String, String)>,
) -> AppResult<StatusCode> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let goal_id = GoalId::parse(&goal_id).ok_or(AppError::NotFound("goal"))?;
    if !state.store.delete_goal(&project.id, &goal_id).await? {
        return Err(AppError::NotFound("goal"));
    }
    Ok(StatusCode::NO_CONTENT)
}
