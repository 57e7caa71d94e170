//! The collector's HTTP API on the embedded store, through `router(state).oneshot(...)`.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{TestApp, FIREFOX};
use contract::enriched::{enrich, RequestContext};
use contract::signing::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use contract::wire::parse_body;
use serde_json::{json, Value};

fn pageview(app: &TestApp, id: &str, url: &str) -> Value {
    json!({"k": app.key, "n": "pageview", "u": url, "id": id, "r": "https://news.ycombinator.com/", "w": 1440})
}

#[tokio::test]
async fn a_beacon_is_stored_enriched_and_sessionized() {
    let app = TestApp::new().await;
    let answer = app
        .beacon(
            pageview(
                &app,
                "ev1",
                "https://www.example.com/pricing?utm_source=newsletter&utm_campaign=launch",
            )
            .to_string(),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.json()["accepted"], 1);
    let events = app.stored_events().await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.name.as_str(), e.hostname.as_str(), e.path.as_str()),
        ("pageview", "example.com", "/pricing")
    );
    assert_eq!(e.utm.source.as_deref(), Some("newsletter"));
    assert_eq!(e.utm.campaign.as_deref(), Some("launch"));
    assert_eq!(e.source.as_deref(), Some("newsletter"), "utm_source names the source");
    assert_eq!(e.geo.country.as_deref(), Some("FR"));
    assert_eq!(e.client.browser, "Firefox");
    assert_ne!(e.visitor_id.0, 0);
    let now = collector::now_ms();
    let sessions = app
        .state
        .store
        .sessions(&app.project(), now - 60_000, now + 60_000)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].entry_page, "/pricing");
}

#[tokio::test]
async fn a_retried_request_is_stored_once() {
    let app = TestApp::new().await;
    let body = json!({"k": app.key, "e": [
        {"n": "pageview", "u": "https://example.com/a", "id": "r1"},
        {"n": "signup", "u": "https://example.com/a", "id": "r2", "p": {"plan": "pro"}}]})
    .to_string();
    for _ in 0..3 {
        assert_eq!(app.beacon(body.clone()).await.status, StatusCode::ACCEPTED);
    }
    let events = app.stored_events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events.iter().find(|e| e.name == "signup").unwrap().props["plan"], "pro");
}

#[tokio::test]
async fn a_batch_stores_valid_events_and_reports_each_rejected_one() {
    let app = TestApp::new().await;
    let body = json!({"k": app.key, "e": [
        {"n": "pageview", "u": "https://example.com/ok", "id": "b1"},
        {"n": "signup", "u": "https://example.com/", "id": "b2", "p": {"$gt": "1"}},
        {"n": "pageview", "u": "not a url", "id": "b3"},
        {"n": "page_exit", "u": "https://example.com/ok", "id": "b4", "d": 1200, "s": 55}]});
    let answer = app.beacon(body.to_string()).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let json = answer.json();
    assert_eq!(json["accepted"], 2);
    assert_eq!(
        json["rejected"],
        json!([
        {"index": 1, "error": "props: key \"$gt\" starts with '$'"},
        {"index": 2, "error": "url: not an absolute URL"}])
    );
    assert_eq!(app.stored_events().await.len(), 2);
}

