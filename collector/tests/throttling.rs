//! Accounts under an open sign-up: password guessing is throttled per account, per share link and
//! per client address (429 with `Retry-After`), sign-up answers the same for new and taken emails
//! and is limited per client. Through the real router; clients are told apart by
//! `X-Forwarded-For` (the test collector trusts its proxy).

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use collector::throttle::{
    LOGIN_FAILURES_PER_ACCOUNT, LOGIN_WINDOW, PASSWORD_FAILURES_PER_CLIENT, SIGNUPS_PER_CLIENT, SIGNUP_WINDOW,
    UNLOCK_FAILURES_PER_LINK,
};
use common::{Answer, TestApp};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

async fn post_from(app: &TestApp, client: &str, path: &str, body: Value) -> Answer {
    app.send(
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", client)
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

async fn login(app: &TestApp, client: &str, email: &str, password: &str) -> Answer {
    post_from(
        app,
        client,
        "/api/v1/login",
        json!({"email": email, "password": password}),
    )
    .await
}

/// Asserts a 429 whose `Retry-After` is within the window.
fn assert_throttled(answer: &Answer, window: Duration, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{what}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.json()["code"], "rate_limited", "{what}");
    let retry: u64 = answer.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1 && retry <= window.as_secs(), "{what}: Retry-After {retry}");
    assert!(answer.json()["error"].as_str().unwrap().contains("retry in"), "{what}");
}

