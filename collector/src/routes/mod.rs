//! The HTTP surface: `router(state)` is everything, so tests can `oneshot` it.

mod account;
mod annotations;
mod assets;
mod body_limit;
mod extract;
mod fallback;
mod funnels;
mod goals;
mod ingest;
mod internal;
mod journeys;
mod ops;
mod projects;
mod query;
mod segments;
mod share;
mod throttled;
mod web;

use axum::Router;

pub use extract::{JsonBody, PathParams, QueryParams};
pub use throttled::{guarded_password_check, throttled};

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(ingest::routes())
        .merge(internal::routes())
        // The owners' API answers are JSON (a details list can be 1,000 rows): compressed.
        .merge(
            Router::new()
                .merge(account::routes())
                .merge(projects::routes())
                .merge(query::routes())
                .merge(share::routes())
                .merge(goals::routes())
                .merge(annotations::routes())
                .merge(segments::routes())
                .merge(funnels::routes())
                .merge(journeys::routes())
                .layer(tower_http::compression::CompressionLayer::new()),
        )
        .merge(ops::routes())
        .merge(assets::routes())
        .merge(web::routes())
        .fallback(fallback::unknown_route)
        // One body limit for every endpoint (the event endpoints read theirs by hand, the same).
        .layer(axum::extract::DefaultBodyLimit::max(contract::limits::MAX_BODY_BYTES))
        .with_state(state);
    // `Router::layer` wraps each route on its own, inside the part of the router that adds a 405's
    // `Allow` header: these layers wrap the whole router instead, so they see its final answers.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(body_limit::refuse_oversized_bodies))
        .layer(axum::middleware::from_fn(fallback::json_error_bodies))
        .layer(crate::telemetry::http_trace_layer())
}

/// RFC 3339 text of a time in ms, for API answers.
pub fn rfc3339(ms: crate::Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
