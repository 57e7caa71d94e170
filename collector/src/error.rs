//! The one error type of HTTP handlers. Client errors carry a message meant for the client;
//! internal errors are logged with their cause chain and answered with a bare 500.

use axum::http::StatusCode;
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
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the collector is shutting down or overloaded; retry later")]
    Unavailable,
    /// 503 naming the limit that was reached.
    #[error("{0}")]
    Overloaded(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
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
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            AppError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::Overloaded(_) => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
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
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("5"));
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
