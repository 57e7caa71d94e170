//! Identifiers that cross process boundaries.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use crate::limits::MAX_EVENT_ID_BYTES;

/// A project id: 24 lower-case hex characters (the text form of a MongoDB ObjectId, which the
/// embedded store mints the same way so ids look alike whatever the backend).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectId([u8; 12]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a project id is 24 hex characters")]
pub struct InvalidProjectId;

impl ProjectId {
    pub fn parse(s: &str) -> Result<Self, InvalidProjectId> {
        if s.len() != 24 {
            return Err(InvalidProjectId);
        }
        let bytes = crate::decode_hex(s).ok_or(InvalidProjectId)?;
        Ok(Self(bytes.try_into().map_err(|_| InvalidProjectId)?))
    }
    pub fn from_bytes(bytes: [u8; 12]) -> Self {
        Self(bytes)
    }
    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::encode_hex(&self.0))
    }
}

impl fmt::Debug for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProjectId({self})")
    }
}

impl Serialize for ProjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProjectId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The id of one event, chosen by the client so that a retried request is stored once:
/// 1 to [`MAX_EVENT_ID_BYTES`] characters from `[A-Za-z0-9_-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(transparent)]
pub struct EventId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event id is 1 to {MAX_EVENT_ID_BYTES} characters from A-Z, a-z, 0-9, '_' and '-'")]
pub struct InvalidEventId;

impl EventId {
    pub fn parse(s: &str) -> Result<Self, InvalidEventId> {
        let ok = !s.is_empty()
            && s.len() <= MAX_EVENT_ID_BYTES
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidEventId)
        }
    }

    /// An id for an event that came without one (the no-JS GIF, hand-written requests): derived
    /// from 16 random bytes the caller supplies.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(crate::encode_hex(&bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stable 64-bit digest of the id, used where storing the whole id would be wasteful
    /// (the per-visitor set of events already folded into sessions).
    pub fn digest64(&self) -> u64 {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(self.0.as_bytes());
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_id_parses_24_hex() {
        let id = ProjectId::parse("0123456789abcdef01234567").unwrap();
        assert_eq!(id.to_string(), "0123456789abcdef01234567");
        assert!(ProjectId::parse("0123456789abcdef0123456").is_err());
        assert!(ProjectId::parse("0123456789abcdef0123456z").is_err());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ProjectId>(&json).unwrap(), id);
    }

    #[test]
    fn event_id_rejects_odd_characters() {
        assert!(EventId::parse("k3j4-_AZ").is_ok());
        assert!(EventId::parse("").is_err());
        assert!(EventId::parse("a b").is_err());
        assert!(EventId::parse("$where").is_err());
        assert!(EventId::parse(&"a".repeat(65)).is_err());
        assert_eq!(EventId::from_random([0xab; 16]).as_str().len(), 32);
    }
}
