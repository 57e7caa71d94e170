//! Building and running the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{Config, StorageConfig};
use crate::ingest::log::Replayed;
use crate::ingest::{IngestLog, Writer};
use crate::keys::{KeyResolver, KEY_USAGE_FLUSH_INTERVAL};
use crate::metrics::Metrics;
use crate::salts::{SaltBook, SALT_PRUNE_INTERVAL};
use crate::secrets::Secrets;
use crate::serve::ServeLimits;
use crate::state::{AppState, Inner};

/// Opens the configured store: MongoDB when a URI is set, else the embedded one.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &config.storage {
        StorageConfig::Embedded { data_dir } => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating data dir {}", data_dir.display()))?;
            let store = store_sqlite::SqliteStore::open_in(data_dir)
                .with_context(|| format!("opening the embedded store in {}", data_dir.display()))?;
            Arc::new(store)
        }
        #[cfg(feature = "mongodb")]
        StorageConfig::Mongo { uri } => {
            let store = store_mongo::MongoStore::connect(uri.expose(), None)
                .await
                .context("connecting to MongoDB")?;
            Arc::new(store)
        }
        #[cfg(not(feature = "mongodb"))]
        StorageConfig::Mongo { .. } => anyhow::bail!(
            "a MongoDB URI is set, but this collector was built without MongoDB (scripts/run.sh builds it so); \
             `cargo install --path collector` or `cargo build --release -p collector` builds one with it"
        ),
    })
}

/// Opens the ingest log in `dir` (creating the folder) and reads back what the last run left.
async fn open_ingest_log(dir: &std::path::Path) -> anyhow::Result<(IngestLog, Vec<Replayed>)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating data dir {}", dir.display()))?;
    let dir = dir.to_owned();
    let (log, replayed) = tokio::task::spawn_blocking(move || IngestLog::open(&dir)).await??;
    let events: usize = replayed.iter().map(|r| r.events.len()).sum();
    if events > 0 {
        tracing::info!(events, dir = %log.dir().display(), "replaying events logged but not yet stored");
    }
    Ok((log, replayed))
}

/// The tasks behind an [`AppState`]: the writer and the periodic jobs.
pub struct Services {
    pub writer_task: JoinHandle<()>,
    pub keys: Arc<KeyResolver>,
    pub background: Vec<JoinHandle<()>>,
}

/// Everything but the listener: the shared state handlers use and the tasks behind it. Tests use
/// it to `oneshot` the [`crate::router`].
pub async fn build_state(config: &Config) -> anyhow::Result<(AppState, Services)> {
    let store = open_store(config).await?;
    let secrets = Secrets::resolve(config)?;
    let metrics = Arc::new(Metrics::new());
    let (log, replayed) = open_ingest_log(&config.ingest_log_dir).await?;
    let (writer, writer_task) = Writer::spawn(store.clone(), metrics.clone(), log, replayed, config.durable_ack)?;
    let keys = Arc::new(KeyResolver::new(store.clone(), secrets.key_pepper.expose().to_owned()));
    let salts = Arc::new(SaltBook::new(store.clone()));
    let background = vec![
        spawn_every(KEY_USAGE_FLUSH_INTERVAL, {
            let keys = keys.clone();
            move || {
                let keys = keys.clone();
                async move {
                    if let Err(e) = keys.flush_usage().await {
                        tracing::warn!(error = format!("{e:#}"), "writing key lastUsedAt failed");
                    }
                }
            }
        }),
        spawn_every(SALT_PRUNE_INTERVAL, {
            let salts = salts.clone();
            move || {
                let salts = salts.clone();
                async move {
                    match salts.prune(crate::now_ms()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(deleted = n, "deleted old visitor salts"),
                        Err(e) => tracing::warn!(error = format!("{e:#}"), "deleting old salts failed"),
                    }
                }
            }
        }),
        spawn_paced(config.rollup_interval, crate::rollups::MAX_REBUILD_DUTY, {
            let store = store.clone();
            let days = config.raw_retention_days;
            move || crate::rollups::rebuild_pending(store.clone(), days)
        }),
        spawn_every(crate::rollups::RETENTION_INTERVAL, {
            let store = store.clone();
            let days = config.raw_retention_days;
            move || crate::rollups::sweep(store.clone(), days)
        }),
    ];
    let state = AppState::new(Inner {
        store,
        secrets,
        keys: keys.clone(),
        salts,
        writer,
        metrics,
        trust_proxy: config.trust_proxy,
        allow_signup: config.allow_signup,
        secure_cookies: config.secure_cookies,
        static_dir: config.static_dir.clone(),
        raw_retention_days: config.raw_retention_days,
        throttles: Default::default(),
    });
    Ok((
        state,
        Services {
            writer_task,
            keys,
            background,
        },
    ))
}

