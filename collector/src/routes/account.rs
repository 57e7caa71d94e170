//! Owner accounts: sign-up, login, logout, bearer tokens.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use store::{TokenKind, User};

use super::{rfc3339, JsonBody};
use crate::auth::{self, Owner};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", post(sign_up))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", post(create_token))
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

pub fn user_view(user: &User) -> serde_json::Value {
    json!({ "id": user.id.to_string(), "email": user.email.as_str(), "created_at": rfc3339(user.created_at) })
}

async fn sign_up(State(state): State<AppState>, JsonBody(c): JsonBody<Credentials>) -> AppResult<Response> {
    if !state.allow_signup {
        return Err(AppError::Forbidden(
            "sign-up is disabled on this collector; ask its operator for an account".into(),
        ));
    }
    let user = ops::create_user(&*state.store, &c.email, &c.password).await?;
    Ok((StatusCode::CREATED, Json(user_view(&user))).into_response())
}

async fn login(State(state): State<AppState>, JsonBody(c): JsonBody<Credentials>) -> AppResult<Response> {
    let user = ops::authenticate(&*state.store, &c.email, &c.password).await?;
    let (token, record) = auth::new_token(&user, TokenKind::Login, "browser", crate::now_ms());
    state.store.create_auth_token(&record).await?;
    let cookie = auth::session_cookie(&token, state.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(user_view(&user))).into_response())
}

async fn logout(State(state): State<AppState>, owner: Owner) -> AppResult<Response> {
    state.store.delete_auth_token(&owner.token_hash).await?;
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie(state.secure_cookies))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

async fn me(owner: Owner) -> Json<serde_json::Value> {
    Json(user_view(&owner.user))
}

#[derive(Deserialize)]
struct NewToken {
    label: String,
}

async fn create_token(
    State(state): State<AppState>,
    owner: Owner,
    JsonBody(body): JsonBody<NewToken>,
) -> AppResult<Response> {
    let label = store::Name::parse(&body.label)
        .map_err(|why| AppError::bad_request("invalid_field", format!("label: {why}")))?;
    let (token, record) = auth::new_token(&owner.user, TokenKind::Api, label.as_str(), crate::now_ms());
    state.store.create_auth_token(&record).await?;
    let body = json!({ "token": token, "label": label.as_str(), "created_at": rfc3339(record.created_at),
        "note": "shown once: store it now; send it as Authorization: Bearer <token>" });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
