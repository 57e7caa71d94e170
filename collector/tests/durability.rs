//! The fault drill: "202 means stored", checked against the real `collector` binary.
//!
//! Each scenario sends single-event beacons at a steady [`RATE`] with unique event ids from a
//! few dozen visitors, while the drill breaks something: the collector is killed with SIGKILL
//! [`KILLS`] times and restarted on the same data directory, or the store is made unavailable for
//! [`OUTAGE`] (the SQLite file locked by another process, or the MongoDB server stopped). At the
//! end every acknowledged (202) event id is looked up in the store: none may be missing, none
//! stored twice, and the sessions must equal those of a clean run (the same events ingested at
//! once into a fresh store). Prints the reliability table the README shows.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use collector::config::{Config, ConfigArgs};
use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use serde_json::json;
use store::{Session, Store};

/// Beacons per second, each one event.
const RATE: u64 = 300;
/// How long each scenario sends.
const LOAD: Duration = Duration::from_secs(8);
/// SIGKILLs per kill scenario, evenly spread over [`LOAD`].
const KILLS: u32 = 3;
/// How long the store is unavailable in the outage scenarios.
const OUTAGE: Duration = Duration::from_secs(3);
/// Distinct visitors (client IPs) of the load.
const VISITORS: u64 = 40;
/// How long a beacon may take before it counts as not acknowledged.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a collector to answer `/healthz`, or to store everything acknowledged.
const PATIENCE: Duration = Duration::from_secs(30);

const PEPPER: &str = "a pepper of at least thirty-two bytes!!";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A child process killed (SIGKILL) when dropped, so that a failing drill leaves none behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The collector binary on a fixed port and data directory, restartable.
struct Collector {
    port: u16,
    data_dir: PathBuf,
    mongodb_uri: Option<String>,
    log: PathBuf,
    process: Option<Process>,
}

