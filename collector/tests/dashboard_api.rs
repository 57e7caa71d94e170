//! What the dashboard needs from the collector, through `router(state)`: the embedded app and its
//! headers, the session, passwords, tokens, sites, share links, "all time".

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::TestApp;
use serde_json::{json, Value};

fn cookie_of(answer: &common::Answer) -> String {
    answer.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn get_with(app: &TestApp, uri: &str, headers: &[(header::HeaderName, &str)]) -> common::Answer {
    let mut req = Request::get(uri);
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_app_is_served_with_a_strict_policy_and_revalidated_by_etag() {
    let app = TestApp::new().await;
    for path in [
        "/",
        "/login",
        "/signup",
        "/account",
        "/sites/abc",
        "/sites/abc/settings",
    ] {
        let page = get_with(&app, path, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let html = String::from_utf8(page.body.clone()).unwrap();
        assert!(html.contains("<div id=\"app\"></div>"), "{path}: {html}");
        let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(page.headers[header::CACHE_CONTROL], "no-cache");
        let etag = page.headers[header::ETAG].to_str().unwrap().to_owned();
        let again = get_with(&app, path, &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
    }

    // Only the shared view may be framed.
    let shared = get_with(&app, "/share/whatever", &[]).await;
    assert_eq!(shared.status, StatusCode::OK);
    let csp = shared.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(!shared.headers.contains_key(header::X_FRAME_OPTIONS));

    // Every asset the page names is there, hashed, immutable, and gzipped on request.
    let html = String::from_utf8(get_with(&app, "/", &[]).await.body).unwrap();
    let assets: Vec<&str> = html.split('"').filter(|s| s.starts_with("/assets/")).collect();
    assert!(assets.len() >= 3, "{html}");
    for asset in assets {
        let plain = get_with(&app, asset, &[]).await;
        assert_eq!(plain.status, StatusCode::OK, "{asset}");
        assert_eq!(
            plain.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let zipped = get_with(&app, asset, &[(header::ACCEPT_ENCODING, "gzip, br")]).await;
        assert_eq!(zipped.headers[header::CONTENT_ENCODING], "gzip", "{asset}");
        assert!(zipped.body.len() < plain.body.len(), "{asset}");
    }
    assert_eq!(
        get_with(&app, "/assets/nope.js", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_session_says_who_is_signed_in_without_an_error() {
    let app = TestApp::new().await;
    let anon = app.call(Method::GET, "/api/v1/session", None, None).await;
    assert_eq!(anon.status, StatusCode::OK);
    assert_eq!(anon.json(), json!({"user": null, "allow_signup": true}));
    let me = app.call(Method::GET, "/api/v1/session", None, Some(&app.token)).await;
    assert_eq!(me.json()["user"]["email"], "owner@example.com");
    let bad = app.call(Method::GET, "/api/v1/session", None, Some("mtt_nope")).await;
    assert_eq!(bad.json()["user"], Value::Null);
}

#[tokio::test]
async fn a_password_change_checks_the_old_one_and_signs_out_other_browsers() {
    let app = TestApp::new().await;
    let creds = json!({"email": "owner@example.com", "password": "a long enough password"});
    let first = cookie_of(&app.call(Method::POST, "/api/v1/login", Some(creds.clone()), None).await);
    let second = cookie_of(&app.call(Method::POST, "/api/v1/login", Some(creds), None).await);
    let change = |cookie: String, body: Value| {
        Request::post("/api/v1/me/password")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let wrong = app
        .send(change(
            first.clone(),
            json!({"current_password": "not it at all", "new_password": "a brand new password"}),
        ))
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.json()["error"].as_str().unwrap().starts_with("current_password"));
    let weak = app
        .send(change(
            first.clone(),
            json!({"current_password": "a long enough password", "new_password": "short"}),
        ))
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(
        weak.json()["error"].as_str().unwrap().starts_with("new_password"),
        "{}",
        weak.json()
    );
    let ok = app
        .send(change(
            first.clone(),
            json!({"current_password": "a long enough password", "new_password": "a brand new password"}),
        ))
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);

    let me = |cookie: String| {
        Request::get("/api/v1/me")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.send(me(first)).await.status,
        StatusCode::OK,
        "the changing browser stays signed in"
    );
    assert_eq!(
        app.send(me(second)).await.status,
        StatusCode::UNAUTHORIZED,
        "others are signed out"
    );
    // API tokens are not browser sessions: they keep working.
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", None, Some(&app.token)).await.status,
        StatusCode::OK
    );
    let old = json!({"email": "owner@example.com", "password": "a long enough password"});
    assert_eq!(
        app.call(Method::POST, "/api/v1/login", Some(old), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let new = json!({"email": "owner@example.com", "password": "a brand new password"});
    assert_eq!(
        app.call(Method::POST, "/api/v1/login", Some(new), None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn api_tokens_are_listed_by_id_and_revoked() {
    let app = TestApp::new().await;
    let made = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"label": "cron"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let made = made.json();
    let secret = made["token"].as_str().unwrap().to_owned();
    let list = app
        .call(Method::GET, "/api/v1/tokens", None, Some(&app.token))
        .await
        .json();
    let labels: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["cron", "tests"], "newest first, login sessions not listed");
    assert!(
        !list.to_string().contains(&secret[4..]),
        "the token itself is never listed"
    );

    let id = made["id"].as_str().unwrap();
    let other = app.owner("other@example.com").await;
    let theirs = app
        .call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None, Some(&other))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "another owner cannot revoke it");
    let gone = app
        .call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None, Some(&app.token))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", None, Some(&secret)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None, Some(&app.token))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let junk = app
        .call(Method::DELETE, "/api/v1/tokens/not-an-id", None, Some(&app.token))
        .await;
    assert_eq!(junk.status, StatusCode::NOT_FOUND);
    assert_eq!(junk.json()["code"], "not_found");
}

#[tokio::test]
async fn a_site_has_a_domain_and_a_time_zone_and_can_be_deleted_with_its_data() {
    let app = TestApp::new().await;
    let made = app
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(json!({"name": "Shop", "domain": "https://Shop.Example.com/", "timezone": "Europe/Paris"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.json());
    let site = made.json();
    assert_eq!(site["domain"], "shop.example.com");
    assert_eq!(site["timezone"], "Europe/Paris");
    let id = site["id"].as_str().unwrap().to_owned();

    for (body, field) in [
        (json!({"name": "X", "timezone": "Mars/Olympus"}), "timezone"),
        (json!({"name": "X", "domain": "not a domain"}), "domain"),
        (json!({"name": ""}), "name"),
    ] {
        let bad = app
            .call(Method::POST, "/api/v1/projects", Some(body), Some(&app.token))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(
            bad.json()["error"].as_str().unwrap().starts_with(field),
            "{}",
            bad.json()
        );
    }
    let count = app
        .call(Method::GET, "/api/v1/projects", None, Some(&app.token))
        .await
        .json()["projects"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, 2, "refused sites leave nothing behind");

    let patched = app
        .call(
            Method::PATCH,
            &format!("/api/v1/projects/{id}"),
            Some(json!({"domain": "", "timezone": "Asia/Kolkata"})),
            Some(&app.token),
        )
        .await
        .json();
    assert_eq!(patched["domain"], Value::Null);
    assert_eq!(patched["timezone"], "Asia/Kolkata");
    assert_eq!(patched["name"], "Shop", "fields left out stay");

    // The first-event check, then an event, then deletion of the site and its data.
    let status = format!("/api/v1/projects/{}/status", app.project_id);
    let first_event = |answer: common::Answer| answer.json()["first_event_at"].clone();
    assert_eq!(
        first_event(app.call(Method::GET, &status, None, Some(&app.token)).await),
        Value::Null
    );
    assert_eq!(
        app.beacon(json!({"k": app.key, "n": "pageview", "u": "https://blog.example/"}).to_string())
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(app.stored_events().await.len(), 1);
    assert!(first_event(app.call(Method::GET, &status, None, Some(&app.token)).await).is_string());

    let other = app.owner("other@example.com").await;
    let theirs = app
        .call(
            Method::DELETE,
            &format!("/api/v1/projects/{}", app.project_id),
            None,
            Some(&other),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let gone = app
        .call(
            Method::DELETE,
            &format!("/api/v1/projects/{}", app.project_id),
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(app.stored_events().await.len(), 0);
    let shown = app
        .call(
            Method::GET,
            &format!("/api/v1/projects/{}", app.project_id),
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(shown.status, StatusCode::NOT_FOUND);
    // Its key stops working at once.
    let late = app
        .beacon(json!({"k": app.key, "n": "pageview", "u": "https://blog.example/"}).to_string())
        .await;
    assert_eq!(
        late.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        String::from_utf8_lossy(&late.body)
    );
}

#[tokio::test]
async fn a_share_link_answers_queries_for_its_site_only_and_keeps_its_password() {
    let app = TestApp::new().await;
    assert_eq!(
        app.beacon(json!({"k": app.key, "n": "pageview", "u": "https://blog.example/a"}).to_string())
            .await
            .status,
        StatusCode::ACCEPTED
    );
    app.settle().await;
    let shares = format!("/api/v1/projects/{}/shares", app.project_id);
    let open = app
        .call(
            Method::POST,
            &shares,
            Some(json!({"label": "public"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(open.status, StatusCode::CREATED);
    let open = open.json();
    assert_eq!(open["has_password"], false);
    let locked = app
        .call(
            Method::POST,
            &shares,
            Some(json!({"label": "team", "password": "a share password"})),
            Some(&app.token),
        )
        .await
        .json();
    assert_eq!(locked["has_password"], true);
    let list = app.call(Method::GET, &shares, None, Some(&app.token)).await.json();
    assert_eq!(list["shares"].as_array().unwrap().len(), 2);

    let body = json!({"metrics": ["pageviews"], "date_range": "day", "project_id": "000000000000000000000000"});
    let open_slug = open["slug"].as_str().unwrap();
    let info = app
        .call(Method::GET, &format!("/api/v1/share/{open_slug}"), None, None)
        .await
        .json();
    assert_eq!(info["project"]["id"], app.project_id.as_str());
    assert_eq!(
        (info["password_required"].clone(), info["unlocked"].clone()),
        (json!(false), json!(true))
    );
    let answer = app
        .call(
            Method::POST,
            &format!("/api/v1/share/{open_slug}/query"),
            Some(body.clone()),
            None,
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.json()["totals"]["metrics"],
        json!([1]),
        "the link's own site, whatever the body says"
    );

    let slug = locked["slug"].as_str().unwrap();
    let refused = app
        .call(
            Method::POST,
            &format!("/api/v1/share/{slug}/query"),
            Some(body.clone()),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let wrong = app
        .call(
            Method::POST,
            &format!("/api/v1/share/{slug}/unlock"),
            Some(json!({"password": "guess"})),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unlocked = app
        .call(
            Method::POST,
            &format!("/api/v1/share/{slug}/unlock"),
            Some(json!({"password": "a share password"})),
            None,
        )
        .await;
    assert_eq!(unlocked.status, StatusCode::NO_CONTENT);
    let set = unlocked.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains(&format!("Path=/api/v1/share/{slug}")),
        "{set}"
    );
    let cookie = cookie_of(&unlocked);
    let with_cookie = |uri: String| {
        Request::post(uri)
            .header(header::COOKIE, cookie.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    assert_eq!(
        app.send(with_cookie(format!("/api/v1/share/{slug}/query")))
            .await
            .status,
        StatusCode::OK
    );
    // The cookie is worth nothing for another link.
    let forged = app.send(with_cookie(format!("/api/v1/share/{open_slug}x/query"))).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);

    // Revoked: the link and its queries are gone.
    let id = locked["id"].as_str().unwrap();
    let deleted = app
        .call(Method::DELETE, &format!("{shares}/{id}"), None, Some(&app.token))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.send(with_cookie(format!("/api/v1/share/{slug}/query")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(Method::GET, &format!("/api/v1/share/{slug}"), None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn all_time_starts_at_the_first_event() {
    let app = TestApp::new().await;
    let body = json!({"project_id": app.project_id, "metrics": ["pageviews"], "date_range": "all", "timezone": "Europe/Berlin"});
    let empty = app
        .call(Method::POST, "/api/v1/query", Some(body.clone()), Some(&app.token))
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", String::from_utf8_lossy(&empty.body));
    // No event yet: from the site's creation, today, to today.
    let range = empty.json()["meta"]["date_range"].clone();
    let today = query::time::wall(chrono_tz::Europe::Berlin, collector::now_ms()).date();
    assert_eq!(range[0], format!("{today}T00:00:00"), "{range}");
    // 20 hours ago (an event may be up to a day older than its request): often yesterday.
    let now = collector::now_ms();
    let earlier = now - 20 * 3_600_000;
    let sent = app
        .beacon(
            json!({"k": app.key, "st": now, "e": [{"n": "pageview", "u": "https://blog.example/", "t": earlier}]})
                .to_string(),
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    app.settle().await;
    let answer = app
        .call(Method::POST, "/api/v1/query", Some(body), Some(&app.token))
        .await
        .json();
    assert_eq!(answer["totals"]["metrics"], json!([1]));
    let first_day = query::time::wall(chrono_tz::Europe::Berlin, earlier).date();
    assert_eq!(answer["meta"]["date_range"][0], format!("{first_day}T00:00:00"));
}

#[tokio::test]
async fn the_tracker_is_built_in_and_loads_its_hashed_wasm() {
    let app = TestApp::new().await;
    let script = get_with(&app, "/pixel.js", &[]).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(script.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let js = String::from_utf8(script.body).unwrap();
    let wasm = js
        .split(['"', '\''])
        .find(|s| s.starts_with("pixel.") && s.ends_with(".wasm"))
        .unwrap_or_else(|| panic!("pixel.js names no wasm: {js}"));
    let module = get_with(&app, &format!("/{wasm}"), &[]).await;
    assert_eq!(module.status, StatusCode::OK, "{wasm}");
    assert_eq!(module.headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        module.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&module.body[..4], b"\0asm");
}

#[tokio::test]
async fn behind_https_a_share_password_cookie_works_in_an_iframe() {
    let app = TestApp::with(|a| a.secure_cookies = Some(true)).await;
    let shares = format!("/api/v1/projects/{}/shares", app.project_id);
    let link = app
        .call(
            Method::POST,
            &shares,
            Some(json!({"label": "embed", "password": "a share password"})),
            Some(&app.token),
        )
        .await
        .json();
    let slug = link["slug"].as_str().unwrap();
    let unlocked = app
        .call(
            Method::POST,
            &format!("/api/v1/share/{slug}/unlock"),
            Some(json!({"password": "a share password"})),
            None,
        )
        .await;
    let set = unlocked.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set.contains("SameSite=None; Secure; Partitioned"), "{set}");
}
