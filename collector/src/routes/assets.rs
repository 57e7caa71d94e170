//! The tracker script: built into the binary (`tracker/dist`, committed, embedded by `build.rs`),
//! or read from `--static-dir` when given (a tracker being worked on, without rebuilding the
//! collector).
//!
//! Site owners embed the stable URL `/pixel.js`, so it is cached briefly (and revalidated by its
//! ETag); it loads its wasm under a content-hashed name (`pixel.<hash>.wasm`), which never changes
//! meaning and is cached for a year as immutable.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::PathParams;
use crate::error::AppError;
use crate::state::AppState;

/// `Cache-Control` of `/pixel.js`: an hour, then revalidate; a stale copy may serve a day meanwhile.
pub const SCRIPT_CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";
/// `Cache-Control` of the content-hashed wasm.
pub const HASHED_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pixel.js", get(script))
        // Any other one-segment path is an unknown route, answered as the router's fallback does
        // (a browser's page gets the app's 404, anything else a JSON 404), for every method.
        .route("/{file}", get(hashed_asset).fallback(super::fallback::unknown_route))
}

/// The file from `--static-dir`, if one is configured.
async fn read(dir: &std::path::Path, name: &str) -> Result<Vec<u8>, AppError> {
    tokio::fs::read(dir.join(name))
        .await
        .map_err(|_| AppError::NotFound("asset"))
}

/// The embedded tracker file, answered with the same headers as from disk.
fn embedded(name: &str, cache: &'static str, request: &HeaderMap) -> Result<Response, AppError> {
    let asset = super::web::TRACKER_ASSETS
        .iter()
        .find(|a| a.path == name)
        .ok_or(AppError::NotFound("asset"))?;
    Ok(super::web::serve(
        asset,
        cache,
        request,
        &[(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned())],
    ))
}

fn etag(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", &contract::encode_hex(&Sha256::digest(bytes))[..16])
}

fn answer(bytes: Vec<u8>, content_type: &'static str, cache: &'static str, request: &HeaderMap) -> Response {
    let tag = etag(&bytes);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_str(&tag).expect("hex etag"));
    // The script is loaded cross-origin by every site that embeds it.
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str()) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, bytes).into_response()
}

async fn script(State(state): State<AppState>, request: HeaderMap) -> Result<Response, AppError> {
    let Some(dir) = &state.static_dir else {
        return embedded("pixel.js", SCRIPT_CACHE_CONTROL, &request);
    };
    let bytes = read(dir, "pixel.js").await?;
    Ok(answer(
        bytes,
        "text/javascript; charset=utf-8",
        SCRIPT_CACHE_CONTROL,
        &request,
    ))
}

/// Only `pixel.<hex>.wasm` names: nothing else in the folder is reachable.
async fn hashed_asset(
    State(state): State<AppState>,
    PathParams(file): PathParams<String>,
    method: Method,
    uri: Uri,
    request: HeaderMap,
) -> Result<Response, AppError> {
    let hashed = file
        .strip_prefix("pixel.")
        .and_then(|rest| rest.strip_suffix(".wasm"))
        .is_some_and(|hash| !hash.is_empty() && hash.len() <= 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    if !hashed {
        return Ok(super::fallback::unknown_route(method, uri, request).await);
    }
    let Some(dir) = &state.static_dir else {
        return embedded(&file, HASHED_CACHE_CONTROL, &request);
    };
    let bytes = read(dir, &file).await?;
    Ok(answer(bytes, "application/wasm", HASHED_CACHE_CONTROL, &request))
}
