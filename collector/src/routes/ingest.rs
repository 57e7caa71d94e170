//! Direct ingestion from sites: `POST /api/event` and the no-JS `GET /api/event.gif`.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::limits::MAX_BODY_BYTES;
use contract::wire::{check_content_type, gif_body, PIXEL_GIF};
use tower_http::cors::{Any, CorsLayer};

use crate::client;
use crate::error::{AppError, AppResult};
use crate::ingest::accept_direct;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    // Any site may send events: the key, not the origin, says which project they belong to.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::OPTIONS,
        ])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(86_400));
    Router::new()
        .route("/api/event", post(post_event))
        .route("/api/event.gif", get(gif_event))
        // The body is read by hand below, so that an oversize body gets our JSON 413.
        .layer(DefaultBodyLimit::disable())
        .layer(cors)
}

/// The shared content-type rule ([`check_content_type`]) as a 415.
fn content_type(headers: &HeaderMap) -> AppResult<()> {
    let value = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?"));
    check_content_type(value).map_err(AppError::UnsupportedMediaType)
}

async fn post_event(State(state): State<AppState>, request: Request) -> AppResult<Response> {
    let (parts, body) = request.into_parts();
    content_type(&parts.headers)?;
    let bytes = read_limited(body).await?;
    let ctx = client::context(&parts, state.trust_proxy);
    let accepted = accept_direct(&state, &bytes, ctx).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// Reads at most [`MAX_BODY_BYTES`]; more is a 413 with a JSON error.
pub async fn read_limited(body: Body) -> AppResult<axum::body::Bytes> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|e| {
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            AppError::PayloadTooLarge(format!("the body is larger than {MAX_BODY_BYTES} bytes"))
        } else {
            AppError::body_too_slow(&e)
                .unwrap_or_else(|| AppError::bad_request("unreadable_body", format!("the body could not be read: {e}")))
        }
    })
}

/// `GET /api/event.gif?k=mtr_…&n=pageview&u=…&r=…` for pages without JavaScript (an `<img>` or a
/// `<noscript>` pixel). `n` defaults to `pageview` and `u` to the `Referer` header (the page that
/// shows the image). Answers the GIF on success and a JSON error otherwise.
async fn gif_event(State(state): State<AppState>, request: Request) -> AppResult<Response> {
    let (parts, _) = request.into_parts();
    let referer = parts.headers.get(header::REFERER).and_then(|v| v.to_str().ok());
    let body = gif_body(parts.uri.query().unwrap_or(""), referer);
    let ctx = client::context(&parts, state.trust_proxy);
    accept_direct(&state, &body, ctx).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")],
        PIXEL_GIF,
    )
        .into_response())
}
