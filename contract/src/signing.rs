//! Signatures of internal requests from the edge to the collector.
//!
//! The edge signs `"{timestamp}\n{METHOD}\n{path}\n{body}"` with HMAC-SHA256 under a secret it
//! shares with the collector, and sends the unix timestamp (seconds) and the hex signature in two
//! headers. The collector recomputes it, compares in constant time, and refuses timestamps outside
//! [`REPLAY_WINDOW_SECS`]. Method and path are signed so a captured request cannot be replayed
//! against another endpoint; within the window, a replayed ingest is harmless because events are
//! deduplicated by id.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the unix time (seconds) at which the request was signed.
pub const TIMESTAMP_HEADER: &str = "x-metrics-timestamp";
/// Header carrying the hex HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-metrics-signature";
/// How far the signing time may be from the verifier's clock, either way, in seconds.
pub const REPLAY_WINDOW_SECS: i64 = 300;
/// Shortest shared secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("the {TIMESTAMP_HEADER} header is not a unix time in seconds")]
    BadTimestamp,
    #[error("the request was signed {0} s away from the collector's clock; the window is {REPLAY_WINDOW_SECS} s")]
    Expired(i64),
    #[error("the signature does not match")]
    Mismatch,
}

/// hex(HMAC-SHA256(secret, "{timestamp}\n{method}\n{path}\n{body}")).
pub fn sign(secret: &[u8], timestamp: i64, method: &str, path: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(method.as_bytes());
    mac.update(b"\n");
    mac.update(path.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    crate::encode_hex(&mac.finalize().into_bytes())
}

/// Checks the two header values (as received, possibly absent) against the request.
pub fn verify(
    secret: &[u8],
    now_secs: i64,
    timestamp: Option<&str>,
    signature: Option<&str>,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    // `ts` is whatever the caller sent: saturate rather than overflow.
    let skew = now_secs.saturating_sub(ts);
    if skew.unsigned_abs() > REPLAY_WINDOW_SECS.unsigned_abs() {
        return Err(SignatureError::Expired(skew));
    }
    let expected = sign(secret, ts, method, path, body);
    if crate::keys::constant_time_eq(expected.as_bytes(), signature.trim().as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts_its_own_signature() {
        let sig = sign(SECRET, 1_000, "POST", "/internal/v1/ingest", b"{}");
        assert_eq!(
            verify(
                SECRET,
                1_010,
                Some("1000"),
                Some(&sig),
                "POST",
                "/internal/v1/ingest",
                b"{}"
            ),
            Ok(())
        );
    }

    #[test]
    fn rejects_tampering_replay_and_absence() {
        let sig = sign(SECRET, 1_000, "POST", "/internal/v1/ingest", b"{}");
        let v = |now, ts: Option<&str>, sig: Option<&str>, path, body: &[u8]| {
            verify(SECRET, now, ts, sig, "POST", path, body)
        };
        assert_eq!(
            v(1_000, Some("1000"), Some(&sig), "/internal/v1/ingest", b"{ }"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v(1_000, Some("1000"), Some(&sig), "/internal/v1/keys/x", b"{}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v(1_000, Some("1001"), Some(&sig), "/internal/v1/ingest", b"{}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v(1_400, Some("1000"), Some(&sig), "/internal/v1/ingest", b"{}"),
            Err(SignatureError::Expired(400))
        );
        assert_eq!(
            v(1_000, None, Some(&sig), "/internal/v1/ingest", b"{}"),
            Err(SignatureError::Missing(TIMESTAMP_HEADER))
        );
        assert_eq!(
            v(1_000, Some("soon"), Some(&sig), "/internal/v1/ingest", b"{}"),
            Err(SignatureError::BadTimestamp)
        );
        // Timestamps at the ends of i64 are expired, without overflowing.
        assert_eq!(
            v(
                1_000,
                Some(&i64::MIN.to_string()),
                Some(&sig),
                "/internal/v1/ingest",
                b"{}"
            ),
            Err(SignatureError::Expired(i64::MAX))
        );
        assert_eq!(
            v(
                -1_000,
                Some(&i64::MAX.to_string()),
                Some(&sig),
                "/internal/v1/ingest",
                b"{}"
            ),
            Err(SignatureError::Expired(i64::MIN))
        );
        assert!(verify(
            b"another secret, also long enough!",
            1_000,
            Some("1000"),
            Some(&sig),
            "POST",
            "/internal/v1/ingest",
            b"{}"
        )
        .is_err());
    }
}
