//! Typed, layered configuration: built-in defaults, then an optional TOML file (`--config`),
//! then `COLLECTOR_*` environment variables, then command-line flags (clap reads the last two).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Default listen address: loopback, so a first run exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default folder of the embedded store and its generated secrets.
pub const DEFAULT_DATA_DIR: &str = ".data";
/// Shortest secret accepted for the key pepper and the edge secret, in bytes.
pub const MIN_SECRET_BYTES: usize = contract::signing::MIN_SECRET_BYTES;

/// A secret string that never shows up in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where events and accounts are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageConfig {
    /// The embedded SQLite store in this folder (the default).
    Embedded { data_dir: PathBuf },
    /// A MongoDB deployment.
    Mongo { uri: Secret },
}

/// Everything the collector needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub storage: StorageConfig,
    /// Pepper of API key hashes; must be the same on the edge.
    pub key_pepper: Option<Secret>,
    /// Secret of the edge's HMAC signatures; the internal API is off without it.
    pub edge_secret: Option<Secret>,
    /// Take the client IP and geography from a trusted reverse proxy's headers
    /// (`CF-Connecting-IP`/`X-Forwarded-For`, `CF-IPCountry`) instead of the socket.
    pub trust_proxy: bool,
    /// Whether anyone may create an owner account over HTTP.
    pub allow_signup: bool,
    /// Mark the login cookie `Secure` (on unless serving plain HTTP on loopback).
    pub secure_cookies: bool,
    /// Folder with `pixel.js` and its wasm, served at `/pixel.js` instead of the embedded tracker
    /// (`tracker/dist` built into the binary), for working on the tracker without rebuilding.
    pub static_dir: Option<PathBuf>,
    /// Days raw events, sessions and hourly rollups are kept (daily rollups: [`ROLLUP_RETENTION_DAYS`]).
    pub raw_retention_days: u32,
    /// How often the rollup worker rebuilds the hours ingestion touched: the dashboard's delay.
    pub rollup_interval: std::time::Duration,
    /// Folder of the ingest log (`crate::ingest::log`), with either store: the data directory.
    pub ingest_log_dir: PathBuf,
    /// Answer ingestion requests only once their events are on disk (the default). Off only for
    /// the benchmark's comparison: see `crate::ingest::writer`.
    pub durable_ack: bool,
}

/// Default of `raw_retention_days`: a year of raw events (filters, non-hour time zones).
pub const DEFAULT_RAW_RETENTION_DAYS: u32 = 365;
/// Daily rollups are kept two years (plus a day, so a 12-month range compares with the year before).
pub const ROLLUP_RETENTION_DAYS: u32 = 731;
/// Default of `rollup_interval`, ms.
pub const DEFAULT_ROLLUP_INTERVAL_MS: u64 = 2_000;

/// The layer read from a `--config` TOML file: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub mongodb_uri: Option<Secret>,
    pub key_pepper: Option<Secret>,
    pub edge_secret: Option<Secret>,
    pub trust_proxy: Option<bool>,
    pub allow_signup: Option<bool>,
    pub secure_cookies: Option<bool>,
    pub static_dir: Option<PathBuf>,
    pub raw_retention_days: Option<u32>,
    pub rollup_interval_ms: Option<u64>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

/// The flag/environment layer, as clap parsed it (each `None` when neither was given). Boolean
/// flags work bare (`--trust-proxy`) and with a value after `=` (`--trust-proxy=false`); a value
/// after a space is not taken, or `--trust-proxy serve` would read `serve` as the flag's value.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ConfigArgs {
    /// TOML file with defaults for the settings below.
    #[arg(long, env = "COLLECTOR_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Folder of the ingest log, and of the embedded store when no MongoDB URI is set.
    #[arg(long, env = "COLLECTOR_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// MongoDB connection string; when set, MongoDB is the store.
    #[arg(long, env = "MONGODB_URI", global = true, hide_env_values = true)]
    pub mongodb_uri: Option<String>,
    /// Pepper of API key hashes (>= 32 bytes). Generated into the data dir when the embedded store is used.
    #[arg(long, env = "COLLECTOR_KEY_PEPPER", global = true, hide_env_values = true)]
    pub key_pepper: Option<String>,
    /// Shared secret of the edge's signed requests (>= 32 bytes). Generated into the data dir when the embedded store is used.
    #[arg(long, env = "COLLECTOR_EDGE_SECRET", global = true, hide_env_values = true)]
    pub edge_secret: Option<String>,
    /// Trust `CF-Connecting-IP` / `X-Forwarded-For` and `CF-IPCountry` headers (behind a proxy only).
    #[arg(long, env = "COLLECTOR_TRUST_PROXY", global = true, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub trust_proxy: Option<bool>,
    /// Allow owner sign-up over HTTP.
    #[arg(long, env = "COLLECTOR_ALLOW_SIGNUP", global = true, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub allow_signup: Option<bool>,
    /// Mark the login cookie Secure.
    #[arg(long, env = "COLLECTOR_SECURE_COOKIES", global = true, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub secure_cookies: Option<bool>,
    /// Folder holding pixel.js and its wasm, served at /pixel.js instead of the built-in tracker.
    #[arg(long, env = "COLLECTOR_STATIC_DIR", global = true)]
    pub static_dir: Option<PathBuf>,
    /// Days to keep raw events, sessions and hourly rollups (1 to 731; default 365).
    #[arg(long, env = "COLLECTOR_RAW_RETENTION_DAYS", global = true)]
    pub raw_retention_days: Option<u32>,
    /// Milliseconds between rollup rebuilds (100 to 600000; default 2000).
    #[arg(long, env = "COLLECTOR_ROLLUP_INTERVAL_MS", global = true)]
    pub rollup_interval_ms: Option<u64>,
    /// `Some(false)` answers ingestion requests before their events are on disk. Not a flag: only
    /// the ingest benchmark sets it, to print what durability costs.
    #[arg(skip)]
    pub durable_ack: Option<bool>,
}

