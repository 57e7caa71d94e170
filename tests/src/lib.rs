//! Shared harness of the end-to-end tests: a real collector on a loopback port, on a fresh
//! embedded store, provisioned with an owner, a project and an ingestion key.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use collector::config::{Config, ConfigArgs};
use collector::Application;
use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The key pepper every test collector (and test edge) uses.
pub const PEPPER: &str = "e2e key pepper, at least thirty-two bytes long";
/// The edge secret every test collector (and test edge) uses.
pub const EDGE_SECRET: &str = "e2e edge secret, at least thirty-two bytes long";

/// The workspace root (where `wrangler.toml` and `scripts/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

/// A free loopback port (bound and released; fine for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A collector running in this test process.
pub struct TestCollector {
    pub port: u16,
    pub url: String,
    pub project_id: ProjectId,
    /// The raw ingestion key (`mtr_…`) and its record id.
    pub key: String,
    pub key_id: String,
    config: Config,
    _dir: tempfile::TempDir,
    running: Option<(oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>)>,
}

impl TestCollector {
    /// Starts a collector on a free port and a fresh embedded store; `static_dir` holds the built
    /// tracker (`pixel.js`), served at `/pixel.js`.
    pub async fn start(static_dir: Option<PathBuf>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let args = ConfigArgs {
            data_dir: Some(dir.path().into()),
            key_pepper: Some(PEPPER.into()),
            edge_secret: Some(EDGE_SECRET.into()),
            static_dir,
            ..Default::default()
        };
        let config = args.resolve(Some(format!("127.0.0.1:{port}"))).expect("valid config");
        let store = collector::app::open_store(&config).await.expect("store");
        let owner = collector::ops::create_user(&*store, "e2e@example.com", "an e2e password")
            .await
            .expect("owner");
        let project = collector::ops::create_project(&*store, &owner, "E2E site")
            .await
            .expect("project");
        let (key, record) = collector::ops::create_key(&*store, PEPPER, &project, "e2e")
            .await
            .expect("key");
        drop(store);
        let mut collector = TestCollector {
            port,
            url: format!("http://127.0.0.1:{port}"),
            project_id: project.id,
            key: key.expose().to_owned(),
            key_id: record.id.to_string(),
            config,
            _dir: dir,
            running: None,
        };
        collector.restart().await;
        collector
    }

    /// (Re)starts the collector on the same port and data.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "already running");
        let app = Application::build(self.config.clone()).await.expect("collector starts");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        self.running = Some((stop, task));
    }

    /// Stops the collector gracefully (its port refuses connections afterwards).
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            task.await.expect("collector task").expect("collector stopped cleanly");
        }
    }

    /// A separate handle on the collector's data.
    pub async fn store(&self) -> Arc<dyn Store> {
        collector::app::open_store(&self.config).await.expect("store")
    }

    /// Every event of the project, oldest first.
    pub async fn events(&self) -> Vec<EnrichedEvent> {
        self.store()
            .await
            .events(&self.project_id, 0, i64::MAX / 2)
            .await
            .expect("events")
    }

    /// Every session of the project, oldest first.
    pub async fn sessions(&self) -> Vec<store::Session> {
        self.store()
            .await
            .sessions(&self.project_id, 0, i64::MAX / 2)
            .await
            .expect("sessions")
    }

    /// Revokes the key in the store, as `collector key revoke` does.
    pub async fn revoke_key(&self) {
        let store = self.store().await;
        collector::ops::revoke_key(&*store, None, &self.key_id)
            .await
            .expect("revoked");
    }
}

impl Drop for TestCollector {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}
