//! Ingestion API keys.
//!
//! A key is `mtr_` followed by 40 lower-case hex characters (160 random bits). Only its
//! [`KeyHash`], the hex SHA-256 of `key:pepper`, is ever stored; the pepper is a server secret, so a
//! leaked database alone does not let anyone test guesses offline. The [`KeyPreview`]
//! (`mtr_a1b2...ef01`) lets an owner tell keys apart without exposing them.

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The prefix every key starts with, so leaked keys are easy to grep for.
pub const KEY_PREFIX: &str = "mtr_";
/// Random bytes in a key: 160 bits, above the 128 that make guessing hopeless.
pub const KEY_RANDOM_BYTES: usize = 20;

/// A syntactically valid ingestion key. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an API key is \"mtr_\" followed by 40 hex characters")]
pub struct InvalidApiKey;

impl ApiKey {
    pub fn parse(s: &str) -> Result<Self, InvalidApiKey> {
        let hex = s.strip_prefix(KEY_PREFIX).ok_or(InvalidApiKey)?;
        let ok =
            hex.len() == KEY_RANDOM_BYTES * 2 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidApiKey)
        }
    }

    /// A new key from random bytes the caller draws from a CSPRNG.
    pub fn from_random(bytes: [u8; KEY_RANDOM_BYTES]) -> Self {
        Self(format!("{KEY_PREFIX}{}", crate::encode_hex(&bytes)))
    }

    /// The raw key, to show once to its owner or to send in a request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// hex(SHA-256(`key:pepper`)): the only form in which a key is stored or looked up.
    pub fn hash(&self, pepper: &str) -> KeyHash {
        let mut h = Sha256::new();
        h.update(self.0.as_bytes());
        h.update(b":");
        h.update(pepper.as_bytes());
        KeyHash(crate::encode_hex(&h.finalize()))
    }

    /// `mtr_a1b2...ef01`: enough to recognise a key in a list, far too little to use it.
    pub fn preview(&self) -> KeyPreview {
        let hex = &self.0[KEY_PREFIX.len()..];
        KeyPreview(format!("{KEY_PREFIX}{}...{}", &hex[..4], &hex[hex.len() - 4..]))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.preview().as_str())
    }
}

/// hex(SHA-256(`key:pepper`)): 64 lower-case hex characters.
#[derive(Clone, Eq, Debug, Serialize)]
#[serde(transparent)]
pub struct KeyHash(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key hash is 64 lower-case hex characters")]
pub struct InvalidKeyHash;

impl KeyHash {
    pub fn parse(s: &str) -> Result<Self, InvalidKeyHash> {
        let ok = s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidKeyHash)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Constant-time: comparing a presented hash with a stored one must not leak how many leading
/// characters matched.
impl PartialEq for KeyHash {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl<'de> Deserialize<'de> for KeyHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `mtr_a1b2...ef01`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyPreview(String);

impl KeyPreview {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Rebuilds a preview read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_hash_and_preview() {
        let key = ApiKey::from_random([0xa1; KEY_RANDOM_BYTES]);
        assert_eq!(ApiKey::parse(key.expose()).unwrap(), key);
        assert_eq!(key.expose().len(), 4 + 40);
        assert_eq!(key.preview().as_str(), "mtr_a1a1...a1a1");
        assert!(!format!("{key:?}").contains(key.expose()));
    }

    #[test]
    fn hash_is_sha256_of_key_colon_pepper() {
        let key = ApiKey::parse("mtr_0000000000000000000000000000000000000000").unwrap();
        let expected = {
            let d = Sha256::digest(b"mtr_0000000000000000000000000000000000000000:pepper");
            crate::encode_hex(&d)
        };
        assert_eq!(key.hash("pepper").as_str(), expected);
        assert_ne!(key.hash("pepper"), key.hash("other pepper"));
        assert!(KeyHash::parse(&expected).is_ok());
        assert!(KeyHash::parse(&expected.to_uppercase()).is_err());
    }

    #[test]
    fn rejects_malformed_keys() {
        for bad in [
            "",
            "mtr_",
            "mtr_xyz",
            "key_0000000000000000000000000000000000000000",
            "mtr_000000000000000000000000000000000000000",
            "mtr_ABCDEF0000000000000000000000000000000000",
        ] {
            assert!(ApiKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
