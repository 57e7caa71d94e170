//! Resolving ingestion keys on the hot path, and recording their use.
//!
//! Every ingest request names a key. Looking its hash up in the store each time would put a read
//! in front of every write, so resolutions (including "unknown") are cached for
//! [`KEY_CACHE_TTL_MS`]: a revoked key stops working within that time. `lastUsedAt` is kept in
//! memory and written at most every [`KEY_USAGE_FLUSH_INTERVAL`], and at shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contract::ids::ProjectId;
use contract::keys::{ApiKey, KeyHash};
use store::{KeyId, Store};

use crate::error::AppError;
use crate::Millis;

/// How long a key lookup (found, revoked or unknown) is trusted: 60 s.
pub const KEY_CACHE_TTL_MS: Millis = 60_000;
/// Most cached lookups; past it the cache is cleared (a flood of random keys must not grow memory).
pub const KEY_CACHE_MAX_ENTRIES: usize = 100_000;
/// How often `lastUsedAt` is written.
pub const KEY_USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(60);

/// A key that may ingest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedKey {
    pub key_id: KeyId,
    pub project_id: ProjectId,
}

#[derive(Clone, Copy, Debug)]
enum Lookup {
    Active(ResolvedKey),
    Revoked,
    Unknown,
}

pub struct KeyResolver {
    store: Arc<dyn Store>,
    pepper: String,
    cache: Mutex<HashMap<String, (Millis, Lookup)>>,
    usage: Mutex<HashMap<KeyId, Millis>>,
}

impl KeyResolver {
    pub fn new(store: Arc<dyn Store>, pepper: String) -> Self {
        Self {
            store,
            pepper,
            cache: Mutex::default(),
            usage: Mutex::default(),
        }
    }

    /// The project a raw key may ingest into: 401 for a malformed or unknown key, 403 for a
    /// revoked one.
    pub async fn resolve(&self, raw: &str, now: Millis) -> Result<ResolvedKey, AppError> {
        let key = ApiKey::parse(raw.trim()).map_err(|e| AppError::Unauthorized(format!("invalid API key: {e}")))?;
        let hash = key.hash(&self.pepper);
        let lookup = match self.cached(&hash, now) {
            Some(lookup) => lookup,
            None => {
                let lookup = match self.store.key_by_hash(&hash).await? {
                    None => Lookup::Unknown,
                    Some(r) if r.revoked_at.is_some() => Lookup::Revoked,
                    Some(r) => Lookup::Active(ResolvedKey {
                        key_id: r.id,
                        project_id: r.project_id,
                    }),
                };
                let mut cache = self.cache.lock().expect("key cache lock");
                if cache.len() >= KEY_CACHE_MAX_ENTRIES {
                    cache.clear();
                }
                cache.insert(hash.as_str().to_owned(), (now, lookup));
                lookup
            }
        };
        match lookup {
            Lookup::Active(resolved) => {
                self.usage.lock().expect("key usage lock").insert(resolved.key_id, now);
                Ok(resolved)
            }
            Lookup::Revoked => Err(AppError::Forbidden("this API key has been revoked".into())),
            Lookup::Unknown => Err(AppError::Unauthorized("unknown API key".into())),
        }
    }

    fn cached(&self, hash: &KeyHash, now: Millis) -> Option<Lookup> {
        let cache = self.cache.lock().expect("key cache lock");
        cache
            .get(hash.as_str())
            .filter(|(at, _)| now - at < KEY_CACHE_TTL_MS)
            .map(|(_, l)| *l)
    }

    /// Forgets a key's cached lookup (after a revocation through this collector).
    pub fn forget(&self, hash: &KeyHash) {
        self.cache.lock().expect("key cache lock").remove(hash.as_str());
    }

    /// Writes the pending `lastUsedAt` times.
    pub async fn flush_usage(&self) -> Result<(), store::StoreError> {
        let pending: Vec<(KeyId, Millis)> = self.usage.lock().expect("key usage lock").drain().collect();
        if pending.is_empty() {
            return Ok(());
        }
        self.store.touch_keys(&pending).await
    }
}
