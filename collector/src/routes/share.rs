//! Public share links: a read-only view of one site's dashboard for whoever has the link
//! (`/share/<slug>` in the app), optionally behind a password. Signed out; scoped by the server to
//! the link's site, whatever the request body says.
//!
//! A password is asked once: `unlock` sets a cookie scoped to the link's API path holding
//! HMAC(key pepper, slug and the link's password hash). Nothing is stored for it, and it stops
//! working when the link is deleted or recreated with another password.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::api;
use serde_json::Value;
use store::{ShareLink, ShareSlug};

use super::projects::project_view;
use super::{guarded_password_check, JsonBody, PathParams};
use crate::auth;
use crate::client::ClientAddress;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Name of the cookie that remembers an unlocked share link (one per link, by its path).
pub const SHARE_COOKIE: &str = "mtr_share";
/// How long an unlocked share link stays unlocked in a browser: 30 days.
pub const SHARE_UNLOCK_TTL_SECS: u64 = 30 * 24 * 3600;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/share/{slug}", get(show))
        .route("/api/v1/share/{slug}/unlock", post(unlock))
        .route("/api/v1/share/{slug}/query", post(query))
        .route("/api/v1/share/{slug}/annotations", get(annotations))
}

fn not_found() -> AppError {
    AppError::NotFound("share link")
}

async fn link(state: &AppState, slug: &str) -> AppResult<(ShareLink, store::Project)> {
    let slug = ShareSlug::parse(slug).ok_or_else(not_found)?;
    let link = state.store.share_link_by_slug(&slug).await?.ok_or_else(not_found)?;
    let project = state.store.project(&link.project_id).await?.ok_or_else(not_found)?;
    Ok((link, project))
}

/// The cookie value proving this browser gave the link's current password.
fn proof(state: &AppState, link: &ShareLink) -> String {
    let hash = link.password_hash.as_deref().unwrap_or("");
    contract::signing::sign(
        state.secrets.key_pepper.expose().as_bytes(),
        0,
        "SHARE-UNLOCK",
        link.slug.as_str(),
        hash.as_bytes(),
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unlocked(state: &AppState, link: &ShareLink, headers: &HeaderMap) -> bool {
    if link.password_hash.is_none() {
        return true;
    }
    let expected = proof(state, link);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == SHARE_COOKIE && constant_time_eq(value.as_bytes(), expected.as_bytes()))
}

async fn show(
    State(state): State<AppState>,
    PathParams(slug): PathParams<String>,
    headers: HeaderMap,
) -> AppResult<Json<api::SharedSite>> {
    let (link, project) = link(&state, &slug).await?;
    Ok(Json(api::SharedSite {
        project: project_view(&project),
        password_required: link.password_hash.is_some(),
        unlocked: unlocked(&state, &link, &headers),
    }))
}

/// Checks a share link's password; wrong ones are throttled per link and per client like logins.
async fn unlock(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    PathParams(slug): PathParams<String>,
    JsonBody(body): JsonBody<api::ShareUnlock>,
) -> AppResult<Response> {
    let (link, _) = link(&state, &slug).await?;
    if let Some(phc) = link.password_hash.clone() {
        let target = (&state.throttles.unlock_failures_by_link, link.slug.as_str().to_owned());
        let check = async {
            let password = body.password;
            let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            match ok {
                true => Ok(()),
                false => Err(AppError::Unauthorized("wrong password for this share link".into())),
            }
        };
        guarded_password_check(&state, "share_unlock", client, Some(target), check).await?;
    }
    // The shared view may be framed by another site: its requests are then third-party, and
    // only a SameSite=None (hence Secure) cookie is sent with them; Partitioned (CHIPS) keeps it
    // working in browsers that block other third-party cookies, kept per embedding site.
    let same_site = if state.secure_cookies {
        "None; Secure; Partitioned"
    } else {
        "Lax"
    };
    let cookie = format!(
        "{SHARE_COOKIE}={}; HttpOnly; SameSite={same_site}; Path=/api/v1/share/{}; Max-Age={SHARE_UNLOCK_TTL_SECS}",
        proof(&state, &link),
        link.slug.as_str()
    );
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// The notes on the link's site's graph (read-only).
async fn annotations(
    State(state): State<AppState>,
    PathParams(slug): PathParams<String>,
    headers: HeaderMap,
) -> AppResult<Json<api::AnnotationList>> {
    let (link, project) = link(&state, &slug).await?;
    if !unlocked(&state, &link, &headers) {
        return Err(AppError::Unauthorized("this share link needs its password".into()));
    }
    Ok(Json(super::annotations::list_of(&state, &project.id).await?))
}

/// The query API for the link's site only: `project_id` is set to the link's site.
async fn query(
    State(state): State<AppState>,
    PathParams(slug): PathParams<String>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody<Value>,
) -> AppResult<Response> {
    let (link, project) = link(&state, &slug).await?;
    if !unlocked(&state, &link, &headers) {
        return Err(AppError::Unauthorized("this share link needs its password".into()));
    }
    if let Some(fields) = body.as_object_mut() {
        fields.insert("project_id".into(), Value::String(project.id.to_string()));
    }
    super::query::answer(&state, Some(&project), body, &headers).await
}
