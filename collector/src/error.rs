//! The one error type of HTTP handlers. Client errors carry a message meant for the client;
//! internal errors are logged with their cause chain and answered with a bare 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed; `code` is stable for programs, `message` is for people.
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 404 for a path no endpoint serves.
    #[error("no endpoint {method} {path}; the HTTP API is listed in the README")]
    NoRoute { method: String, path: String },
    /// 405: the path exists, the method does not; `allowed` is the `Allow` header's list.
    #[error("{method} is not allowed on {path}; allowed: {allowed}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// 408: the body did not arrive in time ([`crate::serve::BODY_READ_TIMEOUT`]).
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many attempts; answered with `Retry-After: retry_after_secs`.
    #[error("{message}; retry in {retry_after_secs} s")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    #[error("the collector is shutting down or overloaded; retry later")]
    Unavailable,
    /// 503: a dashboard query ran past its time budget and was cancelled.
    #[error("the query ran longer than {} s and was cancelled; narrow the date range or the filters", .0.as_secs())]
    QueryTimeout(std::time::Duration),
    /// 503 naming the limit that was reached.
    #[error("{0}")]
    Overloaded(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// 408 when reading the body failed because its deadline passed ([`crate::serve`]).
    pub fn body_too_slow(error: &(dyn std::error::Error + 'static)) -> Option<Self> {
        crate::serve::body_deadline_in(error).map(|late| AppError::RequestTimeout(late.to_string()))
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            details: None,
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) | AppError::NoRoute { .. } => (StatusCode::NOT_FOUND, "not_found"),
            AppError::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            AppError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::QueryTimeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "query_timeout"),
            AppError::Overloaded(_) => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
            store::StoreError::TimedOut(budget) => AppError::QueryTimeout(budget),
            other => AppError::Internal(anyhow::Error::new(other).context("store")),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let retry_after = match &self {
            AppError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            AppError::Unavailable | AppError::Overloaded(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        let mut body = json!({ "error": message, "code": code });
        if let AppError::BadRequest {
            details: Some(details), ..
        } = self
        {
            if let (Some(body), Value::Object(details)) = (body.as_object_mut(), details) {
                body.extend(details);
            }
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `Retry-After` of a 503: the writer's queue or the store needs a moment.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// A JSON error answer `{"error": message, "code": code}` with any status, for errors that do not
/// come from a handler (the router's own 405, timeouts of the server's layers).
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": message, "code": code }))).into_response()
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A store read cancelled at its budget reaches the client as a 503 that says what to do,
    /// never as an internal error.
    #[tokio::test]
    async fn a_timed_out_query_is_a_503_that_says_so() {
        let budget = std::time::Duration::from_secs(30);
        let response = AppError::from(store::StoreError::TimedOut(budget)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "query_timeout");
        assert_eq!(
            body["error"],
            "the query ran longer than 30 s and was cancelled; narrow the date range or the filters"
        );
    }
}
