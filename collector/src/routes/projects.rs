//! Sites (projects), their ingestion keys and their share links, for their owner.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use contract::api;
use store::{Domain, KeyRecord, Name, Project, ShareId, ShareLink, ShareSlug, TimeZoneName};

use super::{rfc3339, JsonBody, PathParams};
use crate::auth::{self, Owner};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

/// Most share links per site: each one is a public door to the dashboard; a handful is plenty.
pub const MAX_SHARE_LINKS: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects", get(list_projects).post(create_project))
        .route(
            "/api/v1/projects/{id}",
            get(show_project).patch(update_project).delete(delete_project),
        )
        .route("/api/v1/projects/{id}/status", get(project_status))
        .route("/api/v1/projects/{id}/keys", get(list_keys).post(create_key))
        .route("/api/v1/projects/{id}/keys/{key_id}", delete(revoke_key))
        .route("/api/v1/projects/{id}/shares", get(list_shares).post(create_share))
        .route("/api/v1/projects/{id}/shares/{share_id}", delete(delete_share))
}

pub fn project_view(p: &Project) -> api::Project {
    api::Project {
        id: p.id.to_string(),
        name: p.name.as_str().to_owned(),
        domain: p.domain.as_ref().map(|d| d.as_str().to_owned()),
        timezone: p.timezone.as_str().to_owned(),
        created_at: rfc3339(p.created_at),
    }
}

pub fn key_view(k: &KeyRecord) -> api::Key {
    api::Key {
        id: k.id.to_string(),
        project_id: k.project_id.to_string(),
        label: k.label.as_str().to_owned(),
        preview: k.key_preview.as_str().to_owned(),
        created_at: rfc3339(k.created_at),
        last_used_at: k.last_used_at.map(rfc3339),
        revoked_at: k.revoked_at.map(rfc3339),
    }
}

pub fn share_view(s: &ShareLink) -> api::ShareLink {
    api::ShareLink {
        id: s.id.to_string(),
        label: s.label.as_str().to_owned(),
        slug: s.slug.as_str().to_owned(),
        path: format!("/share/{}", s.slug.as_str()),
        has_password: s.password_hash.is_some(),
        created_at: rfc3339(s.created_at),
    }
}

fn invalid(field: &str, why: &str) -> AppError {
    AppError::BadRequest {
        code: "invalid_field",
        message: format!("{field}: {why}"),
        details: Some(serde_json::json!({ "field": field })),
    }
}

fn parse_domain(text: &str) -> AppResult<Option<Domain>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Domain::parse(text).map(Some).map_err(|why| invalid("domain", why))
}

fn parse_timezone(text: &str) -> AppResult<TimeZoneName> {
    TimeZoneName::parse(text).map_err(|why| invalid("timezone", why))
}

async fn list_projects(State(state): State<AppState>, owner: Owner) -> AppResult<Json<api::ProjectList>> {
    let projects = state.store.projects_of(&owner.user.id).await?;
    Ok(Json(api::ProjectList {
        projects: projects.iter().map(project_view).collect(),
    }))
}

async fn create_project(
    State(state): State<AppState>,
    owner: Owner,
    JsonBody(body): JsonBody<api::NewProject>,
) -> AppResult<Response> {
    // Parsed first: a bad field is refused naming it, and the site is stored in one write.
    let domain = parse_domain(body.domain.as_deref().unwrap_or(""))?;
    let timezone = match body.timezone.as_deref() {
        Some(tz) => parse_timezone(tz)?,
        None => TimeZoneName::utc(),
    };
    let project = ops::create_site(&*state.store, &owner.user, &body.name, domain, timezone).await?;
    Ok((StatusCode::CREATED, Json(project_view(&project))).into_response())
}

async fn show_project(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::Project>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    Ok(Json(project_view(&project)))
}

