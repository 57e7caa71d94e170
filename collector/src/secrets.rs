//! The collector's two secrets: the key pepper and the edge's HMAC secret.
//!
//! Given by configuration in production. With the embedded store and none configured, they are
//! generated once into `<data dir>/secrets.json` (mode 0600), so a newcomer's first run works and
//! keys keep working across restarts. With MongoDB, several collectors must share them, so they
//! are required.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Secret, StorageConfig};

pub const SECRETS_FILE: &str = "secrets.json";

#[derive(Clone, Debug)]
pub struct Secrets {
    pub key_pepper: Secret,
    /// `None`: the internal API answers 404 (no edge configured).
    pub edge_secret: Option<Secret>,
}

#[derive(Serialize, Deserialize)]
struct Generated {
    key_pepper: String,
    edge_secret: String,
}

impl Secrets {
    pub fn resolve(config: &Config) -> anyhow::Result<Self> {
        match (&config.key_pepper, &config.storage) {
            (Some(pepper), _) => Ok(Self {
                key_pepper: pepper.clone(),
                edge_secret: config.edge_secret.clone(),
            }),
            (None, StorageConfig::Embedded { data_dir }) => {
                let generated = load_or_generate(data_dir)?;
                Ok(Self {
                    key_pepper: Secret::new(generated.key_pepper),
                    edge_secret: config.edge_secret.clone().or(Some(Secret::new(generated.edge_secret))),
                })
            }
            (None, StorageConfig::Mongo { .. }) => {
                bail!("COLLECTOR_KEY_PEPPER (or --key-pepper) is required with MongoDB: every collector must hash keys alike")
            }
        }
    }
}

fn random_secret() -> String {
    contract::encode_hex(&rand::random::<[u8; 32]>())
}

fn load_or_generate(dir: &Path) -> anyhow::Result<Generated> {
    let path = dir.join(SECRETS_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating data dir {}", dir.display()))?;
    let generated = Generated {
        key_pepper: random_secret(),
        edge_secret: random_secret(),
    };
    let text = serde_json::to_string_pretty(&generated).expect("serializable");
    write_private(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the key pepper and edge secret");
    Ok(generated)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigArgs;

    #[test]
    fn embedded_store_generates_secrets_once() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConfigArgs {
            data_dir: Some(dir.path().into()),
            ..Default::default()
        };
        let config = args.resolve(None).unwrap();
        let a = Secrets::resolve(&config).unwrap();
        let b = Secrets::resolve(&config).unwrap();
        assert_eq!(a.key_pepper, b.key_pepper);
        assert_eq!(a.key_pepper.expose().len(), 64);
        assert!(a.edge_secret.is_some());
    }

    #[test]
    fn mongo_requires_a_pepper() {
        let args = ConfigArgs {
            mongodb_uri: Some("mongodb://localhost".into()),
            ..Default::default()
        };
        assert!(Secrets::resolve(&args.resolve(None).unwrap()).is_err());
    }
}
