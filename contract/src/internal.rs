//! The JSON shapes of the collector's internal API, which the edge calls (signed with
//! [`crate::signing`]). One definition for both sides, so they cannot drift apart.
//!
//! | request | answer |
//! |---|---|
//! | `GET /internal/v1/keys/{keyHash}` | 200 [`KeyInfo`], or 404 for an unknown key |
//! | `GET /internal/v1/salts/{day}` | 200 [`SaltInfo`] (yesterday, today or tomorrow only) |
//! | `POST /internal/v1/ingest` [`IngestBatch`] | 200 [`IngestAnswer`]; a 5xx means "retry the whole batch" |

use serde::{Deserialize, Serialize};

use crate::enrich::DailySalt;
use crate::enriched::EnrichedEvent;
use crate::ids::ProjectId;
use crate::keys::KeyHash;

/// Path of the batch ingest endpoint.
pub const INGEST_PATH: &str = "/internal/v1/ingest";

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Path of the key lookup for `hash`.
pub fn key_path(hash: &KeyHash) -> String {
    format!("/internal/v1/keys/{}", hash.as_str())
}

/// Path of the salt of `day` (days since 1970-01-01, UTC).
pub fn salt_path(day: i64) -> String {
    format!("/internal/v1/salts/{day}")
}

/// The UTC day (days since the epoch) of a time in ms since the epoch.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// What a key hash stands for.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeyInfo {
    pub project_id: ProjectId,
    pub key_id: String,
    pub revoked: bool,
}

/// The visitor salt of one UTC day, hex-encoded. `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaltInfo {
    pub day: i64,
    pub salt: String,
}

impl std::fmt::Debug for SaltInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SaltInfo {{ day: {}, salt: *** }}", self.day)
    }
}

/// Why a [`SaltInfo`] is unusable.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("a salt is 64 hex characters (32 bytes)")]
pub struct InvalidSalt;

impl SaltInfo {
    pub fn new(day: i64, salt: &DailySalt) -> Self {
        Self {
            day,
            salt: crate::encode_hex(salt.bytes()),
        }
    }
    pub fn daily_salt(&self) -> Result<DailySalt, InvalidSalt> {
        let bytes = crate::decode_hex(&self.salt).ok_or(InvalidSalt)?;
        Ok(DailySalt::from_bytes(bytes.try_into().map_err(|_| InvalidSalt)?))
    }
}

/// The body of `POST /internal/v1/ingest`: at most
/// [`MAX_FORWARD_BATCH_EVENTS`](crate::limits::MAX_FORWARD_BATCH_EVENTS) events.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct IngestBatch {
    pub events: Vec<EnrichedEvent>,
}

/// One event of a batch the collector refused, for good (retrying it cannot help).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RejectedEvent {
    pub index: usize,
    pub error: String,
}

/// The collector's answer to a stored batch.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct IngestAnswer {
    pub accepted: usize,
    #[serde(default)]
    pub rejected: Vec<RejectedEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_match_the_collector_answers() {
        let key: KeyInfo = serde_json::from_value(json!({
            "project_id": "0123456789abcdef01234567", "key_id": "k1", "revoked": false
        }))
        .unwrap();
        assert_eq!(key.project_id.to_string(), "0123456789abcdef01234567");
        assert!(!key.revoked);
        let answer: IngestAnswer =
            serde_json::from_value(json!({"accepted": 2, "rejected": [{"index": 1, "error": "bad"}]})).unwrap();
        assert_eq!(
            answer.rejected,
            [RejectedEvent {
                index: 1,
                error: "bad".into()
            }]
        );
        let salt = SaltInfo::new(20_000, &DailySalt::from_bytes([0xab; 32]));
        assert_eq!(salt.daily_salt().unwrap(), DailySalt::from_bytes([0xab; 32]));
        assert!(!format!("{salt:?}").contains("abab"));
        assert_eq!(
            SaltInfo {
                day: 1,
                salt: "abc".into()
            }
            .daily_salt(),
            Err(InvalidSalt)
        );
    }

    #[test]
    fn paths_and_days() {
        assert_eq!(salt_path(20_000), "/internal/v1/salts/20000");
        let hash = crate::keys::ApiKey::from_random([1; 20]).hash("p");
        assert_eq!(key_path(&hash), format!("/internal/v1/keys/{}", hash.as_str()));
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
        assert_eq!(day_of(-1), -1);
    }
}
