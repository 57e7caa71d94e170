//! Every error is JSON (`{"error": "...", "code": "..."}`) with the right status, including what
//! axum answers by itself (unknown routes, methods, malformed path parameters, query strings and
//! bodies); a browser navigating to a page the dashboard does not have gets the app's 404 page.
//! Through the real router on the embedded store.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{Answer, TestApp};
use serde_json::json;

/// Asserts a JSON error with this status and code, and returns its message.
fn json_error(answer: &Answer, status: StatusCode, code: &str, what: &str) -> String {
    assert_eq!(
        answer.status,
        status,
        "{what}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let content_type = answer.headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap());
    assert_eq!(content_type, Some("application/json"), "{what}");
    let body = answer.json();
    assert_eq!(body["code"], code, "{what}: {body}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "{what}: {body}");
    message
}

fn get(uri: &str, accept: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    request.body(Body::empty()).unwrap()
}

/// What Chromium sends when navigating to a page.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";

#[tokio::test]
async fn unknown_api_routes_are_a_json_404_naming_the_route() {
    let app = TestApp::new().await;
    for (method, uri) in [
        (Method::GET, "/api/v1/nope"),
        (Method::POST, "/api/v1/projects/x/nope"),
        (Method::GET, "/api"),
        (Method::DELETE, "/internal/v1/whatever"),
        (Method::GET, "/api/event/extra"),
    ] {
        let answer = app.call(method.clone(), uri, None, None).await;
        let message = json_error(&answer, StatusCode::NOT_FOUND, "not_found", uri);
        assert!(message.contains(&format!("{method} {uri}")), "{message}");
    }
    // A browser asking for an API path still gets JSON: it is not a page of the app.
    let answer = app.send(get("/api/v1/nope", Some(BROWSER_ACCEPT))).await;
    json_error(&answer, StatusCode::NOT_FOUND, "not_found", "browser on /api");
    // A very long path is echoed cut short.
    let long = format!("/api/{}", "x".repeat(5000));
    let message = json_error(
        &app.call(Method::GET, &long, None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "long path",
    );
    assert!(message.len() < 400, "{message}");
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_a_json_405_with_allow() {
    let app = TestApp::new().await;
    for (method, uri, allowed) in [
        (Method::DELETE, "/api/v1/login", "POST"),
        (Method::PUT, "/api/event", "POST"),
        (Method::POST, "/api/event.gif", "GET"),
        (Method::PUT, "/api/v1/projects", "GET"),
        (Method::POST, "/healthz", "GET"),
        (Method::DELETE, "/", "GET"),
    ] {
        let answer = app.call(method.clone(), uri, None, Some(&app.token)).await;
        let message = json_error(&answer, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", uri);
        let allow = answer.headers[header::ALLOW].to_str().unwrap().to_owned();
        assert!(allow.contains(allowed), "{uri}: Allow {allow}");
        assert!(
            message.contains(&method.to_string()) && message.contains(uri) && message.contains(allowed),
            "{message}"
        );
    }
    // The event endpoint's CORS layer still answers preflights and labels its 405s.
    let preflight = app
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/event")
                .header(header::ORIGIN, "https://shop.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    let put = app
        .send(
            Request::put("/api/event")
                .header(header::ORIGIN, "https://shop.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    json_error(
        &put,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "PUT with CORS",
    );
    assert_eq!(put.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn malformed_path_parameters_and_query_strings_are_json_400s() {
    let app = TestApp::new().await;
    // Not UTF-8 once percent-decoded.
    for uri in [
        "/api/v1/projects/%FF".to_owned(),
        format!("/api/v1/projects/{}/keys/%C3%28", app.project_id),
        "/api/v1/share/%FF%FE".to_owned(),
        "/api/v1/tokens/%80".to_owned(),
        "/assets/%FF.js".to_owned(),
    ] {
        let method = if uri.starts_with("/api/v1/tokens") || uri.contains("/keys/") {
            Method::DELETE
        } else {
            Method::GET
        };
        let answer = app.call(method, &uri, None, Some(&app.token)).await;
        let message = json_error(&answer, StatusCode::BAD_REQUEST, "invalid_path", &uri);
        assert!(message.to_lowercase().contains("utf-8"), "{uri}: {message}");
    }
    // A parameter given twice cannot be read as one value.
    let uri = format!("/api/stats?site_id={0}&site_id={0}&date=2026-01-15", app.project_id);
    let answer = app.call(Method::GET, &uri, None, Some(&app.token)).await;
    let message = json_error(&answer, StatusCode::BAD_REQUEST, "invalid_query_string", &uri);
    assert!(message.contains("site_id"), "{message}");
    // Well-formed but wrong values are the handler's errors, JSON as before.
    let uri = format!("/api/stats?site_id={}&date=15.01.2026", app.project_id);
    let answer = app.call(Method::GET, &uri, None, Some(&app.token)).await;
    json_error(&answer, StatusCode::BAD_REQUEST, "invalid_query", &uri);
}

#[tokio::test]
async fn json_body_rejections_have_their_status() {
    let app = TestApp::new().await;
    let post = |content_type: Option<&str>, body: Vec<u8>| {
        let mut request = Request::post("/api/v1/login");
        if let Some(t) = content_type {
            request = request.header(header::CONTENT_TYPE, t);
        }
        request.body(Body::from(body)).unwrap()
    };
    let cases: Vec<(Request<Body>, StatusCode, &str, &str)> = vec![
        (
            post(Some("application/json"), b"{\"email\":".to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "syntax",
        ),
        (
            post(Some("application/json"), b"{\"email\":1}".to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "shape",
        ),
        (
            post(Some("text/plain"), b"{}".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "text/plain",
        ),
        (
            post(None, b"{}".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "no type",
        ),
        (
            post(
                Some("application/json"),
                vec![b' '; contract::limits::MAX_BODY_BYTES + 1],
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "over the limit",
        ),
    ];
    for (request, status, code, what) in cases {
        let message = json_error(&app.send(request).await, status, code, what);
        if code == "invalid_json" {
            assert!(
                message.contains("email") || message.contains("EOF"),
                "{what}: {message}"
            );
        }
    }
}

#[tokio::test]
async fn browsers_get_the_app_for_its_pages_and_its_404_page_elsewhere() {
    let app = TestApp::new().await;
    // The app's own pages are served as before.
    for uri in [
        "/",
        "/login",
        "/signup",
        "/account",
        "/sites/abc/settings",
        "/share/xyz",
    ] {
        let answer = app.send(get(uri, Some(BROWSER_ACCEPT))).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert!(answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    // Another page: the app (which shows "Page not found") with a 404 status, never a 304.
    for uri in ["/no/such/page", "/nope", "/favicon-page"] {
        let answer = app
            .send(
                Request::get(uri)
                    .header(header::ACCEPT, BROWSER_ACCEPT)
                    .header(header::IF_NONE_MATCH, "*")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(String::from_utf8_lossy(&answer.body).contains("/assets/app-"), "{uri}");
        assert!(answer.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
    // Not a navigation (a script, an image request, another method): JSON.
    for (request, what) in [
        (get("/no/such/page", None), "no Accept"),
        (get("/no/such/page", Some("application/json")), "JSON client"),
        (get("/favicon.ico", Some("image/avif,image/webp,*/*")), "favicon"),
        (
            Request::post("/no/such/page")
                .header(header::ACCEPT, BROWSER_ACCEPT)
                .body(Body::empty())
                .unwrap(),
            "POST",
        ),
        (
            Request::post("/nope")
                .header(header::ACCEPT, BROWSER_ACCEPT)
                .body(Body::empty())
                .unwrap(),
            "POST one segment",
        ),
    ] {
        json_error(&app.send(request).await, StatusCode::NOT_FOUND, "not_found", what);
    }
    // Missing files are JSON 404s too.
    for uri in ["/assets/app-0000.js", "/pixel.0123.wasm"] {
        let answer = app.send(get(uri, Some("*/*"))).await;
        let message = json_error(&answer, StatusCode::NOT_FOUND, "not_found", uri);
        assert_eq!(message, "asset not found");
    }
}

#[tokio::test]
async fn handler_errors_keep_their_codes_and_details() {
    // The middleware only rewrites non-JSON errors: handlers' own JSON passes through unchanged.
    let app = TestApp::new().await;
    let answer = app
        .call(
            Method::POST,
            "/api/v1/query",
            Some(json!({"project_id": app.project_id, "metrics": ["pagviews"], "date_range": "7d"})),
            Some(&app.token),
        )
        .await;
    json_error(&answer, StatusCode::BAD_REQUEST, "invalid_query", "query");
    assert_eq!(answer.json()["field"], "metrics[0]");
    let unauthorized = app.call(Method::GET, "/api/v1/projects", None, None).await;
    json_error(&unauthorized, StatusCode::UNAUTHORIZED, "unauthorized", "no token");
}