impl ConfigArgs {
    /// Merges the layers. `listen` comes from the `serve` command's own flag.
    pub fn resolve(&self, listen: Option<String>) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let listen_text = listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text
            .parse()
            .with_context(|| format!("--listen {listen_text:?} is not an address like 127.0.0.1:8080"))?;
        let mongodb_uri = self
            .mongodb_uri
            .clone()
            .map(Secret::new)
            .or(file.mongodb_uri)
            .filter(|u| !u.expose().trim().is_empty());
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let storage = match mongodb_uri {
            Some(uri) => StorageConfig::Mongo { uri },
            None => StorageConfig::Embedded {
                data_dir: data_dir.clone(),
            },
        };
        let key_pepper = self.key_pepper.clone().map(Secret::new).or(file.key_pepper);
        let edge_secret = self.edge_secret.clone().map(Secret::new).or(file.edge_secret);
        for (name, secret) in [("key pepper", &key_pepper), ("edge secret", &edge_secret)] {
            if let Some(s) = secret {
                if s.expose().len() < MIN_SECRET_BYTES {
                    bail!("the {name} must be at least {MIN_SECRET_BYTES} bytes long");
                }
            }
        }
        let raw_retention_days = self
            .raw_retention_days
            .or(file.raw_retention_days)
            .unwrap_or(DEFAULT_RAW_RETENTION_DAYS);
        if !(1..=ROLLUP_RETENTION_DAYS).contains(&raw_retention_days) {
            bail!("raw_retention_days must be between 1 and {ROLLUP_RETENTION_DAYS}, not {raw_retention_days}");
        }
        let rollup_interval_ms = self
            .rollup_interval_ms
            .or(file.rollup_interval_ms)
            .unwrap_or(DEFAULT_ROLLUP_INTERVAL_MS);
        if !(100..=600_000).contains(&rollup_interval_ms) {
            bail!("rollup_interval_ms must be between 100 and 600000, not {rollup_interval_ms}");
        }
        Ok(Config {
            raw_retention_days,
            rollup_interval: std::time::Duration::from_millis(rollup_interval_ms),
            secure_cookies: self
                .secure_cookies
                .or(file.secure_cookies)
                .unwrap_or(!listen.ip().is_loopback()),
            listen,
            storage,
            key_pepper,
            edge_secret,
            trust_proxy: self.trust_proxy.or(file.trust_proxy).unwrap_or(false),
            allow_signup: self.allow_signup.or(file.allow_signup).unwrap_or(true),
            static_dir: self.static_dir.clone().or(file.static_dir),
            ingest_log_dir: data_dir,
            durable_ack: self.durable_ack.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_the_embedded_store_on_loopback() {
        let c = ConfigArgs::default().resolve(None).unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(
            c.storage,
            StorageConfig::Embedded {
                data_dir: DEFAULT_DATA_DIR.into()
            }
        );
        assert!(!c.secure_cookies && c.allow_signup && !c.trust_proxy);
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/from/file\"\nallow_signup = false\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(file),
            data_dir: Some("/from/flag".into()),
            ..Default::default()
        };
        let c = args.resolve(None).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(
            c.storage,
            StorageConfig::Embedded {
                data_dir: "/from/flag".into()
            }
        );
        assert!(!c.allow_signup);
        assert!(c.secure_cookies, "not loopback: secure cookies by default");
        let c = args.resolve(Some("127.0.0.1:0".into())).unwrap();
        assert_eq!(c.listen.port(), 0);
    }

    #[test]
    fn refuses_short_secrets_and_bad_addresses_and_never_prints_secrets() {
        let args = ConfigArgs {
            key_pepper: Some("short".into()),
            ..Default::default()
        };
        assert!(args
            .resolve(None)
            .unwrap_err()
            .to_string()
            .contains("at least 32 bytes"));
        assert!(ConfigArgs::default().resolve(Some("nowhere".into())).is_err());
        let args = ConfigArgs {
            mongodb_uri: Some("mongodb://user:hunter2@db/x".into()),
            ..Default::default()
        };
        let c = args.resolve(None).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
