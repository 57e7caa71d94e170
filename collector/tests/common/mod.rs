//! A collector on a fresh embedded store, driven through `router(state).oneshot(...)`.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use collector::app::{build_state, Services};
use collector::config::ConfigArgs;
use collector::state::AppState;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    pub services: Services,
    pub dir: tempfile::TempDir,
    /// A logged-in owner's bearer token, a project of theirs and an ingestion key for it.
    pub token: String,
    pub project_id: String,
    pub key: String,
    pub key_id: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut ConfigArgs)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut args = ConfigArgs {
            data_dir: Some(dir.path().into()),
            trust_proxy: Some(true),
            ..Default::default()
        };
        tweak(&mut args);
        let config = args.resolve(Some("127.0.0.1:0".into())).unwrap();
        let (state, services) = build_state(&config).await.unwrap();
        let mut app = TestApp {
            state,
            services,
            dir,
            token: String::new(),
            project_id: String::new(),
            key: String::new(),
            key_id: String::new(),
        };
        app.token = app.owner("owner@example.com").await;
        let project = app
            .call(
                Method::POST,
                "/api/v1/projects",
                Some(json!({"name": "Blog"})),
                Some(&app.token.clone()),
            )
            .await;
        assert_eq!(project.status, StatusCode::CREATED);
        app.project_id = project.json()["id"].as_str().unwrap().to_owned();
        let key = app
            .call(
                Method::POST,
                &format!("/api/v1/projects/{}/keys", app.project_id),
                Some(json!({"label": "Production"})),
                Some(&app.token.clone()),
            )
            .await;
        assert_eq!(key.status, StatusCode::CREATED);
        app.key = key.json()["key"].as_str().unwrap().to_owned();
        app.key_id = key.json()["id"].as_str().unwrap().to_owned();
        app
    }

    /// Creates an owner (in the store, as `collector user add` does: the sign-up endpoint answers
    /// no sooner than half a second, and has tests of its own) and returns a bearer token of theirs
    /// from a login and the token API.
    pub async fn owner(&self, email: &str) -> String {
        let creds = json!({"email": email, "password": "a long enough password"});
        collector::ops::create_user(&*self.state.store, email, "a long enough password")
            .await
            .unwrap();
        let login = self.call(Method::POST, "/api/v1/login", Some(creds), None).await;
        assert_eq!(login.status, StatusCode::OK);
        let cookie = login.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let token = self
            .send(
                Request::post("/api/v1/tokens")
                    .header(header::COOKIE, cookie)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"label": "tests"}).to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            token.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&token.body)
        );
        token.json()["token"].as_str().unwrap().to_owned()
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = collector::router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        Answer { status, headers, body }
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>, token: Option<&str>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    /// Posts raw bytes to `/api/event` as sendBeacon would (text/plain), from a browser-like client.
    pub async fn beacon(&self, body: impl Into<Body>) -> Answer {
        self.send(
            Request::post("/api/event")
                .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                .header(header::USER_AGENT, FIREFOX)
                .header("x-forwarded-for", "203.0.113.9")
                .header("cf-ipcountry", "FR")
                .body(body.into())
                .unwrap(),
        )
        .await
    }

    pub fn project(&self) -> contract::ids::ProjectId {
        contract::ids::ProjectId::parse(&self.project_id).unwrap()
    }

    /// Writes everything sent so far and rebuilds the rollups it touched, as the collector's
    /// writer and rollup worker do within seconds.
    pub async fn settle(&self) {
        self.state.writer.flush().await.unwrap();
        while query::engine::rebuild_dirty(&*self.state.store, 64, i64::MIN)
            .await
            .unwrap()
            > 0
        {}
    }

    /// The project's events once everything sent so far is written (browsers' requests are
    /// answered when queued).
    pub async fn stored_events(&self) -> Vec<contract::enriched::EnrichedEvent> {
        self.state.writer.flush().await.unwrap();
        let now = collector::now_ms();
        self.state
            .store
            .events(&self.project(), now - 86_400_000 * 3, now + 86_400_000)
            .await
            .unwrap()
    }
}

pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
