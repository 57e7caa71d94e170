//! The owners' dashboard: the web app from `web/`, embedded in the binary by `build.rs`.
//!
//! * Hashed assets (`/assets/app-<hash>.js`, …) never change meaning: cached for a year, immutable.
//! * The entry page is one `index.html` for every page of the app (`/`, `/login`, `/sites/…`,
//!   `/share/…`): the app routes on the client. It is revalidated by its ETag on every load, so a
//!   new binary's app is picked up at once.
//! * Gzip copies were made at build time; they are sent to clients that accept gzip.
//! * A strict Content-Security-Policy: scripts, styles, images and requests from this origin only.
//!   Only the shared view (`/share/…`) may be framed by other sites (owners embed it in an iframe).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::extract::PathParams;
use crate::error::AppError;
use crate::state::AppState;

/// One embedded file of `web/dist`.
pub struct WebAsset {
    /// Path below `web/dist`, `/`-separated: `index.html`, `assets/app-XXXX.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    /// The same bytes, gzip-compressed at build time.
    pub gzip: &'static [u8],
    /// A quoted strong ETag from the content hash.
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
// `TRACKER_ASSETS`: tracker/dist (pixel.js and its wasm), served by `routes::assets`.
include!(concat!(env!("OUT_DIR"), "/tracker_assets.rs"));

/// `Cache-Control` of the content-hashed assets.
pub const HASHED_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the entry page: always revalidated (by ETag), so a new release shows at once.
pub const ENTRY_CACHE_CONTROL: &str = "no-cache";
/// The dashboard's Content-Security-Policy; `FRAME` is replaced per page.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors FRAME";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(entry_page))
        .route("/login", get(entry_page))
        .route("/signup", get(entry_page))
        .route("/account", get(entry_page))
        .route("/sites/{*rest}", get(entry_page))
        .route("/share/{*rest}", get(shared_entry_page))
        .route("/assets/{*file}", get(asset))
}

fn find(path: &str) -> Option<&'static WebAsset> {
    WEB_ASSETS.iter().find(|a| a.path == path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Answers with an embedded file: its type, `cache`, its ETag (304 when it matches), gzip when
/// accepted, and the `extra` headers.
pub(crate) fn serve(
    asset: &'static WebAsset,
    cache: &'static str,
    request: &HeaderMap,
    extra: &[(header::HeaderName, String)],
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(asset.path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name.clone(), value);
        }
    }
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    if accepts_gzip(request) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return (headers, asset.gzip).into_response();
    }
    (headers, asset.bytes).into_response()
}

fn page(request: &HeaderMap, frame_ancestors: &str) -> Result<Response, AppError> {
    let index = find("index.html").ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "web/dist/index.html was not embedded (build the app: scripts/build-web.sh)"
        ))
    })?;
    let mut extra = vec![
        (header::CONTENT_SECURITY_POLICY, CSP.replace("FRAME", frame_ancestors)),
        (header::REFERRER_POLICY, "same-origin".to_owned()),
    ];
    if frame_ancestors == "'none'" {
        // For browsers without CSP level 2.
        extra.push((header::X_FRAME_OPTIONS, "DENY".to_owned()));
    }
    Ok(serve(index, ENTRY_CACHE_CONTROL, request, &extra))
}

/// The entry page with status 404, for a browser navigating to a path the app does not have: the
/// app shows its "Page not found" with the navigation. Never a 304 (a 404 is not revalidated).
pub fn not_found_page(request: &HeaderMap) -> Response {
    let mut unconditional = request.clone();
    unconditional.remove(header::IF_NONE_MATCH);
    let mut response = page(&unconditional, "'none'").into_response();
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

async fn entry_page(request: HeaderMap) -> Result<Response, AppError> {
    page(&request, "'none'")
}

/// The public shared view may be embedded in an iframe on any site.
async fn shared_entry_page(request: HeaderMap) -> Result<Response, AppError> {
    page(&request, "*")
}

async fn asset(PathParams(file): PathParams<String>, request: HeaderMap) -> Result<Response, AppError> {
    let asset = find(&format!("assets/{file}")).ok_or(AppError::NotFound("asset"))?;
    Ok(serve(asset, HASHED_CACHE_CONTROL, &request, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_negotiated() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0, br"));
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn the_entry_page_and_its_assets_are_embedded() {
        let index = find("index.html").expect("web/dist/index.html embedded");
        let html = std::str::from_utf8(index.bytes).expect("utf-8");
        for needle in html.split('"').filter(|s| s.starts_with("/assets/")) {
            assert!(
                find(&needle[1..]).is_some(),
                "{needle} referenced by index.html but not embedded"
            );
        }
        assert!(html.contains("/assets/app-"), "index.html references the app bundle");
    }
}
