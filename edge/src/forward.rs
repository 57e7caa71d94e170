//! Forwarding enriched events to the collector: batching, signing, retry policy.
//!
//! With a queue (`EVENTS_QUEUE`), each event is one message; the consumer gets up to
//! [`MAX_EVENTS_PER_FORWARD`] of them and posts them in one signed `POST /internal/v1/ingest`.
//! On a 2xx every message is acked (events the collector refused are refused for good and only
//! logged); on a 5xx, a 429, a network error or an auth/config error each message is retried
//! after [`backoff_secs`]; after [`MAX_ATTEMPTS`] the queue moves it to the dead-letter queue.
//! Without a queue the same batches are posted from `ctx.waitUntil`, with the same number of
//! attempts and [`DIRECT_BACKOFF_MS`] between them. The collector dedupes by event id, so this
//! at-least-once delivery stores every event exactly once.

use contract::enriched::EnrichedEvent;
use contract::limits::MAX_FORWARD_BATCH_EVENTS;
use contract::signing::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Most events per `POST /internal/v1/ingest` (and per queue consumer batch).
pub const MAX_EVENTS_PER_FORWARD: usize = 100;
const _: () = assert!(MAX_EVENTS_PER_FORWARD <= MAX_FORWARD_BATCH_EVENTS);
/// Deliveries of a batch before it goes to the dead-letter queue (1 try + 4 retries); the
/// queue consumer's `max_retries` in `wrangler.toml` is this minus one.
pub const MAX_ATTEMPTS: u32 = 5;
/// Longest delay between two attempts from the queue.
pub const MAX_RETRY_DELAY_SECS: u32 = 15 * 60;
/// Delays between the attempts of a direct (no queue) forward, within `waitUntil`'s 30 s.
pub const DIRECT_BACKOFF_MS: [u64; 4] = [500, 1_000, 2_000, 4_000];
/// Queues limit: 128 KB per message; an event over this is forwarded directly.
pub const MAX_QUEUE_MESSAGE_BYTES: usize = 120_000;
/// Queues limit: 256 KB and 100 messages per `sendBatch`.
pub const MAX_QUEUE_BATCH_BYTES: usize = 240_000;
pub const MAX_QUEUE_BATCH_MESSAGES: usize = 100;

/// The delay before attempt `attempts + 1`, after `attempts` (≥ 1) failed ones:
/// `base`, `2 base`, `4 base`, … up to [`MAX_RETRY_DELAY_SECS`].
pub fn backoff_secs(attempts: u32, base_secs: u32) -> u32 {
    let exponent = attempts.saturating_sub(1).min(16);
    base_secs.saturating_mul(1 << exponent).min(MAX_RETRY_DELAY_SECS)
}

/// What to do with a batch after the collector answered `status` (`None`: no answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Stored (or refused for good, event by event): ack.
    Delivered,
    /// The whole batch is invalid (400, 413, 422): retrying cannot help; ack and log.
    Refused,
    /// Try again later.
    Retry,
}

pub fn classify(status: Option<u16>) -> Delivery {
    match status {
        Some(200..=299) => Delivery::Delivered,
        Some(400 | 413 | 422) => Delivery::Refused,
        _ => Delivery::Retry,
    }
}

/// The two signature headers of an internal request.
pub fn signature_headers(
    secret: &str,
    now_secs: i64,
    method: &str,
    path: &str,
    body: &[u8],
) -> [(&'static str, String); 2] {
    [
        (TIMESTAMP_HEADER, now_secs.to_string()),
        (SIGNATURE_HEADER, sign(secret.as_bytes(), now_secs, method, path, body)),
    ]
}

/// The body of a `POST /internal/v1/ingest` of `events`.
pub fn ingest_body(events: &[EnrichedEvent]) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Batch<'a> {
        events: &'a [EnrichedEvent],
    }
    serde_json::to_vec(&Batch { events }).expect("events serialize")
}

/// Splits messages of the given sizes into `sendBatch` calls within the Queues limits; returns
/// index ranges. Messages over [`MAX_QUEUE_MESSAGE_BYTES`] are left out (see [`oversized`]).
pub fn queue_batches(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if size > MAX_QUEUE_MESSAGE_BYTES {
            continue;
        }
        if !current.is_empty() && (current.len() == MAX_QUEUE_BATCH_MESSAGES || bytes + size > MAX_QUEUE_BATCH_BYTES) {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Indices of messages too large for a queue.
pub fn oversized(sizes: &[usize]) -> Vec<usize> {
    sizes
        .iter()
        .enumerate()
        .filter(|(_, &s)| s > MAX_QUEUE_MESSAGE_BYTES)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let delays: Vec<u32> = (1..MAX_ATTEMPTS).map(|a| backoff_secs(a, 10)).collect();
        assert_eq!(delays, [10, 20, 40, 80]);
        assert_eq!(backoff_secs(0, 1), 1);
        assert_eq!(backoff_secs(40, 10), MAX_RETRY_DELAY_SECS);
    }

    #[test]
    fn only_server_and_network_errors_are_retried() {
        assert_eq!(classify(Some(200)), Delivery::Delivered);
        assert_eq!(classify(Some(400)), Delivery::Refused);
        assert_eq!(classify(Some(413)), Delivery::Refused);
        for retried in [None, Some(401), Some(404), Some(429), Some(500), Some(503)] {
            assert_eq!(classify(retried), Delivery::Retry, "{retried:?}");
        }
    }

    #[test]
    fn signature_headers_verify() {
        let secret = "0123456789abcdef0123456789abcdef";
        let [(ts_name, ts), (sig_name, sig)] = signature_headers(secret, 1_000, "POST", "/internal/v1/ingest", b"{}");
        assert_eq!((ts_name, sig_name), (TIMESTAMP_HEADER, SIGNATURE_HEADER));
        let ok = contract::signing::verify(
            secret.as_bytes(),
            1_001,
            Some(&ts),
            Some(&sig),
            "POST",
            "/internal/v1/ingest",
            b"{}",
        );
        assert_eq!(ok, Ok(()));
    }

    #[test]
    fn queue_batches_respect_count_and_size() {
        let sizes = vec![1_000; 250];
        let batches = queue_batches(&sizes);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100, 50]);
        let sizes = [100_000, 100_000, 100_000, 200_000, 10];
        assert_eq!(queue_batches(&sizes), [vec![0, 1], vec![2, 4]]);
        assert_eq!(oversized(&sizes), [3]);
        assert!(queue_batches(&[]).is_empty());
    }
}
