//! The isolate's in-memory caches: key lookups (also negative ones) and daily salts.
//!
//! Key lookups are cached for the configured TTL ([`crate::config::Config::key_cache_ttl_secs`])
//! here and in the Cache API (shared by the isolates of a data centre), so a revoked key stops
//! working within that TTL, and a flood of requests with the same unknown key reaches the
//! collector once per TTL. Floods of *different* bad keys are bounded by the per-IP rate limit;
//! the cache is cleared when it reaches [`MAX_CACHED_KEYS`], so they cannot grow memory.

use std::collections::HashMap;

use contract::ids::ProjectId;
use contract::internal::KeyInfo;
use serde::{Deserialize, Serialize};

/// Most key lookups kept per isolate.
pub const MAX_CACHED_KEYS: usize = 10_000;

/// What a key hash resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyLookup {
    Active { project_id: ProjectId },
    Revoked,
    Unknown,
}

impl KeyLookup {
    /// From the collector's answer (`None`: 404, unknown key).
    pub fn from_info(info: Option<KeyInfo>) -> Self {
        match info {
            None => Self::Unknown,
            Some(info) if info.revoked => Self::Revoked,
            Some(info) => Self::Active {
                project_id: info.project_id,
            },
        }
    }
}

/// A map whose entries expire; cleared when full.
#[derive(Debug)]
pub struct TtlCache<V> {
    entries: HashMap<String, (i64, V)>,
    max_entries: usize,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(max_entries: usize) -> Self {
        Self {
            entries: HashMap::new(),
            max_entries,
        }
    }

    /// The value, unless it expired at or before `now_ms`.
    pub fn get(&mut self, key: &str, now_ms: i64) -> Option<V> {
        match self.entries.get(key) {
            Some((expires, value)) if *expires > now_ms => Some(value.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn insert(&mut self, key: String, value: V, expires_at_ms: i64) {
        if self.entries.len() >= self.max_entries && !self.entries.contains_key(&key) {
            self.entries.clear();
        }
        self.entries.insert(key, (expires_at_ms, value));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_cache_is_bounded() {
        let mut cache = TtlCache::new(2);
        cache.insert("a".into(), KeyLookup::Unknown, 1_000);
        assert_eq!(cache.get("a", 999), Some(KeyLookup::Unknown));
        assert_eq!(cache.get("a", 1_000), None);
        assert!(cache.is_empty());
        cache.insert("a".into(), KeyLookup::Revoked, 5_000);
        cache.insert("b".into(), KeyLookup::Revoked, 5_000);
        cache.insert("b".into(), KeyLookup::Unknown, 5_000);
        assert_eq!(cache.len(), 2);
        cache.insert("c".into(), KeyLookup::Unknown, 5_000);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("c", 0), Some(KeyLookup::Unknown));
    }

    #[test]
    fn lookups_come_from_the_collector_answer_and_round_trip() {
        let project_id = ProjectId::parse("0123456789abcdef01234567").unwrap();
        let info = |revoked| KeyInfo {
            project_id,
            key_id: "k".into(),
            revoked,
        };
        assert_eq!(KeyLookup::from_info(None), KeyLookup::Unknown);
        assert_eq!(KeyLookup::from_info(Some(info(true))), KeyLookup::Revoked);
        let active = KeyLookup::from_info(Some(info(false)));
        assert_eq!(active, KeyLookup::Active { project_id });
        let json = serde_json::to_string(&active).unwrap();
        assert_eq!(json, r#"{"state":"active","project_id":"0123456789abcdef01234567"}"#);
        assert_eq!(serde_json::from_str::<KeyLookup>(&json).unwrap(), active);
    }
}