#[tokio::test]
async fn an_account_is_throttled_after_its_wrong_passwords_from_anywhere() {
    let app = TestApp::new().await;
    for i in 0..LOGIN_FAILURES_PER_ACCOUNT {
        let answer = login(&app, &format!("203.0.113.{i}"), "owner@example.com", "wrong password!").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Even the right password waits now, from yet another address.
    let refused = login(&app, "198.51.100.1", "OWNER@example.com ", PASSWORD).await;
    assert_throttled(&refused, LOGIN_WINDOW, "the account");
    // Other accounts are not affected.
    app.owner("other@example.com").await;
    assert_eq!(
        login(&app, "198.51.100.1", "other@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    // An email without an account is counted the same, so the limit tells nothing either.
    for i in 0..LOGIN_FAILURES_PER_ACCOUNT {
        let answer = login(&app, &format!("192.0.2.{i}"), "ghost@example.com", "wrong password!").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    assert_throttled(
        &login(&app, "192.0.2.200", "ghost@example.com", "wrong password!").await,
        LOGIN_WINDOW,
        "no account",
    );
    let metrics = String::from_utf8(app.call(Method::GET, "/metrics", None, None).await.body).unwrap();
    assert!(
        metrics.contains("collector_throttled_total{what=\"login\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_right_password_clears_the_accounts_count() {
    let app = TestApp::new().await;
    for round in 0..2 {
        for i in 0..LOGIN_FAILURES_PER_ACCOUNT - 1 {
            let client = format!("203.0.113.{}", round * 50 + i);
            let answer = login(&app, &client, "owner@example.com", "wrong password!").await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            login(&app, "198.51.100.1", "owner@example.com", PASSWORD).await.status,
            StatusCode::OK,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn a_client_is_throttled_after_its_wrong_passwords_across_accounts_and_links() {
    let app = TestApp::new().await;
    // IPv6 clients count by their /64: every address below is the same client.
    let client = |i: u32| format!("2001:db8:7:7:{i:x}::1");
    for i in 0..PASSWORD_FAILURES_PER_CLIENT {
        let answer = login(&app, &client(i), &format!("user{i}@example.com"), "wrong password!").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let refused = login(&app, &client(999), "owner@example.com", PASSWORD).await;
    assert_throttled(&refused, LOGIN_WINDOW, "the client");
    // A share link's password is a password too: same budget.
    let share = app
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/shares", app.project_id),
            Some(json!({"label": "Public", "password": "the share password"})),
            Some(&app.token),
        )
        .await;
    let slug = share.json()["slug"].as_str().unwrap().to_owned();
    let unlock = post_from(
        &app,
        &client(1000),
        &format!("/api/v1/share/{slug}/unlock"),
        json!({"password": "the share password"}),
    )
    .await;
    assert_throttled(&unlock, LOGIN_WINDOW, "share unlock from the client");
    // Another client (another /64, or IPv4) signs in.
    assert_eq!(
        login(&app, "2001:db8:7:8::1", "owner@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_share_links_password_is_throttled_per_link() {
    let app = TestApp::new().await;
    let share = app
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/shares", app.project_id),
            Some(json!({"label": "Public", "password": "the share password"})),
            Some(&app.token),
        )
        .await;
    let path = format!("/api/v1/share/{}/unlock", share.json()["slug"].as_str().unwrap());
    for i in 0..UNLOCK_FAILURES_PER_LINK {
        let answer = post_from(&app, &format!("203.0.113.{i}"), &path, json!({"password": "a guess"})).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let right = post_from(&app, "198.51.100.9", &path, json!({"password": "the share password"})).await;
    assert_throttled(&right, LOGIN_WINDOW, "the link");
}

#[tokio::test]
async fn changing_the_password_is_throttled_like_login() {
    let app = TestApp::new().await;
    let change = |client: String, current: &'static str| {
        let app = &app;
        async move {
            app.send(
                Request::post("/api/v1/me/password")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
                    .header("x-forwarded-for", client)
                    .body(Body::from(
                        json!({"current_password": current, "new_password": "a brand new password"}).to_string(),
                    ))
                    .unwrap(),
            )
            .await
        }
    };
    for i in 0..LOGIN_FAILURES_PER_ACCOUNT {
        let answer = change(format!("203.0.113.{i}"), "a wrong guess!").await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "guess {i}");
        assert_eq!(answer.json()["code"], "wrong_password");
    }
    assert_throttled(
        &change("198.51.100.3".into(), PASSWORD).await,
        LOGIN_WINDOW,
        "password change",
    );
    assert_throttled(
        &login(&app, "198.51.100.4", "owner@example.com", PASSWORD).await,
        LOGIN_WINDOW,
        "login of the same account",
    );
}

/// Median duration of `n` sign-ups made by `sign_up(i)`.
async fn median_sign_up<F, Fut>(n: usize, mut sign_up: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let mut took = Vec::new();
    for i in 0..n {
        let started = Instant::now();
        let answer = sign_up(i).await;
        took.push(started.elapsed());
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    took.sort();
    took[n / 2]
}

#[tokio::test]
async fn sign_up_answers_the_same_for_new_and_taken_emails() {
    let app = TestApp::new().await;
    let sign_up = |client: String, email: String, password: &'static str| {
        let app = &app;
        async move {
            post_from(
                app,
                &client,
                "/api/v1/users",
                json!({"email": email, "password": password}),
            )
            .await
        }
    };
    let new = sign_up("203.0.113.1".into(), "new@example.com".into(), "another long password").await;
    let taken = sign_up(
        "203.0.113.2".into(),
        "Owner@Example.com".into(),
        "another long password",
    )
    .await;
    assert_eq!((new.status, taken.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    let (new, taken) = (new.json(), taken.json());
    assert_eq!(new["note"], taken["note"]);
    assert_eq!(
        new.as_object().unwrap().keys().collect::<Vec<_>>(),
        taken.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(
        (new["email"].as_str(), taken["email"].as_str()),
        (Some("new@example.com"), Some("owner@example.com"))
    );
    // Nothing changed for the taken email: its own password still signs in, the new one does not.
    assert_eq!(
        login(&app, "198.51.100.1", "owner@example.com", "another long password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "198.51.100.1", "owner@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "198.51.100.1", "new@example.com", "another long password")
            .await
            .status,
        StatusCode::OK
    );
    // A taken email is not answered measurably faster (medians of 3, each from its own client so
    // the sign-up limit stays out of the way).
    let fresh = median_sign_up(3, |i| {
        sign_up(format!("192.0.2.{i}"), format!("fresh{i}@example.com"), PASSWORD)
    })
    .await;
    let existing = median_sign_up(3, |i| {
        sign_up(format!("192.0.2.{}", 100 + i), "owner@example.com".into(), PASSWORD)
    })
    .await;
    assert!(
        existing * 4 >= fresh * 3 && existing <= fresh * 2,
        "new email {fresh:?}, taken email {existing:?}"
    );
}

#[tokio::test]
async fn sign_up_is_limited_per_client() {
    let app = TestApp::new().await;
    let client = "203.0.113.77";
    for i in 0..SIGNUPS_PER_CLIENT {
        // Invalid attempts count too: each one may cost a password hash.
        let password = if i % 3 == 0 { "short" } else { PASSWORD };
        let answer = post_from(
            &app,
            client,
            "/api/v1/users",
            json!({"email": format!("u{i}@example.com"), "password": password}),
        )
        .await;
        assert_ne!(answer.status, StatusCode::TOO_MANY_REQUESTS, "sign-up {i}");
    }
    let refused = post_from(
        &app,
        client,
        "/api/v1/users",
        json!({"email": "one-more@example.com", "password": PASSWORD}),
    )
    .await;
    assert_throttled(&refused, SIGNUP_WINDOW, "sign-up");
    assert!(
        refused.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > SIGNUP_WINDOW.as_secs() - 60
    );
    let elsewhere = post_from(
        &app,
        "203.0.113.78",
        "/api/v1/users",
        json!({"email": "one-more@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::ACCEPTED);
}
