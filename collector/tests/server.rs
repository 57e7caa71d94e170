//! The collector as a real server on a loopback port: shutdown, restarts, two processes on one
//! MongoDB.

use std::sync::Arc;

use collector::config::ConfigArgs;
use collector::Application;
use contract::ids::ProjectId;
use serde_json::json;
use store::Store;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const PEPPER: &str = "a pepper of at least thirty-two bytes!!";
const KEY_EDGE_SECRET: &str = "an edge secret of at least thirty-two bytes";

/// Creates an owner, a project and a key directly in the store (as the CLI does).
async fn provision(store: &dyn Store) -> (ProjectId, String) {
    let owner = collector::ops::create_user(store, "ops@example.com", "a long enough password")
        .await
        .unwrap();
    let project = collector::ops::create_project(store, &owner, "Site").await.unwrap();
    let (key, _) = collector::ops::create_key(store, PEPPER, &project, "Production")
        .await
        .unwrap();
    (project.id, key.expose().to_owned())
}

fn args(dir: &std::path::Path) -> ConfigArgs {
    ConfigArgs {
        data_dir: Some(dir.into()),
        key_pepper: Some(PEPPER.into()),
        edge_secret: Some(KEY_EDGE_SECRET.into()),
        ..Default::default()
    }
}

/// Requests in flight when the shutdown signal comes are finished and their events written; after
/// a restart on the same data every accepted event is there, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = args(dir.path()).resolve(Some("127.0.0.1:0".into())).unwrap();
    let (project, key) = {
        let store = collector::app::open_store(&config).await.unwrap();
        provision(&*store).await
    };
    let app = Application::build(config.clone()).await.unwrap();
    let url = format!("http://127.0.0.1:{}/api/event", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    // 300 requests from 30 concurrent clients; the stop signal comes once 100 were answered, so
    // requests are in flight (and queued at the writer) when it does.
    let client = reqwest::Client::new();
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut stop = Some(stop);
    let mut requests = Vec::new();
    for worker in 0..30 {
        let (client, url, key, answered) = (client.clone(), url.clone(), key.clone(), answered.clone());
        requests.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            for i in 0..10 {
                let id = format!("s{worker}x{i}");
                let body =
                    json!({"k": key, "n": "pageview", "u": format!("https://example.com/{id}"), "id": id}).to_string();
                let answer = client
                    .post(&url)
                    .header("content-type", "text/plain")
                    .header("user-agent", FIREFOX)
                    .body(body)
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == 202 => {
                        let json: serde_json::Value = r.json().await.unwrap();
                        assert_eq!(json["accepted"], 1, "{json}");
                        accepted.push(id);
                    }
                    Ok(r) => panic!("unexpected answer {}", r.status()),
                    Err(_) => break, // the server stopped accepting connections
                }
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            accepted
        }));
    }
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    stop.take().unwrap().send(()).unwrap();
    let mut accepted_ids = Vec::new();
    for r in requests {
        accepted_ids.extend(r.await.unwrap());
    }
    assert!(
        !accepted_ids.is_empty() && accepted_ids.len() < 300,
        "the stop came mid-way: {}",
        accepted_ids.len()
    );
    server.await.unwrap().unwrap();

    // Restart on the same data dir.
    let store = collector::app::open_store(&config).await.unwrap();
    let now = collector::now_ms();
    let stored = store.events(&project, now - 3_600_000, now + 3_600_000).await.unwrap();
    let stored_ids: std::collections::HashSet<&str> = stored.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(stored.len(), stored_ids.len(), "no event stored twice");
    for id in &accepted_ids {
        assert!(stored_ids.contains(id.as_str()), "accepted event {id} was lost");
    }
    let keys = store.keys_of(&project).await.unwrap();
    assert!(keys[0].last_used_at.is_some(), "key usage is flushed at shutdown");
}

/// Two collector processes (here: two applications, each with its own client and store handle)
/// ingest the same visitor at the same time against one MongoDB; the sessions come out as if one
/// process had seen every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_on_one_mongodb_agree_on_sessions() {
    let server = store_mongo::testing::TestServer::shared();
    // The test server's URI is `mongodb://host:port/?options`: put a fresh database in its path.
    let uri = server
        .uri()
        .replacen("/?", &format!("/{}?", store_mongo::testing::fresh_db_name()), 1);
    // Each collector process has a data directory of its own, for its ingest log.
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let configs: Vec<_> = dirs
        .iter()
        .map(|dir| {
            let mut a = args(dir.path());
            a.mongodb_uri = Some(uri.clone());
            a.resolve(Some("127.0.0.1:0".into())).unwrap()
        })
        .collect();
    let config = &configs[0];
    let (project, key) = {
        let store = collector::app::open_store(config).await.unwrap();
        provision(&*store).await
    };
    let mut ports = Vec::new();
    let mut stops = Vec::new();
    let mut servers = Vec::new();
    for config in &configs {
        let app = Application::build(config.clone()).await.unwrap();
        ports.push(app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        servers.push(tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        })));
    }
    // One visitor (same IP and user agent), 60 page views a minute apart... sent newest first and
    // alternately to the two collectors, in batches whose events are dated by their age.
    let client = reqwest::Client::new();
    let sent_at = collector::now_ms();
    let mut tasks = Vec::new();
    for batch in 0..20 {
        let events: Vec<_> = (0..3)
            .map(|j| {
                let i = batch * 3 + j;
                json!({"n": "pageview", "u": format!("https://example.com/p{i}"), "id": format!("v{i}"), "t": sent_at - (59 - i) * 60_000})
            })
            .collect();
        let body = json!({"k": key, "st": sent_at, "e": events}).to_string();
        let url = format!("http://127.0.0.1:{}/api/event", ports[batch as usize % 2]);
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("user-agent", FIREFOX)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for stop in stops {
        stop.send(()).unwrap();
    }
    for s in servers {
        s.await.unwrap().unwrap();
    }
    let store: Arc<dyn Store> = collector::app::open_store(config).await.unwrap();
    let now = collector::now_ms();
    let sessions = store.sessions(&project, now - 7_200_000, now + 60_000).await.unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(
        (
            sessions[0].pageviews,
            sessions[0].entry_page.as_str(),
            sessions[0].exit_page.as_str()
        ),
        (60, "/p0", "/p59")
    );
}
