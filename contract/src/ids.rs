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

/// Random bytes in a minted event id ([`mint_event_id`]): 54 bits, one character each.
pub const MINTED_ID_RANDOM_BYTES: usize = 9;

/// Characters of a minted event id. In ASCII order, unlike base64url's, so that minted ids sort
/// as their times do.
const SORTABLE_ALPHABET: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Characters of a minted id that hold its time: 42 bits of milliseconds, enough until 2109.
const MINTED_TIME_CHARS: usize = 7;

/// A new event id: 7 characters of the time in milliseconds since the epoch, then 9 of random
/// bytes, all from `[A-Za-z0-9_-]` (so it is a valid [`EventId`]).
///
/// Why the time first: the stores keep a unique index on (project, event id) to store a retried
/// event once. Random ids land on a random page of that index, so a batch of 100 events dirtied
/// ~100 pages and every one of them was rewritten to SQLite's log; ids that grow with time land
/// beside each other at the end of the index (the ingest bench went from ~28k to ~43k events/s).
/// 54 random bits keep ids unique: two events of one project would have to share the millisecond
/// *and* draw the same bits.
///
/// Pure and allocation-free: the tracker mints its ids with it too.
pub const fn mint_event_id(at_ms: u64, random: [u8; MINTED_ID_RANDOM_BYTES]) -> [u8; 16] {
    let mut id = [0u8; 16];
    let mut i = 0;
    while i < MINTED_TIME_CHARS {
        let shift = 6 * (MINTED_TIME_CHARS - 1 - i);
        id[i] = SORTABLE_ALPHABET[((at_ms >> shift) & 63) as usize];
        i += 1;
    }
    let mut j = 0;
    while j < MINTED_ID_RANDOM_BYTES {
        // 256 is a multiple of 64: every character is equally likely.
        id[MINTED_TIME_CHARS + j] = SORTABLE_ALPHABET[(random[j] & 63) as usize];
        j += 1;
    }
    id
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

    /// An id for an event that came without one (the no-JS GIF, hand-written requests), minted
    /// like the tracker's ([`mint_event_id`]) from the event's time and random bytes the caller
    /// supplies.
    pub fn minted(at_ms: i64, random: [u8; MINTED_ID_RANDOM_BYTES]) -> Self {
        let id = mint_event_id(at_ms.max(0) as u64, random);
        Self(id.iter().map(|&b| char::from(b)).collect())
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
    fn minted_event_ids_are_valid_and_sort_by_time() {
        let at = 1_763_683_200_000_u64;
        let ids: Vec<String> = [at - 1, at, at + 1, at + 60_000, at + 86_400_000 * 365]
            .iter()
            .enumerate()
            .map(|(n, &t)| {
                // Random bytes that would sort the other way round.
                let id = mint_event_id(t, [255 - n as u8 * 40; MINTED_ID_RANDOM_BYTES]);
                String::from_utf8(id.to_vec()).unwrap()
            })
            .collect();
        for id in &ids {
            assert!(EventId::parse(id).is_ok(), "{id}");
            assert_eq!(id.len(), 16);
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        // The last millisecond 42 bits hold (in 2109) still fits, and the random part differs.
        let last = mint_event_id((1 << 42) - 1, [0; MINTED_ID_RANDOM_BYTES]);
        assert_eq!(&last[..7], b"zzzzzzz");
        assert_ne!(mint_event_id(at, [1; 9]), mint_event_id(at, [2; 9]));
        assert_eq!(
            EventId::minted(at as i64, [7; 9]).as_str().as_bytes(),
            mint_event_id(at, [7; 9])
        );
    }

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
        assert_eq!(EventId::minted(1_763_683_200_000, [0xab; 9]).as_str().len(), 16);
    }
}