#[tokio::test]
async fn bad_requests_get_a_clear_error() {
    let app = TestApp::new().await;
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"{\"k\": ".to_vec(), StatusCode::BAD_REQUEST, "invalid_json"),
        (vec![0xff, 0xfe, 0x00], StatusCode::BAD_REQUEST, "invalid_utf8"),
        (b"[1,2]".to_vec(), StatusCode::BAD_REQUEST, "invalid_body"),
        (vec![b' '; contract::limits::MAX_BODY_BYTES + 10], StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        (json!({"n": "pageview", "u": "https://x.org/"}).to_string().into_bytes(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (json!({"k": "mtr_nope", "n": "pageview", "u": "https://x.org/"}).to_string().into_bytes(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (json!({"k": format!("mtr_{}", "0".repeat(40)), "n": "pageview", "u": "https://x.org/"}).to_string().into_bytes(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (json!({"k": app.key, "e": (0..101).map(|i| json!({"n": "x", "u": "https://x.org/", "id": format!("m{i}")})).collect::<Vec<_>>()}).to_string().into_bytes(), StatusCode::BAD_REQUEST, "too_many_events"),
        (json!({"k": app.key, "n": "signup", "u": "https://x.org/", "p": {"a.b": "c"}}).to_string().into_bytes(), StatusCode::BAD_REQUEST, "invalid_event"),
        (json!({"k": app.key, "st": 2_000_000_000_000i64, "n": "x", "u": "https://x.org/", "t": 1_000_000_000_000i64}).to_string().into_bytes(), StatusCode::BAD_REQUEST, "invalid_event"),
    ];
    for (body, status, code) in cases {
        let answer = app.beacon(body.clone()).await;
        assert_eq!(
            answer.status,
            status,
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
        let json = answer.json();
        assert_eq!(json["code"], code, "{json}");
        assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let unknown = app
        .beacon(json!({"k": format!("mtr_{}", "0".repeat(40)), "n": "x", "u": "https://x.org/"}).to_string())
        .await;
    assert_eq!(unknown.json()["error"], "unknown API key");
    let form = app
        .send(
            Request::post("/api/event")
                .header(header::CONTENT_TYPE, "multipart/form-data")
                .body(Body::from("x"))
                .unwrap(),
        )
        .await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(app.stored_events().await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn a_revoked_key_is_refused_with_403() {
    let app = TestApp::new().await;
    assert_eq!(
        app.beacon(pageview(&app, "k1", "https://example.com/").to_string())
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let revoked = app
        .call(
            Method::DELETE,
            &format!("/api/v1/projects/{}/keys/{}", app.project_id, app.key_id),
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.json()["revoked_at"].is_string());
    let refused = app
        .beacon(pageview(&app, "k2", "https://example.com/").to_string())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["error"], "this API key has been revoked");
}

#[tokio::test]
async fn cors_preflight_and_json_content_type_are_answered() {
    let app = TestApp::new().await;
    let preflight = app
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/event")
                .header(header::ORIGIN, "https://shop.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success());
    assert_eq!(preflight.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let post = app
        .send(
            Request::post("/api/event")
                .header(header::ORIGIN, "https://shop.example")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(pageview(&app, "c1", "https://shop.example/").to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(post.status, StatusCode::ACCEPTED);
    assert_eq!(post.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn the_gif_records_a_pageview_for_pages_without_javascript() {
    let app = TestApp::new().await;
    let uri = format!("/api/event.gif?k={}&id=g1", app.key);
    let answer = app
        .send(
            Request::get(uri)
                .header(header::REFERER, "https://example.com/no-js?utm_medium=print")
                .header(header::USER_AGENT, FIREFOX)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "image/gif");
    assert_eq!(&answer.body[..6], b"GIF89a");
    let events = app.stored_events().await;
    assert_eq!(
        (events[0].name.as_str(), events[0].path.as_str()),
        ("pageview", "/no-js")
    );
    assert_eq!(events[0].utm.medium.as_deref(), Some("print"));
    let bad = app
        .send(
            Request::get("/api/event.gif?k=mtr_x&u=https://example.com/")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bots_are_dropped_not_stored() {
    let app = TestApp::new().await;
    let req = Request::post("/api/event")
        .header(
            header::USER_AGENT,
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
        .body(Body::from(pageview(&app, "bot1", "https://example.com/").to_string()))
        .unwrap();
    let answer = app.send(req).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(
        (answer.json()["accepted"].clone(), answer.json()["dropped"].clone()),
        (json!(0), json!(1))
    );
    let automated = app
        .beacon(json!({"k": app.key, "b": true, "n": "pageview", "u": "https://example.com/", "id": "wd"}).to_string())
        .await;
    assert_eq!(automated.json()["dropped"], 1);
    assert!(app.stored_events().await.is_empty());
}

#[tokio::test]
async fn owners_see_only_their_own_projects() {
    let app = TestApp::new().await;
    let other = app.owner("other@example.com").await;
    let path = format!("/api/v1/projects/{}", app.project_id);
    assert_eq!(
        app.call(Method::GET, &path, None, Some(&app.token)).await.status,
        StatusCode::OK
    );
    for uri in [path.clone(), format!("{path}/keys")] {
        let answer = app.call(Method::GET, &uri, None, Some(&other)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
    }
    let revoke = app
        .call(
            Method::DELETE,
            &format!("{path}/keys/{}", app.key_id),
            None,
            Some(&other),
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND);
    let listed = app.call(Method::GET, "/api/v1/projects", None, Some(&other)).await;
    assert_eq!(listed.json()["projects"], json!([]));
    assert_eq!(
        app.call(Method::GET, "/api/v1/projects", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(Method::GET, "/api/v1/projects", None, Some("mtt_forged"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Keys are listed by preview; the raw key is never shown again.
    let keys = app
        .call(Method::GET, &format!("{path}/keys"), None, Some(&app.token))
        .await;
    let text = String::from_utf8(keys.body.clone()).unwrap();
    assert!(!text.contains(&app.key));
    assert_eq!(
        keys.json()["keys"][0]["preview"].as_str().unwrap(),
        contract::keys::ApiKey::parse(&app.key).unwrap().preview().as_str()
    );
}

#[tokio::test]
async fn login_sets_an_http_only_cookie_and_logout_ends_it() {
    let app = TestApp::new().await;
    let creds = json!({"email": "OWNER@example.com", "password": "a long enough password"});
    let login = app.call(Method::POST, "/api/v1/login", Some(creds), None).await;
    let cookie = login.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = app
        .send(
            Request::get("/api/v1/me")
                .header(header::COOKIE, &pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(me.json()["email"], "owner@example.com");
    let out = app
        .send(
            Request::post("/api/v1/logout")
                .header(header::COOKIE, &pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = app
        .send(
            Request::get("/api/v1/me")
                .header(header::COOKIE, &pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let wrong = app
        .call(
            Method::POST,
            "/api/v1/login",
            Some(json!({"email": "owner@example.com", "password": "not the password"})),
            None,
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.json()["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("wrong email or password"))
    );
    let taken = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "owner@example.com", "password": "a long enough password"})),
            None,
        )
        .await;
    // Sign-up does not tell which emails have accounts (tests/throttling.rs has the details).
    assert_eq!(taken.status, StatusCode::ACCEPTED);
    let weak = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "new@example.com", "password": "short"})),
            None,
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    let missing = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "new@example.com"})),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.json()["error"].as_str().unwrap().contains("password"));
}

#[tokio::test]
async fn sign_up_can_be_disabled() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let args = collector::config::ConfigArgs {
        data_dir: Some(dir.path().into()),
        allow_signup: Some(false),
        ..Default::default()
    };
    let (state, _services) = collector::app::build_state(&args.resolve(Some("127.0.0.1:0".into())).unwrap())
        .await
        .unwrap();
    let request = Request::post("/api/v1/users")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"email": "x@example.com", "password": "a long enough password"}).to_string(),
        ))
        .unwrap();
    let answer = collector::router(state).oneshot(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
}

fn signed(app: &TestApp, method: &str, path: &str, body: &[u8], ts: i64) -> Request<Body> {
    let secret = app.state.secrets.edge_secret.clone().unwrap();
    let sig = sign(secret.expose().as_bytes(), ts, method, path, body);
    Request::builder()
        .method(method)
        .uri(path)
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, sig)
        .body(Body::from(body.to_vec()))
        .unwrap()
}

#[tokio::test]
async fn the_edge_api_requires_a_fresh_valid_signature() {
    let app = TestApp::new().await;
    let now = collector::now_ms() / 1000;
    let hash = contract::keys::ApiKey::parse(&app.key)
        .unwrap()
        .hash(app.state.secrets.key_pepper.expose());
    let path = format!("/internal/v1/keys/{}", hash.as_str());
    let ok = app.send(signed(&app, "GET", &path, b"", now)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        ok.json(),
        json!({"project_id": app.project_id, "key_id": app.key_id, "revoked": false})
    );
    let stale = app.send(signed(&app, "GET", &path, b"", now - 600)).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    assert!(stale.json()["error"].as_str().unwrap().contains("window"));
    let unsigned = app.send(Request::get(&path).body(Body::empty()).unwrap()).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    let mut forged = signed(&app, "GET", &path, b"", now);
    forged
        .headers_mut()
        .insert(SIGNATURE_HEADER, "00".repeat(32).parse().unwrap());
    assert_eq!(app.send(forged).await.status, StatusCode::UNAUTHORIZED);
    let unknown = format!("/internal/v1/keys/{}", "a".repeat(64));
    assert_eq!(
        app.send(signed(&app, "GET", &unknown, b"", now)).await.status,
        StatusCode::NOT_FOUND
    );
    let far = format!("/internal/v1/salts/{}", now / 86_400 - 5);
    assert_eq!(
        app.send(signed(&app, "GET", &far, b"", now)).await.status,
        StatusCode::BAD_REQUEST
    );
}

/// The edge computes the visitor id with the salt it fetches; the collector's direct endpoint
/// computes it itself. For the same request they must agree.
#[tokio::test]
async fn edge_and_direct_paths_store_the_same_visitor_for_the_same_request() {
    let app = TestApp::new().await;
    let now = collector::now_ms();
    let salt_path = format!("/internal/v1/salts/{}", now.div_euclid(86_400_000));
    let salt = app.send(signed(&app, "GET", &salt_path, b"", now / 1000)).await.json();
    let salt: [u8; 32] = contract::decode_hex(salt["salt"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();

    // The "edge": the same parsing and enrichment code, with the fetched salt.
    let body = pageview(&app, "edge1", "https://example.com/from-edge").to_string();
    let submission = parse_body(body.as_bytes()).unwrap();
    let ctx = RequestContext {
        received_at: now,
        ip: "203.0.113.9".into(),
        user_agent: FIREFOX.into(),
        ..Default::default()
    };
    let event = submission.events.into_iter().next().unwrap().unwrap();
    let enriched = enrich(
        event,
        app.project(),
        &ctx,
        &contract::enrich::DailySalt::from_bytes(salt),
        false,
        rand::random,
    )
    .unwrap();
    let batch = serde_json::to_vec(&json!({"events": [enriched]})).unwrap();
    let forwarded = app
        .send(signed(&app, "POST", "/internal/v1/ingest", &batch, now / 1000))
        .await;
    assert_eq!(
        forwarded.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&forwarded.body)
    );
    assert_eq!(forwarded.json()["accepted"], 1);
    // Replaying the signed batch within the window stores nothing twice.
    assert_eq!(
        app.send(signed(&app, "POST", "/internal/v1/ingest", &batch, now / 1000))
            .await
            .status,
        StatusCode::OK
    );

    assert_eq!(
        app.beacon(pageview(&app, "direct1", "https://example.com/direct").to_string())
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let events = app.stored_events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].visitor_id, events[1].visitor_id);
    let sessions = app
        .state
        .store
        .sessions(&app.project(), now - 60_000, now + 60_000)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1, "one visitor, one visit");
    assert_eq!(sessions[0].pageviews, 2);
}

#[tokio::test]
async fn the_edge_batch_reports_invalid_events() {
    let app = TestApp::new().await;
    let now = collector::now_ms();
    let good = json!({"id": "i1", "project_id": app.project_id, "name": "pageview", "occurred_at": now, "received_at": now,
        "hostname": "example.com", "path": "/", "url": "https://example.com/", "visitor_id": 7});
    let mut future = good.clone();
    future["id"] = json!("i2");
    future["occurred_at"] = json!(now + 3_600_000);
    let mut operator = good.clone();
    operator["id"] = json!("i3");
    operator["props"] = json!({"$where": "1"});
    let batch = serde_json::to_vec(&json!({"events": [good, future, operator, {"id": "broken"}]})).unwrap();
    let answer = app
        .send(signed(&app, "POST", "/internal/v1/ingest", &batch, now / 1000))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let json = answer.json();
    assert_eq!(json["accepted"], 1);
    let errors: Vec<String> = json["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(errors.len(), 3);
    assert!(errors[0].contains("future"), "{errors:?}");
    assert!(errors[1].contains("$where"), "{errors:?}");
    assert!(errors[2].contains("missing field"), "{errors:?}");
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let app = TestApp::new().await;
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.json(), json!({"status": "ok", "store": "sqlite"}));
    app.beacon(pageview(&app, "m1", "https://example.com/").to_string())
        .await;
    app.state.writer.flush().await.unwrap();
    let metrics = String::from_utf8(app.call(Method::GET, "/metrics", None, None).await.body).unwrap();
    assert!(metrics.contains("collector_events_stored_total 1"), "{metrics}");
    assert!(
        metrics.contains("collector_events_accepted_total{path=\"direct\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("collector_ingest_log_full_total 0"), "{metrics}");
    assert!(
        metrics.contains("collector_ingest_log_events 0"),
        "stored, so out of the log: {metrics}"
    );
}

#[tokio::test]
async fn the_tracker_is_served_with_cache_headers() {
    let assets = tempfile::tempdir().unwrap();
    std::fs::write(assets.path().join("pixel.js"), "/* tracker */").unwrap();
    std::fs::write(assets.path().join("pixel.0123abcd.wasm"), b"\0asm").unwrap();
    std::fs::write(assets.path().join("secrets.json"), "{}").unwrap();
    let dir = assets.path().to_owned();
    let app = TestApp::with(move |a| a.static_dir = Some(dir)).await;
    let script = app.call(Method::GET, "/pixel.js", None, None).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(script.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("max-age=3600"));
    let etag = script.headers[header::ETAG].clone();
    let again = app
        .send(
            Request::get("/pixel.js")
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let wasm = app.call(Method::GET, "/pixel.0123abcd.wasm", None, None).await;
    assert_eq!(wasm.headers[header::CONTENT_TYPE], "application/wasm");
    assert!(wasm.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(
        app.call(Method::GET, "/secrets.json", None, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(Method::GET, "/pixel.zz.wasm", None, None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Every number an event carries is range-checked where it enters, the internal API included,
/// and none is used in arithmetic that could overflow: values at the ends of their types are
/// refused with an error naming the field, and nothing of them is stored.
#[tokio::test]
async fn numbers_at_the_ends_of_their_types_are_refused_where_events_enter() {
    let app = TestApp::new().await;
    let now = collector::now_ms();
    let exit = json!({"project_id": app.project_id, "name": "page_exit", "occurred_at": now, "received_at": now,
        "hostname": "example.com", "path": "/", "url": "https://example.com/", "visitor_id": 7,
        "duration_ms": 5000, "scroll_depth": 50, "screen_width": 1280});
    let with = |id: &str, field: &str, value: Value| {
        let mut e = exit.clone();
        e["id"] = json!(id);
        e[field] = value;
        e
    };
    let cases = [
        (with("n0", "duration_ms", json!(5000)), None),
        (with("n1", "duration_ms", json!(u64::MAX)), Some("duration_ms")),
        (with("n2", "screen_width", json!(0)), Some("screen_width")),
        (with("n3", "screen_width", json!(u32::MAX)), Some("screen_width")),
        (with("n4", "name", json!("pageview")), Some("duration_ms")),
        (with("n5", "received_at", json!(i64::MIN)), Some("received_at")),
        (with("n6", "received_at", json!(i64::MAX)), Some("received_at")),
        (with("n7", "occurred_at", json!(i64::MIN)), Some("occurred_at")),
        (with("n8", "scroll_depth", json!(255)), Some("scroll_depth")),
        (with("n9", "screen_width", json!(u64::MAX)), Some("screen_width")),
    ];
    let events: Vec<Value> = cases.iter().map(|(e, _)| e.clone()).collect();
    let batch = serde_json::to_vec(&json!({ "events": events })).unwrap();
    let answer = app
        .send(signed(&app, "POST", "/internal/v1/ingest", &batch, now / 1000))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let json = answer.json();
    assert_eq!(json["accepted"], 1, "{json}");
    let rejected = json["rejected"].as_array().unwrap();
    let refused: Vec<_> = cases.iter().enumerate().filter(|(_, (_, why))| why.is_some()).collect();
    assert_eq!(rejected.len(), refused.len(), "{json}");
    for (r, (index, (_, why))) in rejected.iter().zip(refused) {
        assert_eq!(r["index"], index, "{json}");
        assert!(r["error"].as_str().unwrap().contains(why.unwrap()), "{r}");
    }
    let stored = app.stored_events().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].duration_ms, Some(5000));

    // The internal API's own numbers: a salt's day and a signature's timestamp.
    for day in [i64::MIN, i64::MAX] {
        let path = format!("/internal/v1/salts/{day}");
        let answer = app.send(signed(&app, "GET", &path, b"", now / 1000)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{day}");
        assert_eq!(answer.json()["code"], "invalid_day");
    }
    for ts in [i64::MIN, i64::MAX] {
        let answer = app.send(signed(&app, "GET", "/internal/v1/salts/0", b"", ts)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{ts}");
        assert!(answer.json()["error"].as_str().unwrap().contains("window"), "{ts}");
    }

    // A site's request: its two clocks at the ends of i64.
    for (sent_at, time) in [(i64::MAX, i64::MIN), (i64::MIN, i64::MAX)] {
        let body = json!({"k": app.key, "st": sent_at, "n": "pageview", "u": "https://example.com/", "t": time});
        let answer = app.beacon(body.to_string()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{sent_at} {time}");
        assert!(
            answer.json()["error"].as_str().unwrap().contains("time"),
            "{}",
            answer.json()
        );
    }
    let body = json!({"k": app.key, "n": "page_exit", "u": "https://example.com/", "d": u64::MAX, "w": 1e300});
    let answer = app.beacon(body.to_string()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.json());
    assert_eq!(app.stored_events().await.len(), 1, "nothing more was stored");
}
