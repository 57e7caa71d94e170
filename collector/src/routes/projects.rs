//! Projects and their ingestion keys, for their owner.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use store::{KeyRecord, Project};

use super::{rfc3339, JsonBody};
use crate::auth::Owner;
use crate::error::AppResult;
use crate::ops;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects", get(list_projects).post(create_project))
        .route("/api/v1/projects/{id}", get(show_project))
        .route("/api/v1/projects/{id}/keys", get(list_keys).post(create_key))
        .route("/api/v1/projects/{id}/keys/{key_id}", delete(revoke_key))
}

pub fn project_view(p: &Project) -> Value {
    json!({ "id": p.id.to_string(), "name": p.name.as_str(), "created_at": rfc3339(p.created_at) })
}

pub fn key_view(k: &KeyRecord) -> Value {
    json!({
        "id": k.id.to_string(),
        "project_id": k.project_id.to_string(),
        "label": k.label.as_str(),
        "preview": k.key_preview.as_str(),
        "created_at": rfc3339(k.created_at),
        "last_used_at": k.last_used_at.map(rfc3339),
        "revoked_at": k.revoked_at.map(rfc3339),
    })
}

#[derive(Deserialize)]
struct NewProject {
    name: String,
}

async fn list_projects(State(state): State<AppState>, owner: Owner) -> AppResult<Json<Value>> {
    let projects = state.store.projects_of(&owner.user.id).await?;
    Ok(Json(
        json!({ "projects": projects.iter().map(project_view).collect::<Vec<_>>() }),
    ))
}

async fn create_project(
    State(state): State<AppState>,
    owner: Owner,
    JsonBody(body): JsonBody<NewProject>,
) -> AppResult<Response> {
    let project = ops::create_project(&*state.store, &owner.user, &body.name).await?;
    Ok((StatusCode::CREATED, Json(project_view(&project))).into_response())
}

async fn show_project(State(state): State<AppState>, owner: Owner, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    Ok(Json(project_view(&project)))
}

#[derive(Deserialize)]
struct NewKey {
    label: String,
}

async fn list_keys(State(state): State<AppState>, owner: Owner, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let keys = state.store.keys_of(&project.id).await?;
    Ok(Json(json!({ "keys": keys.iter().map(key_view).collect::<Vec<_>>() })))
}

async fn create_key(
    State(state): State<AppState>,
    owner: Owner,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewKey>,
) -> AppResult<Response> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let (key, record) =
        ops::create_key(&*state.store, state.secrets.key_pepper.expose(), &project, &body.label).await?;
    let mut view = key_view(&record);
    view["key"] = json!(key.expose());
    view["note"] = json!("the key is shown once: put it in the site's <script data-key=...> now");
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn revoke_key(
    State(state): State<AppState>,
    owner: Owner,
    Path((id, key_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let record = ops::revoke_key(&*state.store, Some(&project), &key_id).await?;
    state.keys.forget(&record.key_hash);
    Ok(Json(key_view(&record)))
}
