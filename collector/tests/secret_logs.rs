//! Secrets are never logged, at any level: the real `collector` binary runs with `RUST_LOG=trace`
//! (text and JSON lines), every request that carries a secret is made (sign-up, login, wrong and
//! changed passwords, the session cookie, bearer tokens, ingestion keys in a body and in the GIF's
//! query string, a password-protected share link and its cookie, a signed internal call and the
//! salt it answers), and its whole log output is searched for each secret.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use contract::signing::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use serde_json::{json, Value};

const PEPPER: &str = "the key pepper: a secret of thirty-two bytes or more";
const EDGE_SECRET: &str = "the edge secret: shared with the edge, 32+ bytes";
const PASSWORD: &str = "first-password-Zq7uV";
const WRONG_PASSWORD: &str = "wrong-password-Hn4tK";
const NEW_PASSWORD: &str = "second-password-Wd2sP";
const SHARE_PASSWORD: &str = "share-password-Jc8rX";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A `collector serve` process whose stderr is collected.
struct Collector {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    fn start(dir: &std::path::Path, json_logs: bool) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_collector"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("COLLECTOR_DATA_DIR", dir)
            .env("COLLECTOR_KEY_PEPPER", PEPPER)
            .env("COLLECTOR_EDGE_SECRET", EDGE_SECRET)
            .env("RUST_LOG", "trace")
            .env_remove("MONGODB_URI")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if json_logs {
            command.env("COLLECTOR_LOG_FORMAT", "json");
        } else {
            command.env_remove("COLLECTOR_LOG_FORMAT");
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (lines, received) = mpsc::channel::<String>();
        let reader = std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push_str(&line);
                    log.lock().unwrap().push('\n');
                    let _ = lines.send(line);
                }
            }
        });
        let port = loop {
            let line = received
                .recv_timeout(Duration::from_secs(30))
                .expect("the collector logs its address");
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        Self {
            child,
            port,
            log,
            reader: Some(reader),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stops it with SIGTERM and returns everything it logged.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.child.wait().unwrap().success(), "the collector stops cleanly");
        self.reader.take().unwrap().join().unwrap();
        let log = self.log.lock().unwrap().clone();
        log
    }
}

impl Drop for Collector {
    /// Kills the process if a failed assertion leaves it running.
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn cookie_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("a {name} cookie"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Makes every request that carries a secret; returns the secrets it saw.
async fn exercise(collector: &Collector) -> Vec<(&'static str, String)> {
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(collector.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let creds = json!({"email": "ada@example.com", "password": PASSWORD});
    assert_eq!(post("/api/v1/users", creds.clone()).send().await.unwrap().status(), 202);
    let wrong = json!({"email": "ada@example.com", "password": WRONG_PASSWORD});
    assert_eq!(post("/api/v1/login", wrong).send().await.unwrap().status(), 401);
    let login = post("/api/v1/login", creds).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let session = cookie_of(&login, "mtr_session");
    let session_token = session.split_once('=').unwrap().1.to_owned();
    let token: Value = post("/api/v1/tokens", json!({"label": "ci"}))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_token = token["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {api_token}");
    let project: Value = post("/api/v1/projects", json!({"name": "Blog"}))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project_id = project["id"].as_str().unwrap().to_owned();
    let key: Value = post(
        &format!("/api/v1/projects/{project_id}/keys"),
        json!({"label": "Production"}),
    )
    .header("authorization", &bearer)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let ingestion_key = key["key"].as_str().unwrap().to_owned();

    // Events: the key in a body, then in the GIF's query string.
    let event = json!({"k": ingestion_key, "n": "pageview", "u": "https://example.com/"});
    let sent = http
        .post(collector.url("/api/event"))
        .header("content-type", "text/plain")
        .header("user-agent", FIREFOX)
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let gif = http
        .get(collector.url(&format!(
            "/api/event.gif?k={ingestion_key}&u=https%3A%2F%2Fexample.com%2Fgif"
        )))
        .header("user-agent", FIREFOX)
        .send()
        .await
        .unwrap();
    assert_eq!(gif.status(), 200);
    // A wrong key in the query string is not logged either (a typo of a real one is close to it).
    let typo = format!("{}x", &ingestion_key[..ingestion_key.len() - 1]);
    let refused = http
        .get(collector.url(&format!("/api/event.gif?k={typo}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // A password-protected share link: its slug, its password and its cookie.
    let share: Value = post(
        &format!("/api/v1/projects/{project_id}/shares"),
        json!({"label": "Public", "password": SHARE_PASSWORD}),
    )
    .header("authorization", &bearer)
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let slug = share["slug"].as_str().unwrap().to_owned();
    let page = http
        .get(collector.url(&format!("/share/{slug}")))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let unlock = post(
        &format!("/api/v1/share/{slug}/unlock"),
        json!({"password": SHARE_PASSWORD}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(unlock.status(), 204);
    let share_cookie = cookie_of(&unlock, "mtr_share");
    let shared = post(
        &format!("/api/v1/share/{slug}/query"),
        json!({"metrics": ["visitors"], "date_range": "7d"}),
    )
    .header("cookie", &share_cookie)
    .send()
    .await
    .unwrap();
    assert_eq!(shared.status(), 200);

    // The password changes (both passwords are in the body).
    let changed = post(
        "/api/v1/me/password",
        json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .header("cookie", &session)
    .send()
    .await
    .unwrap();
    assert_eq!(changed.status(), 204);

    // The edge's signed call for a visitor salt: the signature and the salt it answers.
    let now = collector::now_ms() / 1000;
    let path = format!("/internal/v1/salts/{}", now / 86_400);
    let signature = sign(EDGE_SECRET.as_bytes(), now, "GET", &path, b"");
    let salt: Value = http
        .get(collector.url(&path))
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(SIGNATURE_HEADER, &signature)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let salt = salt["salt"].as_str().expect("a salt").to_owned();

    vec![
        ("key pepper", PEPPER.to_owned()),
        ("edge secret", EDGE_SECRET.to_owned()),
        ("password", PASSWORD.to_owned()),
        ("wrong password", WRONG_PASSWORD.to_owned()),
        ("new password", NEW_PASSWORD.to_owned()),
        ("session token", session_token),
        ("API token", api_token),
        ("ingestion key", ingestion_key),
        ("mistyped ingestion key", typo),
        ("share slug", slug),
        ("share password", SHARE_PASSWORD.to_owned()),
        ("share cookie", share_cookie.split_once('=').unwrap().1.to_owned()),
        ("request signature", signature),
        ("visitor salt", salt),
    ]
}

async fn no_secret_is_logged(json_logs: bool) {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), json_logs);
    let secrets = exercise(&collector).await;
    let log = collector.stop();
    // The trace was on and saw the requests: a test that found nothing because nothing was
    // logged would prove nothing.
    assert!(
        log.contains("/api/event.gif") && log.contains("/api/v1/login") && log.contains("/internal/v1/salts/"),
        "requests are traced:\n{log}"
    );
    assert!(log.contains("DEBUG"), "levels below info are on:\n{log}");
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        if let Some(at) = log.find(&secret) {
            let line = log[..at].rsplit('\n').next().unwrap_or("");
            panic!("the {what} is in the log: {line}{secret}…");
        }
    }
}

#[tokio::test]
async fn no_secret_is_logged_in_text_logs() {
    no_secret_is_logged(false).await;
}

#[tokio::test]
async fn no_secret_is_logged_in_json_logs() {
    no_secret_is_logged(true).await;
}
