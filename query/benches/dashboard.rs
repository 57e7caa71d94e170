//! The full dashboard over 30 days of realistic traffic, on either store. Prints figures; asserts
//! nothing (timing asserts fail on noisy machines).
//!
//! ```text
//! cargo bench -p query --bench dashboard -- [sqlite|mongodb] [--events 10000000] [--visitors 100000] [--runs 30] [--keep DIR] [--filter FIELD=VALUE]... [--goals] [--no-digests] [--no-mmap]
//! ```
//!
//! `--goals` gives the site four goals (if it has none) and adds the goals panel and a goal's
//! conversion rate to the dashboard; `--no-digests` answers the raw aggregations by SQL (the
//! figures before digests).
//!
//! `--filter country=DE` times the dashboard after a click on that row: every query filtered.
//! The panels no rollup answers then read the SQLite store's digests (`store-sqlite/src/digest.rs`),
//! which the first filtered dashboard reads from the file.
//!
//! `--no-mmap` (SQLite) reads the file without memory mapping, as before the read connections
//! mapped it: an A/B of that setting in one build.
//!
//! `--keep DIR` keeps the loaded data for the next run (loading 10M events takes minutes): the
//! SQLite store lives in DIR, the MongoDB database's name is noted there (point
//! `METRICS_TEST_MONGODB_URI` at a server that outlives the bench), and a later run with the same
//! DIR skips steps 1 and 2. On a later day, the queries run as if on the day the data was loaded
//! (their "30d" is relative to the clock they are parsed with), so the figures stay comparable.
//!
//! 1. generates `--events` events over 30 days for `--visitors` visitors (`query::dataset`) and
//!    loads them through `Store::ingest` in batches of 100, as the collector's writer does;
//! 2. rebuilds the rollups as the collector's worker does;
//! 3. runs the dashboard (summary with comparison, daily timeline, top pages, sources, browsers,
//!    OS, devices, countries, heatmap) once with cold caches, then `--runs` times in
//!    Europe/Berlin and prints p50/p99;
//! 4. runs the same dashboard as naive raw aggregations over the events (a few times) and prints
//!    the ratio; prints the store's size on disk per million events.

mod common;

use std::time::Instant;

use contract::ids::ProjectId;
use query::engine::{self, EngineOptions};
use serde_json::{json, Value};
use store::Store;

use common::{arg, dataset, percentile};

