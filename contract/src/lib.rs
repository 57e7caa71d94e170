//! The event contract shared by the tracker, the edge and the collector.
//!
//! Everything that crosses a process boundary is defined here and nowhere else:
//!
//! * [`wire`]: what the tracker (or any site) sends to `POST /api/event`, and its parsing into
//!   valid [`wire::Event`]s under the [`limits`].
//! * [`enriched`]: the enriched event the edge forwards to the collector's internal API, and the
//!   one function both ingestion paths use to build it ([`enriched::enrich`]).
//! * [`enrich`]: user agent, bot, referrer source, UTM and cookieless visitor id.
//! * [`keys`]: ingestion API keys, their peppered SHA-256 hash and preview.
//! * [`signing`]: HMAC-SHA256 signatures of internal (edge -> collector) requests.
//! * [`ids`]: identifiers that appear on the wire.
//! * [`internal`]: the JSON shapes of the collector's internal API (edge -> collector).
//! * [`api`]: the JSON shapes of the owners' HTTP API (accounts, sites, keys, tokens, share links),
//!   from which the dashboard's TypeScript types are generated.
//!
//! The crate does no I/O and takes randomness and the clock as arguments, so the same code runs
//! natively in the collector and as wasm32 in the Worker.

pub mod api;
pub mod enrich;
pub mod enriched;
mod hex;
pub mod ids;
pub mod internal;
pub mod keys;
pub mod limits;
pub mod signing;
pub mod wire;

pub use hex::{decode_hex, encode_hex};
