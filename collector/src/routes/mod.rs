//! The HTTP surface: `router(state)` is everything, so tests can `oneshot` it.

mod account;
mod assets;
mod ingest;
mod internal;
mod ops;
mod projects;
mod query;
mod share;
mod web;

use axum::extract::{FromRequest, Request};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ingest::routes())
        .merge(internal::routes())
        // The owners' API answers are JSON (a details list can be 1,000 rows): compressed.
        .merge(
            Router::new()
                .merge(account::routes())
                .merge(projects::routes())
                .merge(query::routes())
                .merge(share::routes())
                .layer(tower_http::compression::CompressionLayer::new()),
        )
        .merge(ops::routes())
        .merge(assets::routes())
        .merge(web::routes())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// A JSON body whose rejections are JSON errors that say what was wrong.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::bad_request("invalid_json", rejection.body_text())),
        }
    }
}

/// RFC 3339 text of a time in ms, for API answers.
pub fn rfc3339(ms: crate::Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