impl Collector {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_collector"));
        command
            .args([
                "--trust-proxy",
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .env("COLLECTOR_DATA_DIR", &self.data_dir)
            .env("COLLECTOR_KEY_PEPPER", PEPPER)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        match &self.mongodb_uri {
            Some(uri) => command.env("MONGODB_URI", uri),
            None => command.env_remove("MONGODB_URI"),
        };
        self.process = Some(Process(command.spawn().expect("start the collector binary")));
    }

    /// SIGKILL, and wait until the process is gone.
    fn kill(&mut self) {
        drop(self.process.take());
    }

    async fn wait_ready(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.base())).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the collector did not start:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A counter or gauge from `/metrics` (0 when absent).
    async fn metric(&self, client: &reqwest::Client, name: &str) -> f64 {
        let text = client
            .get(format!("{}/metrics", self.base()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter_map(|l| l.strip_prefix(name))
            .filter_map(|rest| rest.strip_prefix(' ').or_else(|| rest.split_once("} ").map(|(_, v)| v)))
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .sum()
    }

    /// Waits until every event acknowledged so far is stored; returns how long that took.
    async fn drained(&self, client: &reqwest::Client) -> Duration {
        let started = Instant::now();
        while self.metric(client, "collector_ingest_log_events").await > 0.0 {
            assert!(
                started.elapsed() < PATIENCE,
                "acknowledged events were not stored in time:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the load sent and what was acknowledged.
#[derive(Default)]
struct Sent {
    sent: usize,
    acknowledged: HashSet<String>,
}

/// Sends one beacon every `1 / RATE` s for [`LOAD`], each with a fresh event id, without waiting
/// for earlier answers (a real page does not wait for others' beacons either).
async fn load(client: reqwest::Client, base: String, key: String, ids: &'static str) -> Sent {
    let sent = Arc::new(Mutex::new(Sent::default()));
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let mut requests = Vec::new();
    let started = Instant::now();
    let mut n: u64 = 0;
    while started.elapsed() < LOAD {
        tick.tick().await;
        n += 1;
        let id = format!("{ids}-{n}");
        let body = json!({"k": key, "n": "pageview", "u": format!("https://example.com/p{}", n % 7), "id": id});
        let request = client
            .post(format!("{base}/api/event"))
            .header("content-type", "text/plain")
            .header("user-agent", FIREFOX)
            .header("x-forwarded-for", format!("198.51.100.{}", n % VISITORS))
            .timeout(REQUEST_TIMEOUT)
            .body(body.to_string());
        let sent = sent.clone();
        sent.lock().unwrap().sent += 1;
        requests.push(tokio::spawn(async move {
            if let Ok(answer) = request.send().await {
                if answer.status() == 202 {
                    sent.lock().unwrap().acknowledged.insert(id);
                }
            }
        }));
    }
    for r in requests {
        r.await.unwrap();
    }
    Arc::into_inner(sent).unwrap().into_inner().unwrap()
}

/// A scenario's name in the table, and the prefix of its event ids.
#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    ids: &'static str,
}

/// One row of the reliability table.
struct Row {
    scenario: &'static str,
    sent: usize,
    acknowledged: usize,
    stored: usize,
    lost: usize,
    duplicates: usize,
    recover: Duration,
}

/// Sessions with their random ids left out, in a stable order, for comparing two stores.
fn comparable(mut sessions: Vec<Session>) -> Vec<Session> {
    for s in &mut sessions {
        s.id.clear();
    }
    sessions.sort_by_key(|s| (s.visitor_id, s.start));
    sessions
}

/// Checks the store against what was acknowledged, and its sessions against a clean run's.
async fn verify(
    scenario: Scenario,
    sent: &Sent,
    store: &dyn Store,
    clean: &dyn Store,
    project: &ProjectId,
    recover: Duration,
) -> Row {
    let now = collector::now_ms();
    let (from, to) = (now - 3_600_000, now + 3_600_000);
    let events: Vec<EnrichedEvent> = store.events(project, from, to).await.unwrap();
    let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let lost: Vec<&String> = sent
        .acknowledged
        .iter()
        .filter(|id| !ids.contains(id.as_str()))
        .collect();
    let prefix = format!("{}-", scenario.ids);
    let row = Row {
        scenario: scenario.name,
        sent: sent.sent,
        acknowledged: sent.acknowledged.len(),
        // The load's events only (the kill scenario's probes are left out).
        stored: events.iter().filter(|e| e.id.as_str().starts_with(&prefix)).count(),
        lost: lost.len(),
        duplicates: events.len() - ids.len(),
        recover,
    };
    let scenario = scenario.name;
    assert!(lost.is_empty(), "{scenario}: acknowledged but not stored: {lost:?}");
    assert_eq!(row.duplicates, 0, "{scenario}: events stored twice");
    assert!(
        row.acknowledged > sent.sent / 2,
        "{scenario}: too little was acknowledged to mean anything ({} of {})",
        row.acknowledged,
        row.sent
    );

    // The clean run: the same events, ingested once, in one go.
    for chunk in events.chunks(2000) {
        clean.ingest(chunk).await.unwrap();
    }
    let drilled = comparable(store.sessions(project, from, to).await.unwrap());
    let expected = comparable(clean.sessions(project, from, to).await.unwrap());
    assert_eq!(drilled.len(), expected.len(), "{scenario}: session count");
    assert!(drilled == expected, "{scenario}: sessions differ from a clean run's");
    row
}

/// A data directory with an owner, a project and a key in `store`; returns the project and key.
async fn provision(store: &dyn Store) -> (ProjectId, String) {
    let owner = collector::ops::create_user(store, "drill@example.com", "a long enough password")
        .await
        .unwrap();
    let project = collector::ops::create_project(store, &owner, "Drill").await.unwrap();
    let (key, _) = collector::ops::create_key(store, PEPPER, &project, "drill")
        .await
        .unwrap();
    (project.id, key.expose().to_owned())
}

fn config(data_dir: &Path, mongodb_uri: Option<String>) -> Config {
    ConfigArgs {
        data_dir: Some(data_dir.into()),
        mongodb_uri,
        key_pepper: Some(PEPPER.into()),
        ..Default::default()
    }
    .resolve(None)
    .unwrap()
}

/// Kills the collector [`KILLS`] times under load and restarts it at once; the time to recover
/// is the longest from a kill to the first acknowledgement after it.
async fn kill_scenario(scenario: Scenario, mongodb_uri: impl Fn() -> Option<String>) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let store_config = config(dir.path(), mongodb_uri());
    let store = collector::app::open_store(&store_config).await.unwrap();
    let (project, key) = provision(&*store).await;
    let mut collector = Collector {
        port: free_port(),
        data_dir: dir.path().into(),
        mongodb_uri: match &store_config.storage {
            collector::config::StorageConfig::Mongo { uri } => Some(uri.expose().to_owned()),
            _ => None,
        },
        log: dir.path().join("collector.log"),
        process: None,
    };
    let client = reqwest::Client::new();
    collector.spawn();
    collector.wait_ready(&client).await;
    let traffic = tokio::spawn(load(client.clone(), collector.base(), key.clone(), scenario.ids));
    let mut recover = Duration::ZERO;
    for _ in 0..KILLS {
        tokio::time::sleep(LOAD / (KILLS + 1)).await;
        let killed = Instant::now();
        collector.kill();
        collector.spawn();
        // Recovered once a beacon is acknowledged again (the replay of the log runs meanwhile).
        loop {
            let probe = client
                .post(format!("{}/api/event", collector.base()))
                .header("content-type", "text/plain")
                .header("user-agent", FIREFOX)
                .body(json!({"k": key, "n": "probe", "u": "https://example.com/"}).to_string())
                .send()
                .await;
            if probe.is_ok_and(|r| r.status() == 202) {
                break;
            }
            assert!(killed.elapsed() < PATIENCE, "no recovery:\n{}", collector.log_tail());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        recover = recover.max(killed.elapsed());
    }
    let sent = traffic.await.unwrap();
    collector.drained(&client).await;
    collector.kill();
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = collector::app::open_store(&config(clean_dir.path(), mongodb_uri()))
        .await
        .unwrap();
    verify(scenario, &sent, &*store, &*clean, &project, recover).await
}

/// A MongoDB-wire server of the drill's own, on a fixed port and storage folder, so that it can
/// be stopped and started again (the suite's shared server must stay up for the other tests).
struct MongoServer {
    port: u16,
    storage: tempfile::TempDir,
    process: Option<Process>,
}

impl MongoServer {
    fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            storage: tempfile::tempdir().unwrap(),
            process: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new(store_mongo::testing::server_binary())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--storage-path",
            ])
            .arg(self.storage.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the MongoDB-wire server");
        self.process = Some(Process(child));
    }

    /// Stops the server the way an orchestrator does (SIGTERM), and waits for it to exit.
    fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            // SAFETY: a plain syscall on our own child's pid, not yet reaped.
            unsafe {
                libc::kill(p.0.id() as libc::pid_t, libc::SIGTERM);
            }
            let _ = p.0.wait();
        }
    }

    fn uri(&self, db: &str) -> String {
        format!("mongodb://127.0.0.1:{}/{db}?directConnection=true", self.port)
    }
}

/// The store is unavailable for [`OUTAGE`] in the middle of the load (`outage` starts it and
/// returns what ends it); beacons keep being acknowledged into the log meanwhile. The time to
/// recover is from the store's return until everything acknowledged is stored.
async fn outage_scenario<Begin, End>(
    scenario: Scenario,
    data_dir: &Path,
    mongodb_uri: Option<String>,
    clean: Arc<dyn Store>,
    outage: Begin,
) -> Row
where
    Begin: FnOnce() -> End,
    End: FnOnce(),
{
    let store_config = config(data_dir, mongodb_uri.clone());
    let store = collector::app::open_store(&store_config).await.unwrap();
    let (project, key) = provision(&*store).await;
    let mut collector = Collector {
        port: free_port(),
        data_dir: data_dir.into(),
        mongodb_uri,
        log: data_dir.join("collector.log"),
        process: None,
    };
    let client = reqwest::Client::new();
    collector.spawn();
    collector.wait_ready(&client).await;
    let traffic = tokio::spawn(load(client.clone(), collector.base(), key.clone(), scenario.ids));
    tokio::time::sleep((LOAD - OUTAGE) / 2).await;
    let end = outage();
    let accepted = "collector_events_accepted_total";
    let accepted_before = collector.metric(&client, accepted).await;
    tokio::time::sleep(OUTAGE).await;
    let accepted_at_end = collector.metric(&client, accepted).await;
    let waiting = collector.metric(&client, "collector_ingest_log_events").await;
    end();
    let back = Instant::now();
    assert!(
        accepted_at_end - accepted_before > (RATE * OUTAGE.as_secs()) as f64 / 2.0 && waiting > 0.0,
        "{}: beacons are acknowledged into the log while the store is away ({} accepted, {waiting} waiting)",
        scenario.name,
        accepted_at_end - accepted_before,
    );
    // Recovered once everything acknowledged during the outage is stored.
    loop {
        let written = collector.metric(&client, "collector_events_stored_total").await
            + collector.metric(&client, "collector_events_duplicate_total").await;
        if written >= accepted_at_end {
            break;
        }
        assert!(back.elapsed() < PATIENCE, "no recovery:\n{}", collector.log_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recover = back.elapsed();
    let sent = traffic.await.unwrap();
    collector.drained(&client).await;
    collector.kill();
    verify(scenario, &sent, &*store, &*clean, &project, recover).await
}

fn print_table(rows: &[Row]) {
    println!(
        "\n| scenario | events sent | acknowledged (202) | stored | acknowledged but lost | duplicates | time to recover |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} s |",
            r.scenario,
            r.sent,
            r.acknowledged,
            r.stored,
            r.lost,
            r.duplicates,
            r.recover.as_secs_f64()
        );
    }
    println!();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kills_and_store_outages() {
    let mut rows = Vec::new();

    // 1. SQLite, SIGKILL under load.
    let scenario = |name, ids| Scenario { name, ids };
    rows.push(kill_scenario(scenario("SQLite: SIGKILL x3 under load", "sk"), || None).await);

    // 2. SQLite, the store file locked by another process (a backup, a second writer) for a while:
    // the collector's writes wait; beacons are still acknowledged.
    let dir = tempfile::tempdir().unwrap();
    let clean_dir = tempfile::tempdir().unwrap();
    let clean: Arc<dyn Store> = collector::app::open_store(&config(clean_dir.path(), None))
        .await
        .unwrap();
    let file = dir.path().join(store_sqlite::FILE_NAME);
    rows.push(
        outage_scenario(
            scenario("SQLite: store file locked 3 s", "sl"),
            dir.path(),
            None,
            clean,
            || {
                let lock = rusqlite::Connection::open(&file).unwrap();
                lock.busy_timeout(Duration::from_secs(10)).unwrap();
                lock.execute_batch("BEGIN IMMEDIATE").unwrap();
                move || {
                    lock.execute_batch("COMMIT").unwrap();
                }
            },
        )
        .await,
    );

    // 3 and 4: MongoDB, on a server of the drill's own.
    let server = Arc::new(Mutex::new(MongoServer::start()));
    let uri = |db: &str| server.lock().unwrap().uri(db);
    let fresh = || Some(uri(&store_mongo::testing::fresh_db_name()));
    rows.push(kill_scenario(scenario("MongoDB: SIGKILL x3 under load", "mk"), fresh).await);

    let dir = tempfile::tempdir().unwrap();
    let clean: Arc<dyn Store> = Arc::new(
        store_mongo::MongoStore::connect(&uri(&store_mongo::testing::fresh_db_name()), None)
            .await
            .unwrap(),
    );
    let stopping = server.clone();
    rows.push(
        outage_scenario(
            scenario("MongoDB: server stopped 3 s", "ms"),
            dir.path(),
            fresh(),
            clean,
            move || {
                stopping.lock().unwrap().stop();
                move || stopping.lock().unwrap().spawn()
            },
        )
        .await,
    );

    print_table(&rows);
    let by_scenario: BTreeMap<&str, usize> = rows.iter().map(|r| (r.scenario, r.lost + r.duplicates)).collect();
    assert!(by_scenario.values().all(|&n| n == 0), "{by_scenario:?}");
}
