//! Goals over HTTP (`router(state).oneshot`), on the embedded store: the CRUD endpoints with
//! their scoping, limits and 400s naming the field, and the query API counting stored goals
//! (by id, the `goal` filter and dimension). The numbers themselves are held to a brute force
//! on both stores in `query/tests/ground_truth.rs`.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::{json, Value};
use store::MAX_GOALS_PER_PROJECT;

fn goals_path(app: &TestApp) -> String {
    format!("/api/v1/projects/{}/goals", app.project_id)
}

async fn add_goal(app: &TestApp, body: Value) -> common::Answer {
    app.call(Method::POST, &goals_path(app), Some(body), Some(&app.token))
        .await
}

#[tokio::test]
async fn owners_add_list_and_delete_goals() {
    let app = TestApp::new().await;
    let signup = add_goal(&app, json!({"event": " signup "})).await;
    assert_eq!(
        signup.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&signup.body)
    );
    let signup = signup.json();
    assert_eq!(signup["name"], "signup");
    assert_eq!(signup["event"], "signup");
    assert_eq!(signup["page"], Value::Null);
    assert_eq!(signup["id"].as_str().unwrap().len(), 24);
    let docs = add_goal(&app, json!({"page": "/docs/*"})).await;
    assert_eq!(docs.status, StatusCode::CREATED);
    let docs = docs.json();
    assert_eq!(
        (docs["name"].as_str(), docs["page"].as_str()),
        (Some("Visit /docs/*"), Some("/docs/*"))
    );

    let listed = app.call(Method::GET, &goals_path(&app), None, Some(&app.token)).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json(), json!({"goals": [signup, docs]}), "oldest first");

    // The same goal twice, or another goal with the same name, is a conflict.
    for body in [json!({"event": "signup"}), json!({"event": "Visit /docs/*"})] {
        let again = add_goal(&app, body.clone()).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{body}");
        assert_eq!(again.json()["code"], "conflict");
    }

    // Someone else's project is not found; no token is unauthorized.
    let stranger = app.owner("stranger@example.com").await;
    let one = format!("{}/{}", goals_path(&app), docs["id"].as_str().unwrap());
    for (method, path, body) in [
        (Method::GET, goals_path(&app), None),
        (Method::POST, goals_path(&app), Some(json!({"event": "x"}))),
        (Method::DELETE, one.clone(), None),
    ] {
        let answer = app.call(method.clone(), &path, body.clone(), Some(&stranger)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}");
        let answer = app.call(method.clone(), &path, body, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }

    assert_eq!(
        app.call(Method::DELETE, &one, None, Some(&app.token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::DELETE, &one, None, Some(&app.token)).await.status,
        StatusCode::NOT_FOUND
    );
    let bad_id = format!("{}/not-an-id", goals_path(&app));
    assert_eq!(
        app.call(Method::DELETE, &bad_id, None, Some(&app.token)).await.status,
        StatusCode::NOT_FOUND
    );
    let listed = app.call(Method::GET, &goals_path(&app), None, Some(&app.token)).await;
    assert_eq!(listed.json(), json!({"goals": [signup]}));
}

#[tokio::test]
async fn bad_goals_get_a_400_naming_the_field() {
    let app = TestApp::new().await;
    for (body, field) in [
        (json!({}), "event"),
        (json!({"event": "signup", "page": "/"}), "page"),
        (json!({"event": ""}), "event"),
        (json!({"event": "pageview"}), "event"),
        (json!({"event": "x".repeat(121)}), "event"),
        (json!({"page": "docs"}), "page"),
        (json!({"page": format!("/{}", "*/".repeat(9))}), "page"),
        (json!({"page": "/a\nb"}), "page"),
    ] {
        let answer = add_goal(&app, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let v = answer.json();
        assert_eq!(v["field"], field, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().starts_with(field), "{v}");
    }
    let typed = add_goal(&app, json!({"event": 7})).await;
    assert_eq!(typed.status, StatusCode::BAD_REQUEST);
    let listed = app.call(Method::GET, &goals_path(&app), None, Some(&app.token)).await;
    assert_eq!(listed.json(), json!({"goals": []}), "nothing refused was stored");
}

#[tokio::test]
async fn a_site_has_at_most_the_goal_limit() {
    let app = TestApp::new().await;
    for i in 0..MAX_GOALS_PER_PROJECT {
        let answer = add_goal(&app, json!({ "page": format!("/page-{i}") })).await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let over = add_goal(&app, json!({"event": "one too many"})).await;
    assert_eq!(over.status, StatusCode::CONFLICT);
    assert!(over.json()["error"].as_str().unwrap().contains("at most 100 goals"));
    let listed = app.call(Method::GET, &goals_path(&app), None, Some(&app.token)).await;
    assert_eq!(listed.json()["goals"].as_array().unwrap().len(), MAX_GOALS_PER_PROJECT);
}

/// One visitor views `/docs/a` and `/pricing` and signs up; another only views `/`.
async fn with_traffic() -> TestApp {
    let app = TestApp::new().await;
    let events = [
        ("g1", "pageview", "/docs/a", "203.0.113.9"),
        ("g2", "pageview", "/pricing", "203.0.113.9"),
        ("g3", "signup", "/pricing", "203.0.113.9"),
        ("g4", "pageview", "/", "198.51.100.7"),
    ];
    for (id, name, path, ip) in events {
        let body = json!({"k": app.key, "n": name, "u": format!("https://example.com{path}"), "id": id});
        let answer = app
            .send(
                axum::http::Request::post("/api/event")
                    .header(axum::http::header::CONTENT_TYPE, "text/plain")
                    .header(axum::http::header::USER_AGENT, common::FIREFOX)
                    .header("x-forwarded-for", ip)
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    app.settle().await;
    app
}

async fn query(app: &TestApp, extra: Value) -> common::Answer {
    let mut body = json!({"project_id": app.project_id, "metrics": ["visitors"], "date_range": "day"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.call(Method::POST, "/api/v1/query", Some(body), Some(&app.token))
        .await
}

#[tokio::test]
async fn the_query_api_counts_stored_goals() {
    let app = with_traffic().await;
    let signup = add_goal(&app, json!({"event": "signup"})).await.json();
    add_goal(&app, json!({"page": "/docs/*"})).await;
    add_goal(&app, json!({"page": "/nowhere"})).await;

    let by_id = query(
        &app,
        json!({"metrics": ["visitors", "conversion_rate"], "goal": {"id": signup["id"]}}),
    )
    .await;
    assert_eq!(by_id.status, StatusCode::OK, "{}", String::from_utf8_lossy(&by_id.body));
    assert_eq!(by_id.json()["results"][0]["metrics"], json!([2, 50.0]));
    let page = query(&app, json!({"metrics": ["conversion_rate"], "goal": {"page": "/pri*"}})).await;
    assert_eq!(page.json()["results"][0]["metrics"], json!([50.0]));

    let by_goal = query(
        &app,
        json!({"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["goal"],
            "order_by": [["goal", "asc"]]}),
    )
    .await;
    assert_eq!(
        by_goal.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&by_goal.body)
    );
    let v = by_goal.json();
    let rows: Vec<(Value, Value)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["dimensions"][0].clone(), r["metrics"].clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!("Visit /docs/*"), json!([1, 1, 50.0])),
            (json!("Visit /nowhere"), json!([0, 0, 0.0])),
            (json!("signup"), json!([1, 1, 50.0])),
        ]
    );
    assert_eq!(v["totals"]["metrics"], json!([1, 2, 50.0]));

    let filtered = query(
        &app,
        json!({"metrics": ["visitors", "pageviews", "events"], "filters": [["is", "goal", ["Visit /docs/*", "signup"]]]}),
    )
    .await;
    assert_eq!(filtered.json()["results"][0]["metrics"], json!([1, 1, 1]));

    for (extra, field) in [
        (json!({"filters": [["is", "goal", ["Nope"]]]}), "filters[0][2][0]"),
        (
            json!({"metrics": ["conversion_rate"], "goal": {"id": "0123456789abcdef01234567"}}),
            "goal.id",
        ),
        (
            json!({"metrics": ["visits"], "filters": [["is", "goal", ["signup"]]]}),
            "filters[0][1]",
        ),
        (json!({"metrics": ["pageviews"], "dimensions": ["goal"]}), "metrics[0]"),
    ] {
        let answer = query(&app, extra.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{extra}");
        let v = answer.json();
        assert_eq!(
            (v["field"].as_str(), v["code"].as_str()),
            (Some(field), Some("invalid_query")),
            "{v}"
        );
    }
}
