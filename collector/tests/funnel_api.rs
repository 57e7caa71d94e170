//! Funnels over HTTP (`router(state).oneshot`), on the embedded store: `POST /api/v1/funnel`
//! (auth, project scoping, the answer's shape, 400s naming the field) and the saved funnels'
//! CRUD. The counts themselves are held to a brute force on both stores by
//! `query/tests/funnel_truth.rs` and the stores' conformance suite.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::{json, Value};

/// One visitor: `/`, then `/pricing`, then a `signup` event.
async fn with_a_signup() -> TestApp {
    let app = TestApp::new().await;
    for (id, name, path) in [
        ("f1", "pageview", "/"),
        ("f2", "pageview", "/pricing"),
        ("f3", "signup", "/pricing"),
    ] {
        let body = json!({"k": app.key, "n": name, "u": format!("https://example.com{path}"), "id": id});
        assert_eq!(app.beacon(body.to_string()).await.status, StatusCode::ACCEPTED);
        // Distinct milliseconds, so the order is the sending order whatever the ids.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    app.settle().await;
    app
}

fn funnel_body(app: &TestApp, steps: Value) -> Value {
    json!({"project_id": app.project_id, "date_range": "day", "steps": steps})
}

async fn post_funnel(app: &TestApp, body: Value, token: Option<&str>) -> common::Answer {
    app.call(Method::POST, "/api/v1/funnel", Some(body), token).await
}

#[tokio::test]
async fn a_funnel_counts_the_steps_in_order() {
    let app = with_a_signup().await;
    let steps = json!([{"page": "/"}, {"page": "/pri*"}, {"event": "signup"}, {"page": "/"}]);
    let answer = post_funnel(&app, funnel_body(&app, steps), Some(&app.token)).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let v = answer.json();
    let rows: Vec<Value> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            json!([
                s["label"],
                s["visitors"],
                s["conversion_rate"],
                s["drop_off"],
                s["drop_off_rate"]
            ])
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            json!(["/", 1, 100.0, 0, 0.0]),
            json!(["/pri*", 1, 100.0, 0, 0.0]),
            json!(["signup", 1, 100.0, 0, 0.0]),
            json!(["/", 0, 0.0, 1, 100.0]),
        ],
        "{v}"
    );
    assert_eq!(v["steps"][0]["median_ms_from_previous"], Value::Null);
    assert!(v["steps"][1]["median_ms_from_previous"].as_u64().is_some(), "{v}");
    assert_eq!(v["steps"][3]["median_ms_from_previous"], Value::Null);
    assert_eq!(v["timezone"], "UTC");
    assert_eq!(v["date_range"].as_array().unwrap().len(), 2);

    // The filters take session fields: the entry page is `/`.
    let filtered = json!({"project_id": app.project_id, "date_range": "day",
        "filters": [["is", "page", ["/pricing"]]], "steps": [{"page": "/"}, {"event": "signup"}]});
    let v = post_funnel(&app, filtered, Some(&app.token)).await.json();
    assert_eq!(v["steps"][0]["visitors"], 0, "{v}");
}

/// A goal step is the goal's page or event step, labelled with the goal's name; a saved funnel
/// may name goals too.
#[tokio::test]
async fn goal_steps_are_the_goals_pages_and_events() {
    let app = with_a_signup().await;
    let goals = format!("/api/v1/projects/{}/goals", app.project_id);
    let mut ids = Vec::new();
    for goal in [json!({"page": "/pri*"}), json!({"event": "signup"})] {
        let created = app.call(Method::POST, &goals, Some(goal), Some(&app.token)).await;
        assert_eq!(created.status, StatusCode::CREATED);
        ids.push(created.json()["id"].as_str().unwrap().to_owned());
    }
    let steps = json!([{"page": "/"}, {"goal": ids[0]}, {"goal": ids[1]}]);
    let answer = post_funnel(&app, funnel_body(&app, steps.clone()), Some(&app.token)).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let v = answer.json();
    let rows: Vec<Value> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!([s["label"], s["visitors"]]))
        .collect();
    assert_eq!(
        rows,
        vec![json!(["/", 1]), json!(["Visit /pri*", 1]), json!(["signup", 1])],
        "{v}"
    );

    let saved = format!("/api/v1/projects/{}/funnels", app.project_id);
    let body = json!({"name": "By goals", "steps": steps});
    let created = app.call(Method::POST, &saved, Some(body), Some(&app.token)).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );

    // A goal of no project (or deleted) is refused, naming the step.
    let gone = format!("{goals}/{}", ids[1]);
    assert_eq!(
        app.call(Method::DELETE, &gone, None, Some(&app.token)).await.status,
        StatusCode::NO_CONTENT
    );
    let answer = post_funnel(
        &app,
        funnel_body(&app, json!([{"page": "/"}, {"goal": ids[1]}])),
        Some(&app.token),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json()["field"], "steps[1].goal", "{}", answer.json());
}

