//! Saved segments over HTTP (`router(state).oneshot`), on the embedded store: the owner's CRUD
//! with its scoping, unique names and limit, and 400s naming the field, the filters' by the query
//! API's own rules. Both stores' order and deletion are held by the conformance suite.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::{json, Value};
use store::MAX_SEGMENTS_PER_PROJECT;

fn segments_path(app: &TestApp) -> String {
    format!("/api/v1/projects/{}/segments", app.project_id)
}

async fn add_segment(app: &TestApp, body: Value) -> common::Answer {
    app.call(Method::POST, &segments_path(app), Some(body), Some(&app.token))
        .await
}

#[tokio::test]
async fn owners_save_list_and_delete_segments() {
    let app = TestApp::new().await;
    let paid_filters = json!([["is", "country", ["DE"]], ["is", "utm_medium", ["cpc", "ppc"]]]);
    let paid = add_segment(
        &app,
        json!({"name": "  Paid traffic from Germany ", "filters": paid_filters}),
    )
    .await;
    assert_eq!(
        paid.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&paid.body)
    );
    let paid = paid.json();
    assert_eq!(paid["name"], "Paid traffic from Germany", "trimmed");
    assert_eq!(paid["filters"], paid_filters, "as written");
    assert_eq!(paid["id"].as_str().unwrap().len(), 24);
    assert!(paid["created_at"].as_str().unwrap().ends_with('Z'), "{paid}");
    // Later by the clock, so listed after it (ties would go by id).
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Aliases are saved under the field's own name, the one the dashboard's URL reads.
    let goal_filters = json!([["is", "goal", ["Signup"]], ["matches", "event:page", ["^/docs/"]]]);
    let converted = add_segment(&app, json!({"name": "Signed up ✨", "filters": goal_filters})).await;
    assert_eq!(
        converted.status,
        StatusCode::CREATED,
        "goal filters are query filters too: {}",
        String::from_utf8_lossy(&converted.body)
    );
    let converted = converted.json();
    assert_eq!(
        converted["filters"],
        json!([["is", "goal", ["Signup"]], ["matches", "page", ["^/docs/"]]])
    );

    let listed = app
        .call(Method::GET, &segments_path(&app), None, Some(&app.token))
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json(), json!({"segments": [paid, converted]}), "oldest first");

    // Someone else's project is not found; no token is unauthorized.
    let stranger = app.owner("stranger@example.com").await;
    let one = format!("{}/{}", segments_path(&app), paid["id"].as_str().unwrap());
    for (method, path, body) in [
        (Method::GET, segments_path(&app), None),
        (
            Method::POST,
            segments_path(&app),
            Some(json!({"name": "Mine", "filters": [["is", "country", ["FR"]]]})),
        ),
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
    let bad_id = format!("{}/not-an-id", segments_path(&app));
    assert_eq!(
        app.call(Method::DELETE, &bad_id, None, Some(&app.token)).await.status,
        StatusCode::NOT_FOUND
    );
    let listed = app
        .call(Method::GET, &segments_path(&app), None, Some(&app.token))
        .await;
    assert_eq!(listed.json(), json!({"segments": [converted]}));
}

#[tokio::test]
async fn bad_segments_get_a_400_naming_the_field() {
    let app = TestApp::new().await;
    let germany = json!([["is", "country", ["DE"]]]);
    for (body, field, says) in [
        (json!({"name": "  ", "filters": germany}), "name", "empty"),
        (json!({"name": "x".repeat(101), "filters": germany}), "name", "100"),
        (json!({"name": "a\nb", "filters": germany}), "name", "control"),
        (
            json!({"name": "Nothing", "filters": []}),
            "filters",
            "a segment needs at least one filter",
        ),
        (
            json!({"name": "Op", "filters": [["is", "country", ["DE"]], ["equals", "page", ["/"]]]}),
            "filters[1][0]",
            "unknown operator",
        ),
        (
            json!({"name": "Dim", "filters": [["is", "planet", ["Mars"]]]}),
            "filters[0][1]",
            "planet",
        ),
        (
            json!({"name": "Time", "filters": [["is", "time", ["2026-01-01"]]]}),
            "filters[0][1]",
            "cannot be filtered",
        ),
        (
            json!({"name": "Regex", "filters": [["matches", "page", ["^/ok", "(unclosed"]]]}),
            "filters[0][2][1]",
            "regular expression",
        ),
        (
            json!({"name": "No values", "filters": [["is", "page", []]]}),
            "filters[0][2]",
            "1 to 100 values",
        ),
        (
            json!({"name": "Goal", "filters": [["contains", "goal", ["Sign"]]]}),
            "filters[0][0]",
            "is or is_not",
        ),
        (
            json!({"name": "Many", "filters": vec![json!(["is", "page", ["/"]]); 21]}),
            "filters",
            "at most 20",
        ),
    ] {
        let answer = add_segment(&app, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let v = answer.json();
        assert_eq!(v["field"], field, "{body}: {v}");
        assert_eq!(v["code"], "invalid_query", "the query API's 400: {v}");
        let error = v["error"].as_str().unwrap();
        assert!(error.starts_with(&format!("{field}: ")), "{v}");
        assert!(error.contains(says), "{body}: {v}");
    }
    // Not the shape of a segment at all: the body's 400.
    for body in [
        json!({"name": "No filters"}),
        json!({"filters": germany}),
        json!({"name": "Pair", "filters": [["is", "country"]]}),
        json!({"name": "Number", "filters": [["is", "country", [49]]]}),
    ] {
        let answer = add_segment(&app, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let listed = app
        .call(Method::GET, &segments_path(&app), None, Some(&app.token))
        .await;
    assert_eq!(listed.json(), json!({"segments": []}), "nothing refused was stored");
}

#[tokio::test]
async fn names_are_unique_in_a_site_regardless_of_case() {
    let app = TestApp::new().await;
    let germany = json!([["is", "country", ["DE"]]]);
    let first = add_segment(&app, json!({"name": "Germany", "filters": germany})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = add_segment(
        &app,
        json!({"name": " GERMANY  ", "filters": [["is", "country", ["AT"]]]}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let v = again.json();
    assert_eq!(v["code"], "conflict");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("a segment named \"Germany\" exists"),
        "{v}"
    );
    // Another site of the same owner may use the name.
    let other = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(json!({"name": "Shop"})),
            Some(&app.token),
        )
        .await
        .json();
    let elsewhere = app
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/segments", other["id"].as_str().unwrap()),
            Some(json!({"name": "Germany", "filters": germany})),
            Some(&app.token),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&elsewhere.body)
    );
}

#[tokio::test]
async fn a_site_has_at_most_the_segment_limit() {
    let app = TestApp::new().await;
    for i in 0..MAX_SEGMENTS_PER_PROJECT {
        let body = json!({"name": format!("Segment {i}"), "filters": [["is", "page", [format!("/{i}")]]]});
        let answer = add_segment(&app, body).await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let over = add_segment(
        &app,
        json!({"name": "One too many", "filters": [["is", "page", ["/"]]]}),
    )
    .await;
    assert_eq!(over.status, StatusCode::CONFLICT);
    assert!(over.json()["error"]
        .as_str()
        .unwrap()
        .contains(&MAX_SEGMENTS_PER_PROJECT.to_string()));
}