/// The dashboard's queries, all with `filters` (a click on a row adds one); with `goals`, also
/// the goals panel and the events panel's conversion rate for a chosen goal.
fn dashboard(project: &ProjectId, filters: &Value, goals: bool) -> Vec<Value> {
    let p = project.to_string();
    let base = |extra: Value| {
        let mut q = json!({"project_id": p, "date_range": "30d", "timezone": "Europe/Berlin", "filters": filters});
        q.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        q
    };
    let top = |dim: &str| {
        base(json!({"metrics": ["visitors", "pageviews", "bounce_rate"], "dimensions": [dim], "limit": 10}))
    };
    vec![
        base(
            json!({"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"],
            "compare": "previous_period"}),
        ),
        base(json!({"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]})),
        top("page"),
        top("source"),
        top("browser"),
        top("os"),
        top("device"),
        top("country"),
        base(json!({"metrics": ["visitors"], "dimensions": ["heatmap"]})),
    ]
    .into_iter()
    .chain(goals.then(|| {
        [
            base(json!({"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["goal"], "limit": 100})),
            base(json!({"metrics": ["visitors", "conversion_rate"], "goal": "signup"})),
        ]
    }).into_iter().flatten())
    .collect()
}

/// The project's row, which the generated file lacks (its events need none) and goals need: owned
/// by `bench-owner@example.com`, who cannot sign in (the browser benchmark adds its own owner).
async fn ensure_project_row(store: &dyn Store, project: &ProjectId, now: i64) {
    if store.project(project).await.expect("project").is_some() {
        return;
    }
    let email = store::Email::parse("bench-owner@example.com").expect("an email");
    let owner = match store.user_by_email(&email).await.expect("user") {
        Some(user) => user.id,
        None => {
            let user = store::User {
                id: store::UserId::new(now),
                email,
                // Not a PHC string: no password signs in.
                password_hash: "!".to_owned(),
                created_at: now,
            };
            store.create_user(&user).await.expect("create the bench owner");
            user.id
        }
    };
    let row = store::Project {
        id: *project,
        owner,
        name: store::Name::parse("Bench site").expect("a name"),
        domain: None,
        timezone: store::TimeZoneName::utc(),
        created_at: now,
    };
    store.create_project(&row).await.expect("create the project row");
}

/// The goals `--goals` gives the site when it has none: events and pages of the generator's
/// traffic, one pattern with a wildcard.
async fn ensure_goals(store: &dyn Store, project: &ProjectId, now: i64) {
    if !store.goals_of(project).await.expect("goals").is_empty() {
        return;
    }
    ensure_project_row(store, project, now).await;
    let kinds = [
        store::GoalKind::event("signup"),
        store::GoalKind::event("signup_click"),
        store::GoalKind::page("/pricing"),
        store::GoalKind::page("/docs/*"),
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let goal = store::Goal {
            id: store::GoalId::new(now + i as i64),
            project: *project,
            kind: kind.expect("a valid goal"),
            created_at: now + i as i64,
        };
        store.create_goal(&goal).await.expect("create goal");
    }
}

async fn run_dashboard(
    store: &dyn Store,
    sqlite: Option<&store_sqlite::SqliteStore>,
    queries: &[query::Query],
    opts: &EngineOptions,
) -> f64 {
    if let Some(sqlite) = sqlite {
        // Each run counts: the store's memo of recent answers would serve a repeated query.
        sqlite.forget_digest_answers();
    }
    let started = Instant::now();
    for q in queries {
        // A query past the store's time budget (a filtered panel at millions of events) is
        // reported and timed as it failed, not fatal: the figures say which one it was.
        match engine::run(store, q, opts).await {
            Ok(r) => {
                std::hint::black_box(r);
            }
            Err(e) => println!("  error: {e}"),
        }
    }
    started.elapsed().as_secs_f64() * 1000.0
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = arg(&args, "--runs", 30) as usize;
    let data = dataset("dashboard", &args, 10_000_000, 100_000).await;
    let (store, project, stored, now) = (data.store.clone(), data.project, data.stored, data.now);

    // `--filter country=DE`: the dashboard after a click on that row (repeatable: all hold).
    let filters: Vec<Value> = args
        .windows(2)
        .filter(|w| w[0] == "--filter")
        .map(|w| {
            let (field, value) = w[1].split_once('=').expect("--filter FIELD=VALUE");
            json!(["is", field, [value]])
        })
        .collect();
    let filters = Value::Array(filters);
    if filters.as_array().is_some_and(|f| !f.is_empty()) {
        println!("filters: {filters}");
    }
    if let (Some(sqlite), true) = (&data.sqlite, args.iter().any(|a| a == "--no-digests")) {
        sqlite.set_digests(false);
    }
    // `--goals`: the site has goals, and the dashboard shows them.
    let goals = args.iter().any(|a| a == "--goals");
    if goals {
        ensure_goals(&*store, &project, now).await;
    }
    let queries: Vec<query::Query> = dashboard(&project, &filters, goals)
        .iter()
        .map(|b| query::parse_query(b, now).expect("valid query"))
        .collect();
    let opts = EngineOptions::default();
    // The first run finds the store's caches empty (the MongoDB store's rollup cache, SQLite's
    // page cache): what an owner opening the dashboard first after a restart waits.
    let cold = run_dashboard(&*store, data.sqlite.as_deref(), &queries, &opts).await;
    println!("first dashboard (cold caches): {cold:.1} ms");
    if let Some(sqlite) = &data.sqlite {
        // Hours the first run read from the rows are written to `hour_digests` (the store does
        // it on a thread of its own; done here to time it), and read back after a restart: run
        // the benchmark twice on a kept file to see both.
        let (read, loaded) = (sqlite.digest_hours_read(), sqlite.digest_hours_loaded());
        let started = Instant::now();
        sqlite.write_digests().expect("write digests");
        println!(
            "  digest hours: {read} read from the rows, {loaded} read back from hour_digests; writing took {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let mut times: Vec<f64> = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(run_dashboard(&*store, data.sqlite.as_deref(), &queries, &opts).await);
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "full dashboard ({} queries, 30 days, Europe/Berlin) x{runs}: p50 {p50:.1} ms, p99 {p99:.1} ms (targets 100 / 250)",
        queries.len()
    );

    // Each query alone, to see where the time goes.
    let bodies = dashboard(&project, &filters, goals);
    for (q, body) in queries.iter().zip(&bodies) {
        let mut times = Vec::new();
        for _ in 0..runs.clamp(1, 10) {
            times.push(run_dashboard(&*store, data.sqlite.as_deref(), std::slice::from_ref(q), &opts).await);
        }
        times.sort_by(f64::total_cmp);
        let mut what = body.clone();
        if let Some(o) = what.as_object_mut() {
            o.remove("project_id");
            o.remove("date_range");
            o.remove("timezone");
            o.remove("filters");
        }
        println!("  p50 {:6.1} ms  {what}", percentile(&times, 0.5));
    }

    if let Some(sqlite) = &data.sqlite {
        println!(
            "digests held in memory: {:.1} MiB",
            sqlite.digest_bytes() as f64 / 1048576.0
        );
    }

    // Raw aggregations read every event: a single run at millions of events says enough.
    // `--no-naive` skips it (when profiling the rollup path).
    let naive_runs = if args.iter().any(|a| a == "--no-naive") {
        0
    } else if stored > 2_000_000 {
        1
    } else {
        3
    };
    let raw = EngineOptions {
        force_raw: true,
        ..EngineOptions::default()
    };
    let mut naive: Vec<f64> = Vec::new();
    // The baseline is SQL over the stored events, not the SQLite store's in-memory digests.
    if let Some(sqlite) = &data.sqlite {
        sqlite.set_digests(false);
    }
    for _ in 0..naive_runs {
        naive.push(run_dashboard(&*store, data.sqlite.as_deref(), &queries, &raw).await);
    }
    naive.sort_by(f64::total_cmp);
    if !naive.is_empty() {
        let naive_p50 = percentile(&naive, 0.5);
        println!(
            "naive dashboard (raw aggregations over the events) x{naive_runs}: p50 {naive_p50:.0} ms = {:.0}x the rollups",
            naive_p50 / p50
        );
    }

    let bytes = match &data.mongo {
        Some(db) => {
            let stats = db
                .run_command(mongodb::bson::doc! {"dbStats": 1})
                .await
                .expect("dbStats");
            let n = |k: &str| {
                stats
                    .get(k)
                    .and_then(|v| {
                        v.as_f64()
                            .or(v.as_i64().map(|x| x as f64))
                            .or(v.as_i32().map(f64::from))
                    })
                    .unwrap_or(0.0)
            };
            (n("storageSize") + n("indexSize")) as u64
        }
        None => dir_size(&data.dir),
    };
    println!(
        "disk: {:.1} MiB in all, {:.1} MiB per million events",
        bytes as f64 / 1048576.0,
        bytes as f64 / 1048576.0 / (stored as f64 / 1e6)
    );
}