#[tokio::test]
async fn funnels_are_for_the_owner_and_refusals_name_the_field() {
    let app = with_a_signup().await;
    let steps = json!([{"page": "/"}, {"event": "signup"}]);
    assert_eq!(
        post_funnel(&app, funnel_body(&app, steps.clone()), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let stranger = app.owner("stranger@example.com").await;
    let answer = post_funnel(&app, funnel_body(&app, steps.clone()), Some(&stranger)).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    let refused = [
        (json!([{"page": "/"}]), "steps"),
        (json!([{"page": "/"}, {"event": "pageview"}]), "steps[1].event"),
        (json!([{"page": "docs"}, {"event": "signup"}]), "steps[0].page"),
        (
            json!([{"goal": "0123456789abcdef01234567"}, {"event": "signup"}]),
            "steps[0].goal",
        ),
        (json!([{"page": "/", "event": "x"}, {"event": "signup"}]), "steps[0]"),
    ];
    for (steps, field) in refused {
        let answer = post_funnel(&app, funnel_body(&app, steps), Some(&app.token)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        let v = answer.json();
        assert_eq!(v["field"], field, "{v}");
        assert_eq!(v["code"], "invalid_query", "{v}");
        assert!(v["error"].as_str().unwrap().starts_with(field), "{v}");
    }
    let mut on_events = funnel_body(&app, steps);
    on_events["filters"] = json!([["is", "event_name", ["signup"]]]);
    let v = post_funnel(&app, on_events, Some(&app.token)).await.json();
    assert_eq!(v["field"], "filters[0][1]", "{v}");
}

#[tokio::test]
async fn saved_funnels_are_listed_created_and_deleted() {
    let app = TestApp::new().await;
    let base = format!("/api/v1/projects/{}/funnels", app.project_id);
    let new = json!({"name": "Sign-up", "steps": [{"page": "/"}, {"page": "/pricing"}, {"event": "signup"}]});
    let created = app.call(Method::POST, &base, Some(new.clone()), Some(&app.token)).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let funnel = created.json();
    assert_eq!(funnel["name"], "Sign-up");
    assert_eq!(funnel["steps"], new["steps"]);
    let list = app.call(Method::GET, &base, None, Some(&app.token)).await.json();
    assert_eq!(list["funnels"], json!([funnel.clone()]));

    for (body, field) in [
        (json!({"name": "", "steps": new["steps"]}), "name"),
        (json!({"name": "x".repeat(101), "steps": new["steps"]}), "name"),
        (json!({"name": "A"}), "steps"),
        (
            json!({"name": "A", "steps": [{"page": "/"}, {"event": ""}]}),
            "steps[1].event",
        ),
        (json!({"name": "A", "steps": new["steps"], "color": "red"}), "color"),
    ] {
        let answer = app.call(Method::POST, &base, Some(body), Some(&app.token)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.json()["field"], field, "{}", answer.json());
    }

    // Another owner sees no such project, and cannot delete the funnel.
    let stranger = app.owner("other@example.com").await;
    assert_eq!(
        app.call(Method::GET, &base, None, Some(&stranger)).await.status,
        StatusCode::NOT_FOUND
    );
    let one = format!("{base}/{}", funnel["id"].as_str().unwrap());
    assert_eq!(
        app.call(Method::DELETE, &one, None, Some(&stranger)).await.status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        app.call(Method::DELETE, &one, None, Some(&app.token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::DELETE, &one, None, Some(&app.token)).await.status,
        StatusCode::NOT_FOUND
    );
    let list = app.call(Method::GET, &base, None, Some(&app.token)).await.json();
    assert_eq!(list["funnels"], json!([]));
}

#[tokio::test]
async fn a_project_keeps_at_most_the_limit_of_saved_funnels() {
    let app = TestApp::new().await;
    let base = format!("/api/v1/projects/{}/funnels", app.project_id);
    for i in 0..store::funnels::MAX_SAVED_FUNNELS_PER_PROJECT {
        let body = json!({"name": format!("F{i}"), "steps": [{"page": "/"}, {"page": "/x"}]});
        let answer = app.call(Method::POST, &base, Some(body), Some(&app.token)).await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let body = json!({"name": "one more", "steps": [{"page": "/"}, {"page": "/x"}]});
    let answer = app.call(Method::POST, &base, Some(body), Some(&app.token)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(
        answer.json()["error"].as_str().unwrap().contains("at most 100"),
        "{}",
        answer.json()
    );
}
