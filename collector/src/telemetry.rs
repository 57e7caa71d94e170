//! Structured logs: JSON lines when `COLLECTOR_LOG_FORMAT=json` (production), readable text
//! otherwise. Verbosity from `RUST_LOG` (default `info`).
//!
//! Secrets are never logged, at any level. Requests carry them in places a generic HTTP trace
//! prints: ingestion keys in the GIF's query string (`?k=mtr_…`), login cookies, bearer tokens
//! and the share-link cookie in headers, a share link's slug (the link's whole credential when it
//! has no password) in the path. So the request trace records the method and the path without its
//! query string and with slugs masked, and never headers; bodies (passwords) are never logged.

use std::io::IsTerminal;

use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, TraceLayer};
use tracing::Span;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    // Colours only on a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = if std::env::var("COLLECTOR_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // Already initialised (tests build several applications): keep the first.
    let _ = result;
}

/// Path segments whose next segment is a credential, masked in logs: `/share/<slug>` (the app's
/// shared view) and `/api/v1/share/<slug>/…`.
const SEGMENTS_BEFORE_A_SECRET: [&str; 1] = ["share"];
/// What a masked segment is logged as.
const MASK: &str = "***";

/// `path` as it may be logged: the segment after each of [`SEGMENTS_BEFORE_A_SECRET`] masked.
pub fn loggable_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut mask_next = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if mask_next && !segment.is_empty() {
            out.push_str(MASK);
        } else {
            out.push_str(segment);
        }
        mask_next = SEGMENTS_BEFORE_A_SECRET.contains(&segment);
    }
    out
}

/// The span of one request: its method and [`loggable_path`] (never the query string, never
/// headers), at DEBUG like tower-http's default.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            path = %loggable_path(request.uri().path()),
            version = ?request.version(),
        )
    }
}

/// The HTTP server's request trace: tower-http's, with [`RequestSpan`]. Its request and response
/// events log no headers (tower-http's default, kept on purpose).
pub fn http_trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan> {
    TraceLayer::new_for_http().make_span_with(RequestSpan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_slugs_are_masked_and_other_paths_kept() {
        assert_eq!(loggable_path("/api/v1/share/AbC123/query"), "/api/v1/share/***/query");
        assert_eq!(loggable_path("/share/AbC123"), "/share/***");
        assert_eq!(loggable_path("/share/"), "/share/");
        assert_eq!(loggable_path("/api/event.gif"), "/api/event.gif");
        assert_eq!(
            loggable_path("/api/v1/projects/p1/shares/s1"),
            "/api/v1/projects/p1/shares/s1"
        );
        assert_eq!(loggable_path("/"), "/");
    }
}
