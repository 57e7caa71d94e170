//! Answers for requests no handler answers: unknown paths, methods a path does not take, and
//! errors that axum or a server layer produce with an empty or `text/plain` body. Every error a
//! client sees is JSON (`{"error": "...", "code": "..."}`); the one exception is a browser asking
//! for a page the dashboard does not have, which gets the app's "Page not found" with a 404.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{json_error, AppError};

/// Path prefixes of the APIs: an unknown path below them is always a JSON 404, whoever asks.
const API_PREFIXES: [&str; 2] = ["/api/", "/internal/"];
/// Longest path echoed in a 404's message (the rest is cut): the answer names the path without
/// becoming a mirror for arbitrarily long input.
const MAX_ECHOED_PATH_CHARS: usize = 200;
/// Most bytes of a `text/plain` error body (axum's rejections, a few lines) read to make its
/// JSON message.
const MAX_PLAIN_ERROR_BYTES: usize = 4096;

fn is_api_path(path: &str) -> bool {
    API_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix) || path == prefix.trim_end_matches('/'))
}

/// Whether a browser is navigating: its `Accept` names `text/html`.
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/html")))
}

fn echoed(path: &str) -> String {
    match path.char_indices().nth(MAX_ECHOED_PATH_CHARS) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_owned(),
    }
}

/// The router's fallback. A browser navigating (`GET`/`HEAD` accepting `text/html`) to a path
/// outside the APIs gets the dashboard's entry page with status 404, so the app shows its "Page
/// not found" with its navigation; everything else, and anything below `/api/` or `/internal/`,
/// gets a JSON 404 naming the method and path.
pub async fn unknown_route(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let navigating = matches!(method, Method::GET | Method::HEAD) && accepts_html(&headers);
    if navigating && !is_api_path(uri.path()) {
        return super::web::not_found_page(&headers);
    }
    AppError::NoRoute {
        method: method.to_string(),
        path: echoed(uri.path()),
    }
    .into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            let essence = t.split(';').next().unwrap_or("").trim();
            essence == "application/json" || essence.ends_with("+json")
        })
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"))
}

/// A stable `code` for an error status produced outside the handlers.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// Middleware: an error answer that is not JSON (axum's empty 405, a rejection's `text/plain`,
/// a timeout layer's empty 408) is rewritten as a JSON error with the same status and headers
/// (`Allow`, `Retry-After`, CORS). The dashboard's HTML 404 page is left alone.
pub async fn json_error_bodies(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers())
        || is_html(response.headers())
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .replace(',', ", ");
        AppError::MethodNotAllowed {
            method: method.to_string(),
            path: echoed(&path),
            allowed,
        }
        .to_string()
    } else {
        let plain = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/plain"));
        let text = match plain && !status.is_server_error() {
            true => axum::body::to_bytes(body, MAX_PLAIN_ERROR_BYTES)
                .await
                .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
                .unwrap_or_default(),
            false => String::new(),
        };
        if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_ascii_lowercase()
        } else {
            text
        }
    };
    let answer = json_error(status, code_of(status), &message);
    for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_ENCODING] {
        parts.headers.remove(&name);
    }
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::new(answer.into_body()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_recognised() {
        for path in ["/api/v1/nope", "/api", "/api/", "/internal/v1/x", "/internal"] {
            assert!(is_api_path(path), "{path}");
        }
        for path in ["/", "/apiary", "/sites/x", "/internals", "/favicon.ico"] {
            assert!(!is_api_path(path), "{path}");
        }
    }

    #[test]
    fn long_paths_are_cut_when_echoed() {
        assert_eq!(echoed("/short"), "/short");
        let long = format!("/{}", "é".repeat(500));
        let cut = echoed(&long);
        assert_eq!(cut.chars().count(), MAX_ECHOED_PATH_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
