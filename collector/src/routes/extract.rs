//! axum's extractors with JSON rejections: a malformed body, path parameter or query string is
//! answered `{"error": "...", "code": "..."}` with the right status, like every other error,
//! instead of axum's `text/plain` rejections.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON body. Malformed JSON or a wrong shape is a 400 `invalid_json`, a body over the limit a
/// 413, a body not labelled `application/json` a 415.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    if let Some(late) = AppError::body_too_slow(&rejection) {
        return late;
    }
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(format!(
            "the body is larger than {} bytes",
            contract::limits::MAX_BODY_BYTES
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            AppError::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into())
        }
        _ => AppError::bad_request("invalid_json", rejection.body_text()),
    }
}

/// Path parameters (`/api/v1/projects/{id}`). A parameter that is not valid percent-encoded UTF-8
/// (`%FF`) is a 400 `invalid_path`; whether the id names anything is the handler's business.
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status().is_server_error() => Err(AppError::Internal(anyhow::anyhow!(
                "path parameters: {}",
                rejection.body_text()
            ))),
            Err(rejection) => Err(AppError::bad_request("invalid_path", rejection.body_text())),
        }
    }
}

/// Query-string parameters (`?site_id=…&date=…`). A malformed query string is a 400
/// `invalid_query_string` that names the parameter.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::bad_request("invalid_query_string", rejection.body_text())),
        }
    }
}
