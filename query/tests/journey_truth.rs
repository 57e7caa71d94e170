//! Journeys and the session explorer against the brute force, on both stores, over the seeded
//! dataset (`query::dataset`, whatever shapes it generates) plus visits written here for the
//! shapes journeys care about: reloads, custom events between pages, a wildcard start matched
//! late in a visit, events sharing a millisecond. Requests go through the same parsers as the
//! HTTP API; the stores' answers must equal `store::analytics::journeys::journeys` and
//! `store::analytics::explorer::session_list` exactly, and each other.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use query::dataset::{generate, Shape};
use query::journeys::{parse_journeys, parse_session_list};
use serde_json::json;
use store::analytics::explorer::{session_events, session_list, SessionCursor};
use store::analytics::journeys::journeys;
use store::{Millis, Store};

/// 2026-03-26T00:00:00Z.
const T0: Millis = 1_774_483_200_000;
const NOW: Millis = T0 + 6 * 86_400_000;
const MIN: Millis = 60_000;

fn project() -> ProjectId {
    ProjectId::parse("65f0a1b2c3d4e5f601234567").unwrap()
}

fn dataset() -> Vec<EnrichedEvent> {
    let shape = Shape {
        project: project(),
        seed: 11,
        start: T0,
        days: 5,
        visitors: 150,
        visits_per_visitor: 2.5,
        pages: 20,
    };
    let mut all = Vec::new();
    generate(&shape, 1000, |b| all.extend(b));
    let template = all[0].clone();
    let mut n = 0;
    let mut add = |visitor: u64, name: &str, at: Millis, path: &str| {
        n += 1;
        let mut e = template.clone();
        e.id = contract::ids::EventId::parse(&format!("journey-{n}")).unwrap();
        e.name = name.to_owned();
        (e.occurred_at, e.received_at) = (at, at);
        e.path = path.to_owned();
        e.props.clear();
        e.visitor_id = contract::enrich::VisitorId(visitor);
        (e.duration_ms, e.scroll_depth) = (None, None);
        all.push(e);
    };
    for v in 0..12u64 {
        let start = T0 + (v as i64 % 4) * 86_400_000 + 10 * 3_600_000 + v as i64 * MIN;
        let visitor = 7_000 + v;
        add(visitor, "pageview", start, "/");
        add(visitor, "page_exit", start + MIN, "/");
        add(visitor, "pageview", start + MIN, "/"); // a reload
        if v % 3 != 0 {
            add(visitor, "path_change", start + 2 * MIN, "/pricing");
            add(visitor, "signup", start + 2 * MIN, "/pricing"); // same millisecond
        }
        if v % 2 == 0 {
            add(visitor, "path_change", start + 3 * MIN, "/docs/start");
            add(visitor, "path_change", start + 4 * MIN, "/docs/api");
        }
        add(visitor, "purchase", start + 5 * MIN, "/");
    }
    all
}

async fn stores() -> (Vec<(&'static str, Arc<dyn Store>)>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(store_sqlite::SqliteStore::open_in(dir.path()).unwrap());
    let mongo: Arc<dyn Store> = Arc::new(store_mongo::testing::TestServer::shared().fresh_store().await);
    (vec![("sqlite", sqlite), ("mongodb", mongo)], dir)
}

fn journey_requests() -> Vec<serde_json::Value> {
    let p = project().to_string();
    let range = json!(["2026-03-26", "2026-03-30"]);
    let mut out = Vec::new();
    for depth in 1..=6 {
        out.push(json!({"project_id": p, "date_range": range, "depth": depth}));
    }
    for start in ["/", "/docs/*", "/pricing", "/*s*"] {
        out.push(json!({"project_id": p, "date_range": range, "depth": 4, "start": start, "limit": 5}));
    }
    out.push(json!({"project_id": p, "date_range": range, "limit": 50, "depth": 5}));
    out.push(json!({"project_id": p, "date_range": ["2026-03-27", "2026-03-27"], "timezone": "Europe/Berlin"}));
    out.push(json!({"project_id": p, "date_range": range, "filters": [["is_not", "country", ["US"]]]}));
    out.push(json!({"project_id": p, "date_range": range, "filters": [["contains", "source", ["o"]]], "start": "/*"}));
    out.push(json!({"project_id": p, "date_range": range, "filters": [["is", "page", ["/"]]], "depth": 6, "limit": 3}));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_and_sessions_match_the_brute_force_on_both_stores() {
    let events = dataset();
    let sessions = common::sessions_of(&events);
    let (stores, _dir) = stores().await;
    for (_, s) in &stores {
        for batch in events.chunks(500) {
            s.ingest(batch).await.unwrap();
        }
    }

    let mut with_links = 0;
    for body in journey_requests() {
        let request = parse_journeys(&body, NOW).unwrap();
        let want = journeys(&request.query, &events, &sessions);
        with_links += usize::from(!want.links.is_empty());
        for (name, s) in &stores {
            let got = s.journeys(&request.query).await.unwrap();
            assert_eq!(got, want, "{name}: {body}");
        }
    }
    assert!(with_links >= 10, "the requests mostly have journeys ({with_links})");

    // The session list: each store's own sessions (ids are minted at ingest), paged to the end.
    let params = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let lists = [
        params(&[("date_range", "2026-03-26,2026-03-30"), ("limit", "40")]),
        params(&[
            ("date_range", "2026-03-26,2026-03-30"),
            ("min_pageviews", "2"),
            ("max_duration_ms", "600000"),
        ]),
        params(&[
            ("date_range", "2026-03-27,2026-03-28"),
            ("timezone", "Europe/Berlin"),
            ("filters", r#"[["is_not","device",["mobile"]]]"#),
            ("limit", "7"),
        ]),
    ];
    for (name, s) in &stores {
        let stored = s.sessions(&project(), 0, NOW).await.unwrap();
        for p in &lists {
            let mut q = parse_session_list(project(), p, NOW).unwrap().query;
            let mut pages = 0;
            loop {
                let got = s.session_list(&q).await.unwrap();
                assert_eq!(got, session_list(&q, &stored), "{name}: {p:?} page {pages}");
                pages += 1;
                match got.last() {
                    Some(last) if got.len() == q.limit => q.after = SessionCursor::after(last),
                    _ => break,
                }
            }
            assert!(pages > 1, "{name}: {p:?} has several pages");
        }
        // Every session's events, in order.
        for session in stored.iter().step_by(7) {
            let got = s.session_events(session, 1000).await.unwrap();
            assert_eq!(got, session_events(session, &events, 1000), "{name}: {}", session.id);
        }
    }
}
