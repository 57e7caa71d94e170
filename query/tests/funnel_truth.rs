//! Funnels against the brute force (`store::analytics::funnel::brute_force`), on both stores.
//!
//! The seeded generator's traffic holds the sign-up flow (`/` -> `/pricing` -> `/signup` ->
//! `signup`) with drop-offs, visits out of order, steps repeated and flows paused into a second
//! session; it is ingested in shuffled batches into SQLite and MongoDB. Each funnel request is
//! parsed as the API parses it (`query::funnel::parse_funnel`), computed by each store, and must
//! equal the brute force exactly, counts and medians; the rendered answers of the two stores must
//! be identical.

mod common;

use std::sync::Arc;

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use query::dataset::{generate, Shape, SIGNUP_FLOW};
use query::funnel::{funnel_result, parse_funnel};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};
use store::analytics::funnel::{brute_force, FunnelQuery, FunnelSteps};
use store::sessions::Session;
use store::{Millis, Store};

/// 2026-03-26T00:00:00Z.
const T0: Millis = 1_774_483_200_000;
const DAY: Millis = 86_400_000;
const NOW: Millis = T0 + 8 * DAY;

fn project() -> ProjectId {
    ProjectId::parse("65f0a1b2c3d4e5f601234568").unwrap()
}

fn dataset() -> Vec<EnrichedEvent> {
    let shape = Shape {
        project: project(),
        seed: 13,
        start: T0,
        days: 7,
        visitors: 400,
        visits_per_visitor: 2.0,
        pages: 25,
    };
    let mut all = Vec::new();
    generate(&shape, 1000, |b| all.extend(b));
    all
}

async fn load(store: &dyn Store, events: &[EnrichedEvent]) {
    let mut shuffled = events.to_vec();
    shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(17));
    for chunk in shuffled.chunks(211) {
        store.ingest(chunk).await.unwrap();
    }
}

/// The funnel requests, as API bodies.
fn requests() -> Vec<Value> {
    let p = project().to_string();
    let flow = json!([{"page": "/"}, {"page": "/pricing"}, {"page": "/signup"}, {"event": "signup"}]);
    let week = json!(["2026-03-26", "2026-04-01"]);
    vec![
        json!({"project_id": p, "date_range": week, "steps": flow}),
        json!({"project_id": p, "date_range": ["2026-03-27", "2026-03-28"], "steps": flow}),
        json!({"project_id": p, "date_range": week, "timezone": "America/New_York", "steps": flow}),
        json!({"project_id": p, "date_range": week, "steps": [{"page": "/pricing"}, {"page": "/"}]}),
        json!({"project_id": p, "date_range": week, "steps": [{"page": "/pricing"}, {"page": "/pricing"}]}),
        json!({"project_id": p, "date_range": week,
            "steps": [{"page": "/blog*"}, {"page": "/docs*"}, {"event": "signup_click"}, {"page": "/*"}]}),
        json!({"project_id": p, "date_range": week, "filters": [["is", "country", ["US", "DE"]],
            ["is_not", "device", ["mobile"]]], "steps": flow}),
        json!({"project_id": p, "date_range": week, "filters": [["contains", "source", ["oo"]]],
            "steps": [{"page": "/*"}, {"page": "/*"}, {"page": "/*"}, {"page": "/*"}, {"page": "/*"},
                {"page": "/*"}, {"page": "/*"}, {"page": "/*"}]}),
    ]
}

fn store_query(body: &Value) -> (FunnelQuery, Vec<String>, query::funnel::FunnelRequest) {
    let request = parse_funnel(body, NOW).expect("a valid request");
    let (steps, labels) = query::funnel::resolve_steps(&request.steps, &[], "steps").expect("no goal steps here");
    let q = FunnelQuery {
        project: request.project,
        from: request.range.from,
        to: request.range.to,
        filters: request.filters.clone(),
        steps: FunnelSteps::new(steps).unwrap(),
    };
    (q, labels, request)
}

async fn answers(store: &dyn Store, events: &[EnrichedEvent], sessions: &[Session]) -> Vec<Value> {
    let mut out = Vec::new();
    for body in requests() {
        let (q, labels, request) = store_query(&body);
        let want = brute_force(&q, events, sessions);
        let got = store.funnel(&q).await.unwrap();
        assert_eq!(got, want, "{} on {body}", store.backend_name());
        out.push(serde_json::to_value(funnel_result(&got, &labels, &request.range, request.timezone)).unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_match_the_brute_force_and_each_other() {
    let events = dataset();
    let sessions = common::sessions_of(&events);
    // The traffic has the shapes the funnels are about.
    let (flow, _, _) = store_query(&requests()[0]);
    let truth = brute_force(&flow, &events, &sessions);
    let visitors: Vec<u64> = truth.steps.iter().map(|s| s.visitors).collect();
    assert!(
        visitors.windows(2).all(|w| w[0] > w[1]) && visitors[3] > 0,
        "drop-offs at each step of the flow: {visitors:?}"
    );
    let (backwards, _, _) = store_query(&requests()[3]);
    assert!(
        brute_force(&backwards, &events, &sessions).steps[1].visitors > 0,
        "visits out of order"
    );
    let (again, _, _) = store_query(&requests()[4]);
    assert!(
        brute_force(&again, &events, &sessions).steps[1].visitors > 0,
        "steps repeated"
    );
    let split_flow = sessions
        .iter()
        .any(|s| s.entry_page == SIGNUP_FLOW[1] || s.entry_page == SIGNUP_FLOW[2]);
    assert!(split_flow, "flows going on in a second session");

    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(store_sqlite::SqliteStore::open_in(dir.path()).unwrap());
    load(&*sqlite, &events).await;
    let on_sqlite = answers(&*sqlite, &events, &sessions).await;

    let server = store_mongo::testing::TestServer::shared();
    let mongo: Arc<dyn Store> = Arc::new(
        store_mongo::MongoStore::connect(server.uri(), Some(&store_mongo::testing::fresh_db_name()))
            .await
            .unwrap(),
    );
    load(&*mongo, &events).await;
    let on_mongo = answers(&*mongo, &events, &sessions).await;
    assert_eq!(on_sqlite, on_mongo, "SQLite and MongoDB answer alike");
}