/// A collector bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: axum::Router,
    writer_task: JoinHandle<()>,
    keys: Arc<KeyResolver>,
    background: Vec<JoinHandle<()>>,
    limits: ServeLimits,
}

impl Application {
    /// Opens the store, binds the listener (port 0 picks a free port) and starts the background
    /// work (key usage flushing, salt pruning).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (state, services) = build_state(&config).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        tracing::info!(%address, store = state.store.backend_name(), "collector listening on http://{address}/");
        let Services {
            writer_task,
            keys,
            background,
        } = services;
        Ok(Self {
            listener,
            address,
            router: crate::router(state),
            writer_task,
            keys,
            background,
            limits: ServeLimits::default(),
        })
    }

    /// Other timeouts and bounds for the server than [`crate::serve`]'s constants (tests use
    /// shorter ones).
    pub fn with_limits(self, limits: ServeLimits) -> Self {
        Self { limits, ..self }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes. Then stops accepting connections, lets requests in
    /// flight finish for at most [`crate::serve::SHUTDOWN_GRACE`] and closes the connections still
    /// open, writes every queued event, flushes key usage, and returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            writer_task,
            keys,
            background,
            limits,
            ..
        } = self;
        crate::serve::serve(listener, router, shutdown, limits).await;
        // The router (and with it every Writer handle) is gone: the writer drains and stops.
        writer_task.await.context("the writer task failed")?;
        for task in background {
            task.abort();
        }
        if let Err(e) = keys.flush_usage().await {
            tracing::warn!(error = format!("{e:#}"), "writing key lastUsedAt at shutdown failed");
        }
        tracing::info!("collector stopped");
        Ok(())
    }
}

/// Runs `tick` every `period`, and a tick that took `t` is followed by a pause of at least
/// `t * (1 - max_duty) / max_duty`, so the work takes at most `max_duty` of the time however long
/// a tick grows: under heavy ingest, rebuilding rollups makes room for ingest instead of taking
/// a core.
fn spawn_paced<F, Fut>(period: std::time::Duration, max_duty: f64, mut tick: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            let started = tokio::time::Instant::now();
            tick().await;
            let took = started.elapsed();
            let pause = took.mul_f64((1.0 - max_duty) / max_duty);
            tokio::time::sleep_until(started + period.max(took + pause)).await;
        }
    })
}

/// Runs `tick` every `period` (a tick that overruns is followed by the next at once).
fn spawn_every<F, Fut>(period: std::time::Duration, tick: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    spawn_paced(period, 1.0, tick)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests and writes");
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::time::Instant;

    /// Starts of the ticks of a paced task whose ticks take `took[i]`.
    async fn tick_starts(period: Duration, duty: f64, took: Vec<Duration>) -> Vec<Duration> {
        let origin = Instant::now();
        let starts = Arc::new(Mutex::new(Vec::new()));
        let n = took.len();
        let task = super::spawn_paced(period, duty, {
            let (starts, took) = (starts.clone(), Arc::new(took));
            move || {
                let (starts, took) = (starts.clone(), took.clone());
                async move {
                    let i = {
                        let mut s = starts.lock().unwrap();
                        s.push(origin.elapsed());
                        s.len() - 1
                    };
                    tokio::time::sleep(took.get(i).copied().unwrap_or_default()).await;
                }
            }
        });
        while starts.lock().unwrap().len() < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        let starts = starts.lock().unwrap().clone();
        starts
    }

    #[tokio::test(start_paused = true)]
    async fn short_ticks_run_every_period_and_long_ones_leave_three_times_their_length() {
        let ms = Duration::from_millis;
        let starts = tick_starts(ms(2000), 0.25, vec![ms(100), ms(100), ms(1000), ms(3000), ms(10)]).await;
        // 100 ms ticks: every 2 s. A 1 s tick: 4 s to the next. A 3 s tick: 12 s.
        assert_eq!(starts, vec![ms(0), ms(2000), ms(4000), ms(8000), ms(20000)]);
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_ticks_run_every_period_and_at_once_after_an_overrun() {
        let ms = Duration::from_millis;
        let starts = tick_starts(ms(2000), 1.0, vec![ms(100), ms(3000), ms(10)]).await;
        assert_eq!(starts, vec![ms(0), ms(2000), ms(5000)]);
    }
}
