//! Daily visitor salts: random, made by the collector, served to the edge over the signed internal
//! API, and deleted once they are two days old, so visitor ids cannot be linked across days.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contract::enrich::DailySalt;
use contract::internal::day_of;
use store::Store;

use crate::Millis;

/// How often salts older than yesterday's are deleted: a salt lives at most 48 h plus this.
pub const SALT_PRUNE_INTERVAL: Duration = Duration::from_secs(600);

pub struct SaltBook {
    store: Arc<dyn Store>,
    cache: Mutex<HashMap<i64, DailySalt>>,
}

impl SaltBook {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Mutex::default(),
        }
    }

    /// The salt of `day`, created on first use. Every collector sharing the store gets the same.
    pub async fn for_day(&self, day: i64) -> Result<DailySalt, store::StoreError> {
        if let Some(salt) = self.cache.lock().expect("salt cache lock").get(&day) {
            return Ok(salt.clone());
        }
        let salt = DailySalt::from_bytes(self.store.salt_for_day(day, rand::random()).await?);
        self.cache.lock().expect("salt cache lock").insert(day, salt.clone());
        Ok(salt)
    }

    /// Deletes the salts of days before yesterday, in the store and in memory.
    pub async fn prune(&self, now: Millis) -> Result<u64, store::StoreError> {
        let keep_from = day_of(now) - 1;
        self.cache
            .lock()
            .expect("salt cache lock")
            .retain(|day, _| *day >= keep_from);
        self.store.delete_salts_before(keep_from).await
    }
}
