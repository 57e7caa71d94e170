//! `POST /api/v1/journeys` and the session explorer through the real router and store: answers
//! of known traffic, paging, the session detail, 400s naming the field, 404s for others'
//! projects and sessions, and no visitor id or address anywhere.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use contract::enriched::EnrichedEvent;
use serde_json::{json, Value};
use store::sessions::testing::event;

const MIN: i64 = 60_000;

/// Three visitors today: / -> /pricing -> signup, / -> /docs (reloaded), /pricing alone.
async fn with_traffic() -> TestApp {
    let app = TestApp::new().await;
    let p = app.project();
    let t0 = collector::now_ms() - 60 * MIN;
    let mut n = 0;
    let mut ev = |v: u64, name: &str, at: i64, path: &str| -> EnrichedEvent {
        n += 1;
        let mut e = event(p, v, &format!("j{n}"), name, t0 + at, path);
        e.geo.country = Some(if v == 3 { "DE" } else { "FR" }.into());
        e
    };
    let events = vec![
        ev(1, "pageview", 0, "/"),
        ev(1, "path_change", MIN, "/pricing"),
        ev(1, "signup", 2 * MIN, "/pricing"),
        ev(2, "pageview", 0, "/"),
        ev(2, "path_change", MIN, "/docs"),
        ev(2, "pageview", 2 * MIN, "/docs"),
        ev(3, "pageview", 5 * MIN, "/pricing"),
    ];
    app.state.store.ingest(&events).await.unwrap();
    app
}

fn journeys_body(app: &TestApp, extra: Value) -> Value {
    let mut body = json!({"project_id": app.project_id, "date_range": "7d", "depth": 3});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn journeys_of_known_traffic() {
    let app = with_traffic().await;
    let a = app
        .call(
            Method::POST,
            "/api/v1/journeys",
            Some(journeys_body(&app, json!({}))),
            Some(&app.token),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    let j = a.json();
    let nodes: Vec<(u64, &str, &str, u64)> = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["depth"].as_u64().unwrap(),
                n["kind"].as_str().unwrap(),
                n["value"].as_str().unwrap(),
                n["visitors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        nodes,
        vec![
            (1, "page", "/", 2),
            (1, "page", "/pricing", 1),
            (2, "page", "/docs", 1),
            (2, "page", "/pricing", 1),
            (3, "event", "signup", 1),
        ]
    );
    // Links index into nodes: / -> /docs, / -> /pricing, /pricing -> signup.
    let links: Vec<(u64, u64, u64)> = j["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["from"].as_u64().unwrap(),
                l["to"].as_u64().unwrap(),
                l["visitors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(links, vec![(0, 2, 1), (0, 3, 1), (3, 4, 1)]);
    assert_eq!(j["paths"].as_array().unwrap().len(), 3);
    assert_eq!(
        j["depths"],
        json!([
            {"depth": 1, "visitors": 3, "drop_off": 1},
            {"depth": 2, "visitors": 2, "drop_off": 1},
            {"depth": 3, "visitors": 1, "drop_off": 1},
        ])
    );
    assert_eq!(j["timezone"], "UTC");

    let from_pricing = app
        .call(
            Method::POST,
            "/api/v1/journeys",
            Some(journeys_body(
                &app,
                json!({"start": "/pric*", "filters": [["is", "country", ["FR"]]]}),
            )),
            Some(&app.token),
        )
        .await
        .json();
    assert_eq!(from_pricing["nodes"][0]["value"], "/pricing");
    assert_eq!(from_pricing["nodes"][0]["visitors"], 1);
    assert_eq!(from_pricing["nodes"][1]["value"], "signup");
}

#[tokio::test]
async fn journeys_refuse_bad_requests_naming_the_field() {
    let app = with_traffic().await;
    for (extra, field) in [
        (json!({"depth": 7}), "depth"),
        (json!({"limit": 0}), "limit"),
        (json!({"start": "pricing"}), "start"),
        (json!({"filters": [["is", "event_name", ["signup"]]]}), "filters[0][1]"),
        (json!({"date_range": "1000d"}), "date_range"),
        (json!({"steps": []}), "steps"),
    ] {
        let a = app
            .call(
                Method::POST,
                "/api/v1/journeys",
                Some(journeys_body(&app, extra.clone())),
                Some(&app.token),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{extra}");
        assert_eq!(a.json()["field"], field, "{extra}");
        assert!(a.json()["error"].as_str().unwrap().starts_with(field), "{extra}");
    }
    let other = app.owner("other@example.com").await;
    let a = app
        .call(
            Method::POST,
            "/api/v1/journeys",
            Some(journeys_body(&app, json!({}))),
            Some(&other),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app
        .call(
            Method::POST,
            "/api/v1/journeys",
            Some(journeys_body(&app, json!({}))),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_page_newest_first_and_open_one() {
    let app = with_traffic().await;
    let list = |query: String| {
        let uri = format!("/api/v1/projects/{}/sessions?{query}", app.project_id);
        let token = app.token.clone();
        let app = &app;
        async move { app.call(Method::GET, &uri, None, Some(&token)).await }
    };
    let first = list("date_range=7d&limit=2".into()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", String::from_utf8_lossy(&first.body));
    let first = first.json();
    let sessions = first["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["entry_page"], "/pricing", "newest first");
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = list(format!("date_range=7d&limit=2&cursor={cursor}")).await.json();
    assert_eq!(second["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    let text = format!("{first}{second}");
    assert!(
        !text.contains("visitor") && !text.contains("203.0.113"),
        "no visitor id or address: {text}"
    );

    let filtered =
        list("date_range=7d&filters=%5B%5B%22is%22%2C%22country%22%2C%5B%22FR%22%5D%5D%5D&min_pageviews=2".into())
            .await
            .json();
    assert_eq!(filtered["sessions"].as_array().unwrap().len(), 2);
    let bad = list("date_range=7d&limit=500".into()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["field"], "limit");
    let bad = list("date_range=7d&cursor=nope".into()).await;
    assert_eq!(bad.json()["field"], "cursor");

    // The detail of the first visitor's session: its events in order.
    let all: Vec<&Value> = sessions.iter().chain(second["sessions"].as_array().unwrap()).collect();
    let id = all
        .iter()
        .find(|s| s["exit_page"] == "/pricing" && s["custom_events"] == 1)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = app
        .call(
            Method::GET,
            &format!("/api/v1/projects/{}/sessions/{id}", app.project_id),
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    let detail = detail.json();
    let names: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pageview", "path_change", "signup"]);
    assert_eq!(detail["truncated"], false);
    assert!(!detail.to_string().contains("visitor"));

    let other = app.owner("other@example.com").await;
    let a = app
        .call(
            Method::GET,
            &format!("/api/v1/projects/{}/sessions/{id}", app.project_id),
            None,
            Some(&other),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app
        .call(
            Method::GET,
            &format!("/api/v1/projects/{}/sessions?date_range=7d", app.project_id),
            None,
            Some(&other),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app
        .call(
            Method::GET,
            &format!("/api/v1/projects/{}/sessions/0123456789abcdef01234567", app.project_id),
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}
