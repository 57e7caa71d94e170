//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use store::Store;

use crate::ingest::Writer;
use crate::keys::KeyResolver;
use crate::metrics::Metrics;
use crate::salts::SaltBook;
use crate::secrets::Secrets;
use crate::throttle::Throttles;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub secrets: Secrets,
    pub keys: Arc<KeyResolver>,
    pub salts: Arc<SaltBook>,
    pub writer: Writer,
    pub metrics: Arc<Metrics>,
    pub trust_proxy: bool,
    pub allow_signup: bool,
    pub secure_cookies: bool,
    pub static_dir: Option<std::path::PathBuf>,
    /// Days of raw events and hourly rollups kept (the engine's planning needs it).
    pub raw_retention_days: u32,
    /// Limits on password guesses and sign-ups.
    pub throttles: Throttles,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
