//! Owner accounts: sign-up, login, logout, password, bearer tokens.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use contract::api;
use store::{AuthToken, TokenKind, User};

use super::{guarded_password_check, rfc3339, throttled, JsonBody, PathParams};
use crate::auth::{self, Owner};
use crate::client::ClientAddress;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::state::AppState;

/// Hex characters of a token's hash that name it in the API (64 bits: unique per owner in
/// practice, and not enough of the hash to help anyone guess the token).
pub const TOKEN_ID_CHARS: usize = 16;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instance", get(instance))
        .route("/api/v1/session", get(session))
        .route("/api/v1/users", post(sign_up))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

pub fn user_view(user: &User) -> api::User {
    api::User {
        id: user.id.to_string(),
        email: user.email.as_str().to_owned(),
        created_at: rfc3339(user.created_at),
    }
}

fn token_view(t: &AuthToken) -> api::ApiToken {
    api::ApiToken {
        id: t.token_hash[..TOKEN_ID_CHARS.min(t.token_hash.len())].to_owned(),
        label: t.label.clone(),
        created_at: rfc3339(t.created_at),
    }
}

async fn instance(State(state): State<AppState>) -> Json<api::Instance> {
    Json(api::Instance {
        allow_signup: state.allow_signup,
    })
}

async fn session(State(state): State<AppState>, owner: Option<Owner>) -> Json<api::Session> {
    Json(api::Session {
        user: owner.map(|o| user_view(&o.user)),
        allow_signup: state.allow_signup,
    })
}

/// The least time a sign-up that got as far as hashing the password takes to answer. Both a new
/// and a taken email hash it (tens of ms), but only a new one is then stored, a disk sync that
/// made a new email's answer measurably slower (82 against 34 ms, medians, on the test machine);
/// answering both no sooner than this hides that, at a cost only to a rare operation.
pub const SIGN_UP_MIN_ANSWER_TIME: std::time::Duration = std::time::Duration::from_millis(500);

/// Creates an account, answering the same (202) whether the email was free or taken, in the same
/// time ([`SIGN_UP_MIN_ANSWER_TIME`]), so sign-up tells nobody which emails have accounts.
async fn sign_up(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(c): JsonBody<api::Credentials>,
) -> AppResult<Response> {
    if !state.allow_signup {
        return Err(AppError::Forbidden(
            "sign-up is disabled on this collector; ask its operator for an account".into(),
        ));
    }
    state
        .throttles
        .signups_by_client
        .acquire(&client, std::time::Instant::now())
        .map_err(|wait| throttled(&state, "signup", "too many sign-ups from this address", wait))?;
    let started = tokio::time::Instant::now();
    match ops::create_user(&*state.store, &c.email, &c.password).await {
        Ok(_) | Err(AppError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    tokio::time::sleep_until(started + SIGN_UP_MIN_ANSWER_TIME).await;
    let answer = api::SignUpAccepted {
        email: store::Email::parse(&c.email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or(c.email),
        note: "sign in with this email and password; if the email already had an account, that \
               account's own password is the one that signs in"
            .into(),
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// Signs in. Wrong passwords are throttled per account and per client ([`crate::throttle`]).
async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(c): JsonBody<api::Credentials>,
) -> AppResult<Response> {
    // Counted by email whether or not an account has it, so the limit tells nothing either.
    let account = store::Email::parse(&c.email)
        .ok()
        .map(|email| (&state.throttles.login_failures_by_account, email.as_str().to_owned()));
    let user = guarded_password_check(
        &state,
        "login",
        client,
        account,
        ops::authenticate(&*state.store, &c.email, &c.password),
    )
    .await?;
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

async fn me(owner: Owner) -> Json<api::User> {
    Json(user_view(&owner.user))
}

/// Changes the password after checking the current one, then signs out every other browser
/// session of the owner (the one making the change stays signed in; API tokens are kept).
async fn change_password(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    owner: Owner,
    JsonBody(body): JsonBody<api::PasswordChange>,
) -> AppResult<StatusCode> {
    // A stolen session must not become a way to guess the password: the same limits as login.
    let account = (
        &state.throttles.login_failures_by_account,
        owner.user.email.as_str().to_owned(),
    );
    let check = async {
        ops::authenticate(&*state.store, owner.user.email.as_str(), &body.current_password)
            .await
            .map_err(|e| match e {
                AppError::Unauthorized(_) => {
                    AppError::bad_request("wrong_password", "current_password: this is not your current password")
                }
                other => other,
            })
    };
    guarded_password_check(&state, "password_change", client, Some(account), check).await?;
    auth::check_password(&body.new_password).map_err(|e| match e {
        AppError::BadRequest { code, message, .. } => AppError::bad_request(code, format!("new_{message}")),
        other => other,
    })?;
    let password = body.new_password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    if !state.store.update_password(&owner.user.id, &hash).await? {
        return Err(AppError::NotFound("user"));
    }
    state
        .store
        .delete_auth_tokens_of(&owner.user.id, TokenKind::Login, Some(&owner.token_hash))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_tokens(State(state): State<AppState>, owner: Owner) -> AppResult<Json<api::TokenList>> {
    let tokens = state.store.auth_tokens_of(&owner.user.id).await?;
    Ok(Json(api::TokenList {
        tokens: tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Api)
            .map(token_view)
            .collect(),
    }))
}

async fn create_token(
    State(state): State<AppState>,
    owner: Owner,
    JsonBody(body): JsonBody<api::NewLabelled>,
) -> AppResult<Response> {
    let label = store::Name::parse(&body.label)
        .map_err(|why| AppError::bad_request("invalid_field", format!("label: {why}")))?;
    let (token, record) = auth::new_token(&owner.user, TokenKind::Api, label.as_str(), crate::now_ms());
    state.store.create_auth_token(&record).await?;
    let body = api::CreatedToken {
        record: token_view(&record),
        token,
        note: "shown once: store it now; send it as Authorization: Bearer <token>".into(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    owner: Owner,
    PathParams(id): PathParams<String>,
) -> AppResult<StatusCode> {
    let well_formed = id.len() == TOKEN_ID_CHARS && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(AppError::NotFound("token"));
    }
    let tokens = state.store.auth_tokens_of(&owner.user.id).await?;
    let token = tokens
        .iter()
        .find(|t| t.kind == TokenKind::Api && t.token_hash.starts_with(&id.to_ascii_lowercase()))
        .ok_or(AppError::NotFound("token"))?;
    state.store.delete_auth_token(&token.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}
