//! The Worker's configuration: `wrangler.toml` vars and secrets, read once per isolate.
//!
//! | name | kind | default | meaning |
//! |---|---|---|---|
//! | `COLLECTOR_URL` | var | — (required) | base URL of the collector's internal API |
//! | `KEY_PEPPER` | secret | — (required) | pepper of key hashes, the collector's `--key-pepper` (≥ 32 bytes) |
//! | `EDGE_SECRET` | secret | — (required) | HMAC secret shared with the collector's `--edge-secret` (≥ 32 bytes) |
//! | `KEY_CACHE_TTL_SECS` | var | [`DEFAULT_KEY_CACHE_TTL_SECS`] | how long a key lookup (active, revoked, unknown) is trusted |
//! | `RATE_LIMIT_IP_PER_MINUTE` | var | [`DEFAULT_IP_PER_MINUTE`] | requests per client IP and minute, per isolate |
//! | `RATE_LIMIT_KEY_PER_MINUTE` | var | [`DEFAULT_KEY_PER_MINUTE`] | requests per key and minute, per isolate |
//! | `RETRY_BASE_DELAY_SECS` | var | [`DEFAULT_RETRY_BASE_DELAY_SECS`] | first queue retry delay; doubles per attempt |

use std::fmt;

use contract::signing::MIN_SECRET_BYTES;

/// A revoked key stops working at the edge within this many seconds (isolate and Cache API).
pub const DEFAULT_KEY_CACHE_TTL_SECS: u32 = 60;
/// Longest key TTL accepted: 1 hour.
pub const MAX_KEY_CACHE_TTL_SECS: u32 = 3600;
/// Requests one client IP may make per minute (burst of the same size), per isolate.
pub const DEFAULT_IP_PER_MINUTE: u32 = 600;
/// Requests one key may make per minute (burst of the same size), per isolate.
pub const DEFAULT_KEY_PER_MINUTE: u32 = 60_000;
/// First delay of a queued batch that the collector could not take; doubled per attempt.
pub const DEFAULT_RETRY_BASE_DELAY_SECS: u32 = 10;

#[derive(Clone)]
pub struct Config {
    /// Without a trailing slash.
    pub collector_url: String,
    pub key_pepper: String,
    pub edge_secret: String,
    pub key_cache_ttl_secs: u32,
    pub ip_per_minute: u32,
    pub key_per_minute: u32,
    pub retry_base_delay_secs: u32,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("collector_url", &self.collector_url)
            .field("key_pepper", &"***")
            .field("edge_secret", &"***")
            .field("key_cache_ttl_secs", &self.key_cache_ttl_secs)
            .field("ip_per_minute", &self.ip_per_minute)
            .field("key_per_minute", &self.key_per_minute)
            .field("retry_base_delay_secs", &self.retry_base_delay_secs)
            .finish()
    }
}

/// Why the Worker cannot run. Names the setting, never prints a secret's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Reads the settings through `get` (a var or secret by name).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ConfigError(format!("{name} is not set")))
        };
        let secret = |name: &str| {
            let value = required(name)?;
            if value.len() < MIN_SECRET_BYTES {
                return Err(ConfigError(format!("{name} is shorter than {MIN_SECRET_BYTES} bytes")));
            }
            Ok(value)
        };
        let number = |name: &str, default: u32, min: u32, max: u32| match get(name).map(|v| v.trim().to_owned()) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| ConfigError(format!("{name} must be a whole number from {min} to {max}"))),
        };
        let collector_url = required("COLLECTOR_URL")?.trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&collector_url).map_err(|_| ConfigError("COLLECTOR_URL is not a URL".into()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError("COLLECTOR_URL must be http or https".into()));
        }
        Ok(Self {
            collector_url,
            key_pepper: secret("KEY_PEPPER")?,
            edge_secret: secret("EDGE_SECRET")?,
            key_cache_ttl_secs: number(
                "KEY_CACHE_TTL_SECS",
                DEFAULT_KEY_CACHE_TTL_SECS,
                1,
                MAX_KEY_CACHE_TTL_SECS,
            )?,
            ip_per_minute: number("RATE_LIMIT_IP_PER_MINUTE", DEFAULT_IP_PER_MINUTE, 1, u32::MAX)?,
            key_per_minute: number("RATE_LIMIT_KEY_PER_MINUTE", DEFAULT_KEY_PER_MINUTE, 1, u32::MAX)?,
            retry_base_delay_secs: number("RETRY_BASE_DELAY_SECS", DEFAULT_RETRY_BASE_DELAY_SECS, 1, 3600)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const LONG: &str = "a secret of at least thirty-two bytes!!";

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("COLLECTOR_URL", "http://127.0.0.1:8080/"),
            ("KEY_PEPPER", LONG),
            ("EDGE_SECRET", LONG),
        ]
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_lookup(lookup(&base())).unwrap();
        assert_eq!(c.collector_url, "http://127.0.0.1:8080");
        assert_eq!(c.key_cache_ttl_secs, DEFAULT_KEY_CACHE_TTL_SECS);
        assert_eq!(c.ip_per_minute, DEFAULT_IP_PER_MINUTE);
        let mut pairs = base();
        pairs.push(("KEY_CACHE_TTL_SECS", "2"));
        pairs.push(("RATE_LIMIT_KEY_PER_MINUTE", "5"));
        let c = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!((c.key_cache_ttl_secs, c.key_per_minute), (2, 5));
        let debug = format!("{c:?}");
        assert!(!debug.contains(LONG), "{debug}");
    }

    #[test]
    fn refuses_missing_short_or_bad_settings_without_printing_secrets() {
        let err = Config::from_lookup(lookup(&base()[..2])).unwrap_err();
        assert_eq!(err.0, "EDGE_SECRET is not set");
        let mut pairs = base();
        pairs[1] = ("KEY_PEPPER", "tiny-pepper");
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(err.0.contains("KEY_PEPPER") && !err.0.contains("tiny-pepper"), "{err}");
        let mut pairs = base();
        pairs.push(("KEY_CACHE_TTL_SECS", "0"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
        let mut pairs = base();
        pairs[0] = ("COLLECTOR_URL", "ftp://x");
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
    }
}
