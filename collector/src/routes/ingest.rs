//! Direct ingestion from sites: `POST /api/event` and the no-JS `GET /api/event.gif`.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::limits::MAX_BODY_BYTES;
use serde_json::{Map, Value};
use tower_http::cors::{Any, CorsLayer};

use crate::client;
use crate::error::{AppError, AppResult};
use crate::ingest::accept_direct;
use crate::state::AppState;

/// A transparent 1x1 GIF.
pub const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

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

/// `text/plain` (sendBeacon), `application/json`, or no type at all.
fn check_content_type(headers: &HeaderMap) -> AppResult<()> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if matches!(mime.as_str(), "text/plain" | "application/json" | "") {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "content type {mime:?}: send application/json or text/plain"
        )))
    }
}

async fn post_event(State(state): State<AppState>, request: Request) -> AppResult<Response> {
    let (parts, body) = request.into_parts();
    check_content_type(&parts.headers)?;
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
            AppError::bad_request("unreadable_body", format!("the body could not be read: {e}"))
        }
    })
}

/// `GET /api/event.gif?k=mtr_…&n=pageview&u=…&r=…` for pages without JavaScript (an `<img>` or a
/// `<noscript>` pixel). `n` defaults to `pageview` and `u` to the `Referer` header (the page that
/// shows the image). Answers the GIF on success and a JSON error otherwise.
async fn gif_event(State(state): State<AppState>, request: Request) -> AppResult<Response> {
    let (parts, _) = request.into_parts();
    let query = parts.uri.query().unwrap_or("");
    let mut event = Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = match name.as_ref() {
            "w" => value
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::String(value.into_owned())),
            "k" | "n" | "u" | "r" | "id" => Value::String(value.into_owned()),
            _ => continue,
        };
        event.insert(name.into_owned(), value);
    }
    event
        .entry("n")
        .or_insert_with(|| Value::String(contract::wire::PAGEVIEW.into()));
    if !event.contains_key("u") {
        if let Some(page) = parts.headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
            event.insert("u".into(), Value::String(page.to_owned()));
        }
    }
    let body = serde_json::to_vec(&Value::Object(event)).expect("serializable");
    let ctx = client::context(&parts, state.trust_proxy);
    accept_direct(&state, &body, ctx).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")],
        PIXEL_GIF,
    )
        .into_response())
}
