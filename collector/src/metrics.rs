//! Prometheus metrics, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabel {
    /// `direct` (the site posted to the collector) or `edge` (forwarded by the Worker).
    pub path: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ThrottleLabel {
    /// `login`, `password_change`, `share_unlock` or `signup`.
    pub what: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// Valid events accepted, by ingestion path.
    pub events_accepted: Family<PathLabel, Counter>,
    /// Events refused as invalid, by ingestion path.
    pub events_rejected: Family<PathLabel, Counter>,
    /// Valid events dropped because a bot sent them.
    pub events_bots: Counter,
    /// Events stored for the first time.
    pub events_stored: Counter,
    /// Events received again (retries) and not stored twice.
    pub events_duplicate: Counter,
    /// Seconds per store write (one write carries the events of many requests).
    pub store_write_seconds: Histogram,
    /// Failed store writes.
    pub store_write_errors: Counter,
    /// Requests refused with 429 by [`crate::throttle`]: password guessing or sign-up floods.
    pub throttled: Family<ThrottleLabel, Counter>,
    /// Requests refused with 503 because the ingest log was full
    /// ([`crate::ingest::MAX_LOGGED_EVENTS`], [`crate::ingest::MAX_LOGGED_BYTES`]): the store is
    /// down or slower than the traffic.
    pub ingest_log_full: Counter,
    /// Events acknowledged and not yet stored (in the ingest log).
    pub ingest_log_events: Gauge,
    /// Bytes of those events.
    pub ingest_log_bytes: Gauge,
    /// Seconds per group commit of the ingest log, its fsync included (one commit carries the
    /// events of every request waiting at that moment).
    pub ingest_log_commit_seconds: Histogram,
    /// Failed commits of the ingest log (their requests were answered 503). Anything but zero
    /// needs an operator's attention: the data directory's disk is failing or full.
    pub ingest_log_errors: Counter,
    /// Events read back from the ingest log at start-up and written again.
    pub events_replayed: Counter,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("collector");
        let m = Self {
            events_accepted: Family::default(),
            events_rejected: Family::default(),
            events_bots: Counter::default(),
            events_stored: Counter::default(),
            events_duplicate: Counter::default(),
            store_write_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            store_write_errors: Counter::default(),
            throttled: Family::default(),
            ingest_log_full: Counter::default(),
            ingest_log_events: Gauge::default(),
            ingest_log_bytes: Gauge::default(),
            ingest_log_commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 14)),
            ingest_log_errors: Counter::default(),
            events_replayed: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("events_accepted", "Valid events accepted", m.events_accepted.clone());
        registry.register(
            "events_rejected",
            "Events refused as invalid",
            m.events_rejected.clone(),
        );
        registry.register("events_bots", "Events dropped as sent by bots", m.events_bots.clone());
        registry.register(
            "events_stored",
            "Events stored for the first time",
            m.events_stored.clone(),
        );
        registry.register(
            "events_duplicate",
            "Events received again and not stored twice",
            m.events_duplicate.clone(),
        );
        registry.register(
            "store_write_seconds",
            "Duration of store writes",
            m.store_write_seconds.clone(),
        );
        registry.register(
            "store_write_errors",
            "Failed store writes",
            m.store_write_errors.clone(),
        );
        registry.register(
            "ingest_log_full",
            "Requests refused because the ingest log was full",
            m.ingest_log_full.clone(),
        );
        registry.register(
            "ingest_log_events",
            "Events acknowledged and not yet stored",
            m.ingest_log_events.clone(),
        );
        registry.register(
            "ingest_log_bytes",
            "Bytes of events acknowledged and not yet stored",
            m.ingest_log_bytes.clone(),
        );
        registry.register(
            "ingest_log_commit_seconds",
            "Duration of ingest log group commits, fsync included",
            m.ingest_log_commit_seconds.clone(),
        );
        registry.register(
            "ingest_log_errors",
            "Failed ingest log commits",
            m.ingest_log_errors.clone(),
        );
        registry.register(
            "events_replayed",
            "Events read back from the ingest log at start-up",
            m.events_replayed.clone(),
        );
        registry.register(
            "throttled",
            "Requests refused because of too many password guesses or sign-ups",
            m.throttled.clone(),
        );
        Self { registry, ..m }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
