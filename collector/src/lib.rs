//! The central collector: stores and sessionizes events, manages owners, projects and keys, and
//! serves the edge's internal API. `main.rs` only parses the command line; everything else is here
//! so that tests can build the [`Application`] on port 0 or `oneshot` the [`router`].

pub mod app;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod error;
pub mod ingest;
pub mod keys;
pub mod metrics;
pub mod ops;
pub mod rollups;
pub mod routes;
pub mod salts;
pub mod secrets;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod throttle;

pub use app::Application;
pub use routes::router;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The wall clock, in ms since the Unix epoch.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
