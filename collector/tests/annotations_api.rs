//! Annotations over HTTP (`router(state).oneshot`), on the embedded store: the owner's CRUD with
//! its scoping, limit and 400s naming the field, and a share link reading them (behind its
//! password like its queries). Both stores' order and deletion are held by the conformance suite.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use serde_json::{json, Value};
use store::MAX_ANNOTATIONS_PER_PROJECT;

fn notes_path(app: &TestApp) -> String {
    format!("/api/v1/projects/{}/annotations", app.project_id)
}

async fn add_note(app: &TestApp, body: Value) -> common::Answer {
    app.call(Method::POST, &notes_path(app), Some(body), Some(&app.token))
        .await
}

#[tokio::test]
async fn owners_add_list_and_delete_annotations() {
    let app = TestApp::new().await;
    let launch = add_note(&app, json!({"date": "2026-11-20", "text": "  Launched v2 ✨ "})).await;
    assert_eq!(
        launch.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&launch.body)
    );
    let launch = launch.json();
    assert_eq!(
        (launch["date"].as_str(), launch["text"].as_str()),
        (Some("2026-11-20"), Some("Launched v2 ✨"))
    );
    assert_eq!(launch["id"].as_str().unwrap().len(), 24);
    let earlier = add_note(&app, json!({"date": "2026-11-03", "text": "Newsletter"}))
        .await
        .json();

    let listed = app.call(Method::GET, &notes_path(&app), None, Some(&app.token)).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json(), json!({"annotations": [earlier, launch]}), "by date");

    // Someone else's project is not found; no token is unauthorized.
    let stranger = app.owner("stranger@example.com").await;
    let one = format!("{}/{}", notes_path(&app), launch["id"].as_str().unwrap());
    for (method, path, body) in [
        (Method::GET, notes_path(&app), None),
        (
            Method::POST,
            notes_path(&app),
            Some(json!({"date": "2026-11-20", "text": "x"})),
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
    let bad_id = format!("{}/not-an-id", notes_path(&app));
    assert_eq!(
        app.call(Method::DELETE, &bad_id, None, Some(&app.token)).await.status,
        StatusCode::NOT_FOUND
    );
    let listed = app.call(Method::GET, &notes_path(&app), None, Some(&app.token)).await;
    assert_eq!(listed.json(), json!({"annotations": [earlier]}));
}

#[tokio::test]
async fn bad_annotations_get_a_400_naming_the_field() {
    let app = TestApp::new().await;
    for (body, field) in [
        (json!({"date": "2026-02-30", "text": "x"}), "date"),
        (json!({"date": "20 Nov", "text": "x"}), "date"),
        (json!({"date": "1999-12-31", "text": "x"}), "date"),
        (json!({"date": "2026-11-20", "text": "  "}), "text"),
        (json!({"date": "2026-11-20", "text": "two\nlines"}), "text"),
        (json!({"date": "2026-11-20", "text": "x".repeat(201)}), "text"),
    ] {
        let answer = add_note(&app, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let v = answer.json();
        assert_eq!(v["field"], field, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().starts_with(field), "{v}");
    }
    for body in [json!({"date": "2026-11-20"}), json!({"date": 20261120, "text": "x"})] {
        let answer = add_note(&app, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let listed = app.call(Method::GET, &notes_path(&app), None, Some(&app.token)).await;
    assert_eq!(listed.json(), json!({"annotations": []}), "nothing refused was stored");
}

#[tokio::test]
async fn a_site_has_at_most_the_annotation_limit() {
    let app = TestApp::new().await;
    for i in 0..MAX_ANNOTATIONS_PER_PROJECT {
        let answer = add_note(&app, json!({"date": "2026-11-20", "text": format!("note {i}")})).await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let over = add_note(&app, json!({"date": "2026-11-20", "text": "one too many"})).await;
    assert_eq!(over.status, StatusCode::CONFLICT);
    assert!(over.json()["error"]
        .as_str()
        .unwrap()
        .contains(&MAX_ANNOTATIONS_PER_PROJECT.to_string()));
}

#[tokio::test]
async fn a_share_link_reads_its_sites_annotations_behind_its_password() {
    let app = TestApp::new().await;
    let note = add_note(&app, json!({"date": "2026-11-20", "text": "Launch"}))
        .await
        .json();
    let shares = format!("/api/v1/projects/{}/shares", app.project_id);
    let open = app
        .call(
            Method::POST,
            &shares,
            Some(json!({"label": "public"})),
            Some(&app.token),
        )
        .await
        .json();
    let locked = app
        .call(
            Method::POST,
            &shares,
            Some(json!({"label": "team", "password": "a share password"})),
            Some(&app.token),
        )
        .await
        .json();
    let read = |slug: &str| format!("/api/v1/share/{slug}/annotations");
    let shown = app
        .call(Method::GET, &read(open["slug"].as_str().unwrap()), None, None)
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.json(), json!({"annotations": [note]}));
    let refused = app
        .call(Method::GET, &read(locked["slug"].as_str().unwrap()), None, None)
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.call(Method::GET, &read("no-such-link"), None, None).await.status,
        StatusCode::NOT_FOUND
    );
    // Read-only: nothing under the share path writes.
    let write = app
        .call(
            Method::POST,
            &read(open["slug"].as_str().unwrap()),
            Some(json!({"date": "2026-11-20", "text": "x"})),
            None,
        )
        .await;
    assert_eq!(write.status, StatusCode::METHOD_NOT_ALLOWED);
}
