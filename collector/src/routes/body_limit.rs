//! A request whose `Content-Length` says its body is over the limit is refused (413) before any
//! of the body is read: the client learns at once, and the server neither waits for nor buffers a
//! body it would refuse. Bodies without a length (chunked) are counted as they are read
//! ([`super::ingest::read_limited`], axum's `DefaultBodyLimit`).

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use contract::limits::MAX_BODY_BYTES;

use crate::error::AppError;

/// Middleware: 413 for a declared body over [`MAX_BODY_BYTES`]; an unreadable length is a 400.
pub async fn refuse_oversized_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()));
    match declared {
        Some(Some(length)) if length > MAX_BODY_BYTES as u64 => AppError::PayloadTooLarge(format!(
            "the body is {length} bytes (Content-Length); at most {MAX_BODY_BYTES} are allowed"
        ))
        .into_response(),
        Some(None) => {
            AppError::bad_request("invalid_content_length", "Content-Length is not a number of bytes").into_response()
        }
        _ => next.run(request).await,
    }
}
