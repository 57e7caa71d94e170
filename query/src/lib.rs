//! The dashboard query API's pure parts, modelled on Plausible's Stats API v2: the request parsed
//! and validated into a [`Query`] ([`request`]), date ranges and comparison ranges resolved in an
//! IANA time zone ([`range`]), local time buckets and the weekday x hour heatmap ([`time`]), and
//! the answer with its JSON and CSV renderings ([`response`]). No I/O and no clock: the caller
//! passes `now`, and the engine asks the stores. `docs/query-api.md` documents the HTTP API.

pub mod csv;
pub mod dataset;
pub mod engine;
pub mod funnel;
pub mod goals;
pub mod journeys;
pub mod range;
pub mod request;
pub mod response;
pub mod time;

pub use range::{Compare, Range};
pub use request::{check_filters, parse_query, Dimension, Direction, Metric, OrderKey, Query, QueryError, TimeUnit};
pub use response::{percent_change, round2, ComparisonValues, Meta, QueryResult, Row, Totals, Value};
pub use time::{buckets, heatmap_hours, Bucket};

#[cfg(test)]
mod tests;
