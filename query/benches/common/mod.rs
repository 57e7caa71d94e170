//! What the query benchmarks share: their arguments, the dataset they load (and keep, so each
//! reuses a directory the other loaded) and their percentiles.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use contract::ids::ProjectId;
use query::dataset::{generate, Shape};
use query::engine;
use serde_json::{json, Value};
use store::Store;

pub const DAY_MS: i64 = 86_400_000;
/// Events per visit in the generator, measured (page view, exits, path changes, custom events).
pub const EVENTS_PER_VISIT: f64 = 6.4;
/// The notes a kept directory holds (which backend, project, first day and events).
pub const KEPT: &str = "bench-notes.json";

pub fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Generates and ingests the events (the dashboard benchmark's steps 1 and 2), then rebuilds the
/// rollups. Returns how many events were stored. Events after `now` are dropped, as a site
/// cannot send them yet: a file with hours in the future would keep them unsettled (their
/// digests never kept) and make every start after it slower than a real site's.
pub async fn load(
    store: &Arc<dyn Store>,
    project: ProjectId,
    now: i64,
    start: i64,
    days: u32,
    events_target: u64,
    visitors: u32,
) -> u64 {
    let shape = Shape {
        project,
        seed: 42,
        start,
        days,
        visitors,
        visits_per_visitor: events_target as f64 / EVENTS_PER_VISIT / f64::from(visitors),
        pages: 500,
    };

    // Load through Store::ingest, batches of 100, one in flight per worker (the writer's shape).
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<contract::enriched::EnrichedEvent>>(64);
    let loader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Some(batch) = rx.recv().await {
                n += store.ingest(&batch).await.expect("ingest").stored as u64;
            }
            n
        })
    };
    let generated = tokio::task::spawn_blocking(move || {
        generate(&shape, 100, |mut b| {
            b.retain(|e| e.occurred_at <= now);
            if !b.is_empty() {
                tx.blocking_send(b).expect("send")
            }
        })
    })
    .await
    .unwrap();
    let stored = loader.await.unwrap();
    let load_s = started.elapsed().as_secs_f64();
    println!(
        "load: {generated} events generated, {stored} stored in {load_s:.1} s ({:.0} events/s)",
        stored as f64 / load_s
    );
    let started = Instant::now();
    let mut hours = 0;
    loop {
        let n = engine::rebuild_dirty(&**store, 64, i64::MIN).await.expect("rollups");
        hours += n;
        if n == 0 {
            break;
        }
    }
    println!(
        "rollups: {hours} hours rebuilt in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    stored
}

/// A benchmark's data: loaded now, or kept from an earlier run (`--keep DIR`).
pub struct Dataset {
    pub store: Arc<dyn Store>,
    pub project: ProjectId,
    /// Events stored.
    pub stored: u64,
    /// "Now" for the queries: the same time of day, on the last day of the data.
    pub now: i64,
    /// Where the SQLite file is (the MongoDB store keeps nothing here).
    #[allow(
        dead_code,
        reason = "the dashboard benchmark measures the data's size; flows does not"
    )]
    pub dir: PathBuf,
    /// The SQLite store, to switch its digests off for the raw baseline.
    #[allow(dead_code, reason = "the dashboard benchmark's baseline uses it; flows does not")]
    pub sqlite: Option<Arc<store_sqlite::SqliteStore>>,
    /// The MongoDB store's database, to measure its size.
    #[allow(
        dead_code,
        reason = "the dashboard benchmark measures the data's size; flows does not"
    )]
    pub mongo: Option<mongodb::Database>,
    /// The temporary folder without `--keep`, deleted when the benchmark ends.
    _tmp: tempfile::TempDir,
}

/// Opens the store the arguments name (`sqlite`, the default, or `mongodb`) and loads 30 days of
/// `--events` events from `--visitors` visitors into it, unless `--keep DIR` holds data an
/// earlier run of either benchmark loaded on the same backend.
pub async fn dataset(bench: &str, args: &[String], events: u64, visitors: u64) -> Dataset {
    let backend = args
        .iter()
        .skip(1)
        .find(|a| matches!(a.as_str(), "sqlite" | "mongodb"))
        .cloned()
        .unwrap_or_else(|| "sqlite".to_owned());
    let events_target = arg(args, "--events", events);
    let visitors = arg(args, "--visitors", visitors) as u32;
    let days = 30;
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = keep.clone().unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).expect("data dir");
    let kept: Option<Value> = std::fs::read(dir.join(KEPT))
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("the kept bench's notes"))
        .filter(|k: &Value| k["backend"] == backend.as_str());
    let mut sqlite = None;
    let (store, mongo): (Arc<dyn Store>, Option<mongodb::Database>) = match backend.as_str() {
        "mongodb" => {
            let server = store_mongo::testing::TestServer::shared();
            let db = kept
                .as_ref()
                .and_then(|k| k["db"].as_str().map(str::to_owned))
                .unwrap_or_else(store_mongo::testing::fresh_db_name);
            let s = store_mongo::MongoStore::connect(server.uri(), Some(&db))
                .await
                .expect("connect");
            let database = s.database().clone();
            (Arc::new(s), Some(database))
        }
        _ => {
            if args.iter().any(|a| a == "--no-mmap") {
                no_sqlite_mmap();
            }
            let s = Arc::new(store_sqlite::SqliteStore::open_in(&dir).expect("open"));
            sqlite = Some(s.clone());
            (s, None)
        }
    };

    // The 30 days up to today (UTC), so "30d" covers them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = (now / DAY_MS - days as i64 + 1) * DAY_MS;
    println!("{bench} bench on {backend}: ~{events_target} events, {visitors} visitors, {days} days");
    let (project, stored, now) = match kept {
        Some(k) => {
            let project = ProjectId::parse(k["project"].as_str().unwrap()).expect("kept project");
            let stored = k["stored"].as_u64().unwrap();
            let kept_start = k["start"].as_i64().expect("the kept data's first day");
            println!("load: kept from an earlier run in {} ({stored} events)", dir.display());
            (project, stored, now - start + kept_start)
        }
        None => {
            let project = store::ids::new_project_id(now);
            let stored = load(&store, project, now, start, days, events_target, visitors).await;
            if keep.is_some() {
                let db = mongo.as_ref().map(|d| d.name().to_owned());
                let notes = json!({"backend": backend, "project": project.to_string(), "start": start,
                    "stored": stored, "db": db});
                std::fs::write(dir.join(KEPT), notes.to_string()).expect("writing the notes");
            }
            (project, stored, now)
        }
    };
    Dataset {
        store,
        project,
        stored,
        now,
        dir,
        mongo,
        sqlite,
        _tmp: tmp,
    }
}

/// `--no-mmap`: the SQLite store reads its file with `pread` only, as before its read connections
/// mapped it (`store_sqlite`'s `READ_MMAP_BYTES`), for an A/B in one build. SQLite's process-wide
/// ceiling on memory-mapped I/O, set to 0 before any connection opens, clamps every connection's
/// `PRAGMA mmap_size` to 0.
fn no_sqlite_mmap() {
    // SAFETY: SQLITE_CONFIG_MMAP_SIZE takes two sqlite3_int64 (default, ceiling), and
    // sqlite3_config is called before SQLite is initialised (no connection exists yet), where it is
    // allowed; the assert checks that it was.
    let rc = unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MMAP_SIZE, 0_i64, 0_i64) };
    assert_eq!(
        rc,
        rusqlite::ffi::SQLITE_OK,
        "--no-mmap must come before any SQLite connection"
    );
    println!("--no-mmap: SQLite reads without memory mapping");
}
