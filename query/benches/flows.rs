//! How visitors move, over 30 days of realistic traffic, on either store: a list of named cases
//! (a 4-step funnel, depth-4 journeys, the session explorer's first page and one session), each timed `--runs` times after one cold run. Prints p50/p90;
//! asserts nothing (timing asserts fail on noisy machines).
//!
//! ```text
//! cargo bench -p query --bench flows -- [sqlite|mongodb] [--events 1000000] [--visitors 50000] [--runs 10] [--keep DIR] [--no-mmap]
//! ```
//!
//! The data is the dashboard benchmark's (`benches/dashboard.rs`: the same generator, seed and
//! shape, loaded through `Store::ingest` in batches of 100, rollups rebuilt), and `--keep DIR`
//! keeps it the same way (the same notes file), so either benchmark reuses a directory the other
//! loaded. Queries run as if on the day the data was loaded.
//!
//! `--no-mmap` (SQLite) reads the file without memory mapping, as before the read connections
//! mapped it: an A/B of that setting in one build.
//!
//! A case is a name and a function that runs one request against the store; add yours to
//! [`cases`].

mod common;

use std::sync::Arc;
use std::time::Instant;

use contract::ids::ProjectId;
use futures_util::future::BoxFuture;
use query::funnel::parse_funnel;
use serde_json::{json, Value};
use store::analytics::funnel::{FunnelQuery, FunnelSteps};
use store::{Millis, Store};

use common::{arg, dataset, percentile};

/// Runs one request against the store, given the project and "now".
type RunCase = fn(Arc<dyn Store>, ProjectId, Millis) -> BoxFuture<'static, store::Result<()>>;

/// One measured request: what it runs, given the store, the project and "now".
struct Case {
    name: &'static str,
    run: RunCase,
}

/// The cases, in the order they run.
fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "funnel: 4 steps (/ -> /pricing -> /signup -> signup), 30 days",
            run: |store, project, now| Box::pin(funnel_4_steps(store, project, now)),
        },
        Case {
            name: "journeys: depth 4 from the entry page, 30 days",
            run: |store, project, now| {
                Box::pin(journeys(store, project, now, json!({"date_range": "30d", "depth": 4})))
            },
        },
        Case {
            name: "journeys: depth 4 from /, desktop only, 30 days",
            run: |store, project, now| {
                Box::pin(journeys(
                    store,
                    project,
                    now,
                    json!({"date_range": "30d", "depth": 4, "start": "/", "filters": [["is", "device", ["desktop"]]]}),
                ))
            },
        },
        Case {
            name: "sessions: first page (25), 30 days",
            run: |store, project, now| Box::pin(sessions_page(store, project, now, &[])),
        },
        Case {
            name: "sessions: first page, country DE, >= 2 page views",
            run: |store, project, now| {
                Box::pin(sessions_page(
                    store,
                    project,
                    now,
                    &[("filters", r#"[["is","country",["DE"]]]"#), ("min_pageviews", "2")],
                ))
            },
        },
        Case {
            name: "sessions: the newest session and its events",
            run: |store, project, now| Box::pin(one_session(store, project, now)),
        },
    ]
}

async fn journeys(store: Arc<dyn Store>, project: ProjectId, now: Millis, mut body: Value) -> store::Result<()> {
    body["project_id"] = json!(project.to_string());
    let q = query::journeys::parse_journeys(&body, now)
        .expect("a valid journeys request")
        .query;
    std::hint::black_box(store.journeys(&q).await?);
    Ok(())
}

fn session_list(
    project: ProjectId,
    now: Millis,
    extra: &[(&str, &str)],
) -> store::analytics::explorer::SessionListQuery {
    let params = [("date_range", "30d")]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    query::journeys::parse_session_list(project, &params, now)
        .expect("a valid sessions request")
        .query
}

async fn sessions_page(
    store: Arc<dyn Store>,
    project: ProjectId,
    now: Millis,
    extra: &[(&str, &str)],
) -> store::Result<()> {
    let q = session_list(project, now, extra);
    std::hint::black_box(store.session_list(&q).await?);
    Ok(())
}

async fn one_session(store: Arc<dyn Store>, project: ProjectId, now: Millis) -> store::Result<()> {
    let q = session_list(project, now, &[]);
    let newest = store.session_list(&q).await?;
    let Some(s) = newest.first() else { return Ok(()) };
    let id = store::analytics::explorer::SessionId::parse(&s.id).expect("an id");
    let session = store
        .session(&project, &id)
        .await
        .expect("session")
        .expect("the session");
    std::hint::black_box(store.session_events(&session, 1000).await?);
    Ok(())
}

async fn funnel_4_steps(store: Arc<dyn Store>, project: ProjectId, now: Millis) -> store::Result<()> {
    let body = json!({"project_id": project.to_string(), "date_range": "30d", "timezone": "Europe/Berlin",
        "steps": [{"page": "/"}, {"page": "/pricing"}, {"page": "/signup"}, {"event": "signup"}]});
    let request = parse_funnel(&body, now).expect("a valid funnel");
    let (steps, _) = query::funnel::resolve_steps(&request.steps, &[], "steps").expect("no goal step");
    let q = FunnelQuery {
        project,
        from: request.range.from,
        to: request.range.to,
        filters: request.filters,
        steps: FunnelSteps::new(steps).expect("4 steps"),
    };
    let counts = store.funnel(&q).await?;
    std::hint::black_box(counts);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = (arg(&args, "--runs", 10) as usize).max(1);
    let data = dataset("flows", &args, 1_000_000, 50_000).await;
    let (store, project, stored, now) = (data.store.clone(), data.project, data.stored, data.now);
    println!("{stored} events stored; each case once cold, then x{runs}");
    for case in cases() {
        // A query past the stores' time budget is cancelled: say so instead of timing it.
        let started = Instant::now();
        if let Err(e) = (case.run)(store.clone(), project, now).await {
            println!("  {}: {e}", case.name);
            continue;
        }
        let cold = started.elapsed().as_secs_f64() * 1000.0;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            (case.run)(store.clone(), project, now).await.expect("ran once already");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {}: cold {cold:.0} ms, p50 {:.0} ms, p90 {:.0} ms",
            case.name,
            percentile(&times, 0.5),
            percentile(&times, 0.9)
        );
    }
}
