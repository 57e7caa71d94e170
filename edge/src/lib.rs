//! The edge Worker (see `wrangler.toml` at the repository root and the README).
//!
//! A site's beacon (`POST /api/event`, or the no-JS GIF) is parsed with `contract::wire`, its key
//! checked (peppered SHA-256 looked up at the collector, cached for a bounded TTL), each event
//! enriched with `contract::enriched::enrich` (geo from `request.cf`, browser/OS/device, bots,
//! the cookieless visitor id with the collector's daily salt, referrer source, UTM), and answered
//! `202` once the events are safely in the Queue; the queue consumer forwards them in signed
//! batches to the collector (`forward`). The raw IP only feeds the visitor id.
//!
//! Everything but `wasm` is plain Rust, tested natively with `cargo test -p edge`; `wasm` (built
//! for wasm32 only) does the I/O and dispatches into the rest.

pub mod assets;
pub mod cache;
pub mod config;
pub mod error;
pub mod forward;
pub mod pipeline;
pub mod ratelimit;

#[cfg(target_arch = "wasm32")]
mod wasm;