async fn update_project(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    JsonBody(patch): JsonBody<api::ProjectPatch>,
) -> AppResult<Json<api::Project>> {
    let mut project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    if let Some(name) = &patch.name {
        project.name = Name::parse(name).map_err(|why| invalid("name", why))?;
    }
    if let Some(domain) = &patch.domain {
        project.domain = parse_domain(domain)?;
    }
    if let Some(tz) = &patch.timezone {
        project.timezone = parse_timezone(tz)?;
    }
    if !state.store.update_project(&project).await? {
        return Err(AppError::NotFound("project"));
    }
    Ok(Json(project_view(&project)))
}

/// Deletes the site and all its data; its keys stop working at once on this collector (edges
/// within their key cache TTL).
async fn delete_project(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<StatusCode> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let keys = state.store.keys_of(&project.id).await?;
    if !state.store.delete_project(&project.id).await? {
        return Err(AppError::NotFound("project"));
    }
    for key in &keys {
        state.keys.forget(&key.key_hash);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn project_status(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::ProjectStatus>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let first = state.store.first_event_at(&project.id).await?;
    Ok(Json(api::ProjectStatus {
        first_event_at: first.map(rfc3339),
    }))
}

async fn list_keys(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::KeyList>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let keys = state.store.keys_of(&project.id).await?;
    Ok(Json(api::KeyList {
        keys: keys.iter().map(key_view).collect(),
    }))
}

async fn create_key(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<api::NewLabelled>,
) -> AppResult<Response> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let (key, record) =
        ops::create_key(&*state.store, state.secrets.key_pepper.expose(), &project, &body.label).await?;
    let view = api::CreatedKey {
        record: key_view(&record),
        key: key.expose().to_owned(),
        note: "the key is shown once: put it in the site's <script data-key=...> now".into(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn revoke_key(
    State(state): State<AppState>,
    owner: Owner,
    PathParams((id, key_id)): PathParams<(String, String)>,
) -> AppResult<Json<api::Key>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let record = ops::revoke_key(&*state.store, Some(&project), &key_id).await?;
    state.keys.forget(&record.key_hash);
    Ok(Json(key_view(&record)))
}

async fn list_shares(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::ShareList>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let shares = state.store.share_links_of(&project.id).await?;
    Ok(Json(api::ShareList {
        shares: shares.iter().map(share_view).collect(),
    }))
}

async fn create_share(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<api::NewShareLink>,
) -> AppResult<Response> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let label = Name::parse(&body.label).map_err(|why| invalid("label", why))?;
    if state.store.share_links_of(&project.id).await?.len() >= MAX_SHARE_LINKS {
        return Err(AppError::Conflict(format!(
            "a site has at most {MAX_SHARE_LINKS} share links: delete one first"
        )));
    }
    let password_hash = match body.password.as_deref().filter(|p| !p.is_empty()) {
        Some(password) => {
            auth::check_password(password)?;
            let password = password.to_owned();
            Some(
                tokio::task::spawn_blocking(move || auth::hash_password(&password))
                    .await
                    .map_err(|e| AppError::Internal(e.into()))??,
            )
        }
        None => None,
    };
    let now = crate::now_ms();
    let link = ShareLink {
        id: ShareId::new(now),
        project_id: project.id,
        slug: ShareSlug::random(),
        label,
        password_hash,
        created_at: now,
    };
    state.store.create_share_link(&link).await?;
    Ok((StatusCode::CREATED, Json(share_view(&link))).into_response())
}

async fn delete_share(
    State(state): State<AppState>,
    owner: Owner,
    PathParams((id, share_id)): PathParams<(String, String)>,
) -> AppResult<StatusCode> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let share_id = ShareId::parse(&share_id).ok_or(AppError::NotFound("share link"))?;
    let owned = state
        .store
        .share_links_of(&project.id)
        .await?
        .iter()
        .any(|s| s.id == share_id);
    if !owned || !state.store.delete_share_link(&share_id).await? {
        return Err(AppError::NotFound("share link"));
    }
    Ok(StatusCode::NO_CONTENT)
}
