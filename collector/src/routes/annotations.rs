//! Owners' notes on dates of a site's graph: `GET/POST /api/v1/projects/{id}/annotations` and
//! `DELETE /api/v1/projects/{id}/annotations/{annotation_id}`. A share link's view reads them
//! too (`GET /api/v1/share/{slug}/annotations`, in `share.rs`), never writes them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use contract::api;
use contract::ids::ProjectId;
use store::annotations::parse_annotation_date;
use store::{Annotation, AnnotationId, AnnotationText, MAX_ANNOTATIONS_PER_PROJECT};

use super::{rfc3339, JsonBody, PathParams};
use crate::auth::Owner;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects/{id}/annotations", get(list).post(create))
        .route("/api/v1/projects/{id}/annotations/{annotation_id}", delete(remove))
}

fn view(a: &Annotation) -> api::Annotation {
    api::Annotation {
        id: a.id.to_string(),
        date: a.date.format("%Y-%m-%d").to_string(),
        text: a.text.as_str().to_owned(),
        created_at: rfc3339(a.created_at),
    }
}

/// A project's notes as the API shows them (the owner's list and a share link's).
pub async fn list_of(state: &AppState, project: &ProjectId) -> AppResult<api::AnnotationList> {
    let notes = state.store.annotations_of(project).await?;
    Ok(api::AnnotationList {
        annotations: notes.iter().map(view).collect(),
    })
}

fn invalid(field: &str, why: impl std::fmt::Display) -> AppError {
    AppError::BadRequest {
        code: "invalid_field",
        message: format!("{field}: {why}"),
        details: Some(serde_json::json!({ "field": field })),
    }
}

async fn list(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<Json<api::AnnotationList>> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    Ok(Json(list_of(&state, &project.id).await?))
}

async fn create(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<api::NewAnnotation>,
) -> AppResult<Response> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let date = parse_annotation_date(&body.date).map_err(|e| invalid("date", e))?;
    let text = AnnotationText::parse(&body.text).map_err(|e| invalid("text", e))?;
    // Checked before inserting, so two requests at once can pass it together: the limit is
    // approximate by that much, which is all it needs to be (it bounds what a graph reads).
    if state.store.annotations_of(&project.id).await?.len() >= MAX_ANNOTATIONS_PER_PROJECT {
        return Err(AppError::Conflict(format!(
            "a site has at most {MAX_ANNOTATIONS_PER_PROJECT} annotations: delete one first"
        )));
    }
    let now = crate::now_ms();
    let note = Annotation {
        id: AnnotationId::new(now),
        project: project.id,
        date,
        text,
        created_at: now,
    };
    state.store.create_annotation(&note).await?;
    Ok((StatusCode::CREATED, Json(view(&note))).into_response())
}

async fn remove(
    State(state): State<AppState>,
    owner: Owner,
    PathParams((id, annotation_id)): PathParams<(String, String)>,
) -> AppResult<StatusCode> {
    let project = ops::owned_project(&*state.store, &owner.user, &id).await?;
    let annotation_id = AnnotationId::parse(&annotation_id).ok_or(AppError::NotFound("annotation"))?;
    if !state.store.delete_annotation(&project.id, &annotation_id).await? {
        return Err(AppError::NotFound("annotation"));
    }
    Ok(StatusCode::NO_CONTENT)
}
