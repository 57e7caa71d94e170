//! End-to-end tests of the edge Worker: the real Worker (built by `scripts/build-edge.sh`) in
//! workerd via `wrangler dev --local`, or under a bare `workerd serve`, in front of a real
//! collector.

#[path = "edge/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use contract::enrich::DailySalt;
use contract::enriched::{enrich, EnrichedEvent, RequestContext};
use contract::internal::{day_of, salt_path, SaltInfo};
use contract::signing::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use e2e::{TestCollector, EDGE_SECRET};
use harness::{Edge, EdgeOptions, Runtime};
use reqwest::StatusCode;
use serde_json::{json, Value};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
/// The client IP the tests claim (`CF-Connecting-IP`); only the visitor id depends on it.
const CLIENT_IP: &str = "203.0.113.7";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

async fn post(edge: &Edge, content_type: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
    let response = client()
        .post(format!("{}/api/event", edge.url))
        .header("content-type", content_type)
        .header("user-agent", FIREFOX)
        .header("cf-connecting-ip", CLIENT_IP)
        .body(body)
        .send()
        .await
        .expect("edge answers");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn post_json(edge: &Edge, body: &Value) -> (StatusCode, Value) {
    post(edge, "text/plain;charset=UTF-8", body.to_string()).await
}

/// Waits until the collector holds at least `count` events; returns them.
async fn wait_for_events(collector: &TestCollector, count: usize, timeout: Duration) -> Vec<EnrichedEvent> {
    let started = Instant::now();
    loop {
        let events = collector.events().await;
        if events.len() >= count || started.elapsed() > timeout {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn by_id(events: &[EnrichedEvent]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for e in events {
        *counts.entry(e.id.as_str().to_owned()).or_insert(0) += 1;
    }
    counts
}

/// The collector's salt of a day, through its signed internal API (as the edge gets it).
async fn salt_of(collector: &TestCollector, day: i64) -> DailySalt {
    let path = salt_path(day);
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let response = client()
        .get(format!("{}{path}", collector.url))
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, sign(EDGE_SECRET.as_bytes(), ts, "GET", &path, b""))
        .send()
        .await
        .expect("collector answers");
    assert_eq!(response.status(), StatusCode::OK);
    response
        .json::<SaltInfo>()
        .await
        .expect("salt")
        .daily_salt()
        .expect("valid salt")
}

/// A counter of the collector's Prometheus metrics (0 when absent).
async fn metric(collector: &TestCollector, name: &str) -> f64 {
    let text = client()
        .get(format!("{}/metrics", collector.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_the_queue_enriched_and_arrive_once() {
    let collector = TestCollector::start(None).await;
    let edge = Edge::start(&collector, EdgeOptions::default()).await;

    // A batch as the tracker sends it, a single JSON event, a bot, and the no-JS GIF.
    let batch = json!({"k": collector.key, "st": 1_000_000, "e": [
        {"n": "pageview", "u": "https://www.shop.example/pricing?utm_source=news&utm_medium=email", "r": "https://www.google.com/", "id": "q-pv-1", "t": 999_000, "w": 1440},
        {"n": "page_exit", "u": "https://www.shop.example/pricing", "id": "q-exit-1", "t": 999_500, "d": 4200, "s": 80},
        {"n": "signup", "u": "https://www.shop.example/pricing", "id": "q-signup-1", "p": {"plan": "pro", "seats": 3}},
        {"n": "pageview", "u": "not a url", "id": "q-bad-1"},
    ]});
    let (status, answer) = post_json(&edge, &batch).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["accepted"], 3);
    assert_eq!(answer["dropped"], 0);
    assert_eq!(answer["rejected"][0]["index"], 3);

    let single = json!({"k": collector.key, "n": "pageview", "u": "https://shop.example/docs", "id": "q-json-1"});
    let (status, answer) = post(&edge, "application/json", single.to_string()).await;
    assert_eq!((status, answer["accepted"].clone()), (StatusCode::ACCEPTED, json!(1)));

    let bot = client()
        .post(format!("{}/api/event", edge.url))
        .header(
            "user-agent",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
        .body(json!({"k": collector.key, "n": "pageview", "u": "https://shop.example/", "id": "q-bot-1"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(bot.status(), StatusCode::ACCEPTED);
    assert_eq!(bot.json::<Value>().await.unwrap(), json!({"accepted": 0, "dropped": 1}));
    let webdriver =
        json!({"k": collector.key, "b": true, "n": "pageview", "u": "https://shop.example/", "id": "q-bot-2"});
    assert_eq!(post_json(&edge, &webdriver).await.1["dropped"], 1);

    let gif = client()
        .get(format!("{}/api/event.gif?k={}&id=q-gif-1", edge.url, collector.key))
        .header("referer", "https://shop.example/no-js")
        .header("user-agent", FIREFOX)
        .header("cf-connecting-ip", CLIENT_IP)
        .send()
        .await
        .unwrap();
    assert_eq!(gif.status(), StatusCode::OK);
    assert_eq!(gif.headers()["content-type"], "image/gif");
    assert_eq!(gif.bytes().await.unwrap().len(), 43);

    // A full batch of 100 events crosses the queue as one consumer batch.
    let hundred: Vec<Value> = (0..100)
        .map(|i| json!({"n": "pageview", "u": format!("https://shop.example/p/{i}"), "id": format!("q-many-{i}")}))
        .collect();
    let (status, answer) = post_json(&edge, &json!({"k": collector.key, "e": hundred})).await;
    assert_eq!((status, answer["accepted"].clone()), (StatusCode::ACCEPTED, json!(100)));

    let events = wait_for_events(&collector, 105, Duration::from_secs(30)).await;
    let counts = by_id(&events);
    assert_eq!(
        events.len(),
        105,
        "stored: {:?}\n{}",
        counts.keys().collect::<Vec<_>>(),
        edge.logs()
    );
    assert!(counts.values().all(|&n| n == 1));
    assert!(
        !edge.logs().contains("queue send failed"),
        "the queue carried every event:\n{}",
        edge.logs()
    );
    assert!(!counts.contains_key("q-bot-1") && !counts.contains_key("q-bot-2") && !counts.contains_key("q-bad-1"));
    // Every event was delivered once: the collector never saw one twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(metric(&collector, "collector_events_duplicate").await, 0.0);
    assert_eq!(collector.events().await.len(), 105);

    // Enriched exactly as the shared contract code does it, with the collector's salt.
    let stored = |id: &str| events.iter().find(|e| e.id.as_str() == id).unwrap().clone();
    let pageview = stored("q-pv-1");
    assert_eq!(
        (pageview.hostname.as_str(), pageview.path.as_str()),
        ("shop.example", "/pricing")
    );
    assert_eq!(pageview.source.as_deref(), Some("news"));
    assert_eq!(pageview.utm.medium.as_deref(), Some("email"));
    assert_eq!(pageview.client.browser, "Firefox");
    assert_eq!(pageview.occurred_at, pageview.received_at - 1_000);
    assert!(
        pageview.geo.colo.is_some() || pageview.geo.country.is_some(),
        "geo from request.cf: {:?}",
        pageview.geo
    );
    let exit = stored("q-exit-1");
    assert_eq!((exit.duration_ms, exit.scroll_depth), (Some(4200), Some(80)));
    assert_eq!(stored("q-signup-1").props.get("seats").map(String::as_str), Some("3"));
    assert_eq!(stored("q-gif-1").path, "/no-js");

    let salt = salt_of(&collector, day_of(pageview.received_at)).await;
    let parsed = contract::wire::parse_body(batch.to_string().as_bytes()).unwrap();
    let original = parsed.events.into_iter().next().unwrap().unwrap();
    let ctx = RequestContext {
        received_at: pageview.received_at,
        ip: CLIENT_IP.into(),
        user_agent: FIREFOX.into(),
        geo: pageview.geo.clone(),
        ..RequestContext::default()
    };
    let expected = enrich(original, collector.project_id, &ctx, &salt, false, || unreachable!()).unwrap();
    assert_eq!(
        pageview, expected,
        "the edge enriches as contract::enriched::enrich does"
    );
    // Both events of one visitor (same IP and user agent) share the visitor id.
    assert_eq!(stored("q-json-1").visitor_id, pageview.visitor_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_outage_then_restart_delivers_every_accepted_event_exactly_once() {
    let mut collector = TestCollector::start(None).await;
    let edge = Edge::start(&collector, EdgeOptions::default()).await;
    // Warm the key and salt caches while the collector is up.
    let warm = json!({"k": collector.key, "n": "pageview", "u": "https://shop.example/", "id": "o-warm"});
    assert_eq!(post_json(&edge, &warm).await.0, StatusCode::ACCEPTED);
    assert_eq!(wait_for_events(&collector, 1, Duration::from_secs(20)).await.len(), 1);

    collector.stop().await;
    let mut sent = vec!["o-warm".to_owned()];
    for request in 0..5 {
        let events: Vec<Value> = (0..4)
            .map(|i| {
                let id = format!("o-{request}-{i}");
                sent.push(id.clone());
                json!({"n": "pageview", "u": format!("https://shop.example/o/{request}/{i}"), "id": id})
            })
            .collect();
        let (status, answer) = post_json(&edge, &json!({"k": collector.key, "e": events})).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "accepted while the collector is down: {answer}"
        );
    }
    // The consumer fails and backs off (1, 2, 4 s) while the collector is down.
    tokio::time::sleep(Duration::from_secs(4)).await;
    collector.restart().await;

    let events = wait_for_events(&collector, sent.len(), Duration::from_secs(40)).await;
    let counts = by_id(&events);
    for id in &sent {
        assert_eq!(counts.get(id), Some(&1), "{id} stored exactly once\n{}", edge.logs());
    }
    assert_eq!(events.len(), sent.len());
    let logs = edge.logs();
    assert!(logs.contains("will retry"), "the outage was retried:\n{logs}");
    assert!(
        !logs.contains("queue send failed") && !logs.contains("no queue"),
        "through the queue:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_queue_events_are_forwarded_directly_with_retries() {
    let mut collector = TestCollector::start(None).await;
    let edge = Edge::start(
        &collector,
        EdgeOptions {
            env: Some("direct"),
            ..Default::default()
        },
    )
    .await;
    let first = json!({"k": collector.key, "n": "pageview", "u": "https://shop.example/", "id": "d-1"});
    assert_eq!(post_json(&edge, &first).await.0, StatusCode::ACCEPTED);
    assert_eq!(wait_for_events(&collector, 1, Duration::from_secs(20)).await.len(), 1);

    // A short outage is bridged by the waitUntil retries (0.5, 1, 2, 4 s).
    collector.stop().await;
    let second = json!({"k": collector.key, "e": [
        {"n": "pageview", "u": "https://shop.example/a", "id": "d-2"},
        {"n": "pageview", "u": "https://shop.example/b", "id": "d-3"},
    ]});
    assert_eq!(post_json(&edge, &second).await.0, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_secs(2)).await;
    collector.restart().await;
    let events = wait_for_events(&collector, 3, Duration::from_secs(20)).await;
    let counts = by_id(&events);
    assert_eq!(events.len(), 3, "{counts:?}\n{}", edge.logs());
    assert!(["d-1", "d-2", "d-3"].iter().all(|id| counts.get(*id) == Some(&1)));
}

/// The config `Edge::start_workerd` generates runs the Worker as wrangler does (vars, secrets,
/// modules, outbound to loopback): what `BENCH_RUNTIME=workerd` measures is the same Worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_workerd_accepts_and_forwards_events() {
    let collector = TestCollector::start(None).await;
    let edge = Edge::start_workerd(&collector, EdgeOptions::default()).await;
    let event = json!({"k": collector.key, "n": "pageview", "u": "https://shop.example/bare", "id": "w-1"});
    let (status, answer) = post_json(&edge, &event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}\n{}", edge.logs());
    assert_eq!(answer["accepted"], 1);
    let events = wait_for_events(&collector, 1, Duration::from_secs(20)).await;
    assert_eq!(by_id(&events).get("w-1"), Some(&1), "{}", edge.logs());
    assert_eq!(events[0].path, "/bare");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_after_the_ttl() {
    let collector = TestCollector::start(None).await;
    let ttl = Duration::from_secs(2);
    let options = EdgeOptions {
        vars: vec![("KEY_CACHE_TTL_SECS", ttl.as_secs().to_string())],
        ..Default::default()
    };
    let edge = Edge::start(&collector, options).await;
    let event = |id: &str| json!({"k": collector.key, "n": "pageview", "u": "https://shop.example/", "id": id});
    assert_eq!(post_json(&edge, &event("r-1")).await.0, StatusCode::ACCEPTED);

    collector.revoke_key().await;
    let revoked_at = Instant::now();
    let (status, _) = post_json(&edge, &event("r-2")).await;
    if revoked_at.elapsed() < ttl / 2 {
        assert_eq!(status, StatusCode::ACCEPTED, "still cached within the TTL");
    }
    tokio::time::sleep(ttl + Duration::from_millis(500)).await;
    let (status, body) = post_json(&edge, &event("r-3")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body,
        json!({"error": "this API key has been revoked", "code": "forbidden"})
    );
    let stored = by_id(&wait_for_events(&collector, 2, Duration::from_secs(10)).await);
    assert!(!stored.contains_key("r-3"), "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_documented_4xx() {
    let collector = TestCollector::start(None).await;
    let edge = Edge::start(&collector, EdgeOptions::default()).await;
    let key = collector.key.clone();
    let valid = |k: &str| json!({"k": k, "n": "pageview", "u": "https://shop.example/"}).to_string();

    let cases: Vec<(&str, String, &str, StatusCode, &str)> = vec![
        ("malformed JSON", "{\"k\":".into(), "text/plain", StatusCode::BAD_REQUEST, "invalid_json"),
        ("not an object", "[]".into(), "text/plain", StatusCode::BAD_REQUEST, "invalid_body"),
        ("empty", "".into(), "text/plain", StatusCode::BAD_REQUEST, "invalid_body"),
        ("form content type", valid(&key), "application/x-www-form-urlencoded", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("missing key", json!({"n": "pageview", "u": "https://shop.example/"}).to_string(), "text/plain", StatusCode::UNAUTHORIZED, "unauthorized"),
        ("malformed key", valid("mtr_nope"), "text/plain", StatusCode::UNAUTHORIZED, "unauthorized"),
        ("unknown key", valid(&format!("mtr_{}", "0".repeat(40))), "text/plain", StatusCode::UNAUTHORIZED, "unauthorized"),
        ("invalid event", json!({"k": key, "n": "pageview"}).to_string(), "text/plain", StatusCode::BAD_REQUEST, "invalid_event"),
        (
            "too many events",
            json!({"k": key, "e": (0..101).map(|_| json!({"n": "x", "u": "https://shop.example/"})).collect::<Vec<_>>()}).to_string(),
            "text/plain",
            StatusCode::BAD_REQUEST,
            "too_many_events",
        ),
        ("over 1 MB", format!("{{\"k\":\"{key}\",\"pad\":\"{}\"}}", "x".repeat(1024 * 1024)), "text/plain", StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    ];
    for (what, body, content_type, status, code) in cases {
        let (got, answer) = post(&edge, content_type, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["code"], code, "{what}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {answer}"
        );
    }
    let (_, unknown) = post(&edge, "text/plain", valid(&format!("mtr_{}", "0".repeat(40)))).await;
    assert_eq!(unknown["error"], "unknown API key");

    let http = client();
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{}/api/event", edge.url))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let wrong_method = http.get(format!("{}/api/event", edge.url)).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        http.get(format!("{}/nope", edge.url)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let gif_without_key = http
        .get(format!("{}/api/event.gif?u=https://shop.example/", edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(gif_without_key.status(), StatusCode::UNAUTHORIZED);

    // The tracker script, when tracker/dist was built.
    let script = http.get(format!("{}/pixel.js", edge.url)).send().await.unwrap();
    if e2e::workspace_root().join("tracker/dist/pixel.js").exists() {
        assert_eq!(script.status(), StatusCode::OK);
        let etag = script.headers()["etag"].to_str().unwrap().to_owned();
        assert!(script.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=3600"));
        let again = http
            .get(format!("{}/pixel.js", edge.url))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let wasm = std::fs::read_dir(e2e::workspace_root().join("tracker/dist"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|n| n.starts_with("pixel.") && n.ends_with(".wasm"));
        if let Some(wasm) = wasm {
            let module = http.get(format!("{}/{wasm}", edge.url)).send().await.unwrap();
            assert_eq!(module.status(), StatusCode::OK);
            assert_eq!(module.headers()["cache-control"], "public, max-age=31536000, immutable");
            assert_eq!(module.headers()["content-type"], "application/wasm");
        }
    } else {
        assert_eq!(script.status(), StatusCode::NOT_FOUND);
    }
    assert!(collector.events().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429() {
    let collector = TestCollector::start(None).await;
    let options = EdgeOptions {
        vars: vec![
            ("RATE_LIMIT_KEY_PER_MINUTE", "3".into()),
            ("RATE_LIMIT_IP_PER_MINUTE", "6".into()),
        ],
        ..Default::default()
    };
    let edge = Edge::start(&collector, options).await;
    let event = json!({"k": collector.key, "n": "pageview", "u": "https://shop.example/"});
    for _ in 0..3 {
        assert_eq!(post_json(&edge, &event).await.0, StatusCode::ACCEPTED);
    }
    let limited = client()
        .post(format!("{}/api/event", edge.url))
        .header("user-agent", FIREFOX)
        .header("cf-connecting-ip", CLIENT_IP)
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert!(body["error"].as_str().unwrap().contains("API key"), "{body}");
    // The IP limit applies before the key is even looked up.
    let unknown = json!({"k": format!("mtr_{}", "1".repeat(40)), "n": "pageview", "u": "https://shop.example/"});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(post_json(&edge, &unknown).await.0);
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

/// CPU time (user + system) of every process in a process group, from /proc, in seconds.
fn group_cpu_secs(pgid: u32) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split(' ').collect();
        // After "pid (comm) ": state=0, ppid=1, pgrp=2, …, utime=11, stime=12.
        if fields.get(2).and_then(|p| p.parse::<u32>().ok()) == Some(pgid) {
            total += fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
        }
    }
    total as f64 / ticks
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// `POST /api/event` on the local workerd: requests/s, p50/p99 latency and workerd CPU time per
/// request, warm key cache, loopback only, bounded in count and time. Run it with
/// `scripts/bench-edge.sh` (BENCH_REQUESTS, BENCH_CONCURRENCY override the defaults;
/// BENCH_RUNTIME=workerd serves the Worker by a bare workerd instead of `wrangler dev`, whose
/// proxies dominate the latency).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: scripts/bench-edge.sh"]
async fn bench_post_event() {
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let time_limit = Duration::from_secs(120);
    let runtime = match std::env::var("BENCH_RUNTIME").as_deref() {
        Err(_) | Ok("" | "wrangler") => Runtime::WranglerDev,
        Ok("workerd") => Runtime::Workerd,
        Ok(other) => panic!("BENCH_RUNTIME={other}: use `wrangler` (the default) or `workerd`"),
    };
    let bench_env = std::env::var("BENCH_ENV").ok();
    if runtime == Runtime::Workerd {
        assert!(
            bench_env.as_deref().is_none_or(|e| e == "direct"),
            "BENCH_RUNTIME=workerd runs the `direct` env only (a bare workerd has no queues): unset BENCH_ENV or set it to direct"
        );
    }
    let collector = TestCollector::start(None).await;
    let options = EdgeOptions {
        vars: vec![
            ("RATE_LIMIT_KEY_PER_MINUTE", "100000000".into()),
            ("RATE_LIMIT_IP_PER_MINUTE", "100000000".into()),
        ],
        // BENCH_ENV=direct: without the queue (forwarding in waitUntil).
        env: bench_env.as_deref().filter(|e| *e == "direct").map(|_| "direct"),
    };
    let edge = match runtime {
        Runtime::WranglerDev => Edge::start(&collector, options).await,
        Runtime::Workerd => Edge::start_workerd(&collector, options).await,
    };
    let env_label = match (runtime, bench_env) {
        (Runtime::Workerd, _) => "direct".to_owned(),
        (Runtime::WranglerDev, env) => env.unwrap_or_else(|| "default (queue)".into()),
    };
    println!("bench-edge: runtime {}, wrangler env {env_label}", runtime.name());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let body = |i: usize| {
        json!({"k": collector.key, "n": "pageview", "u": format!("https://shop.example/p/{}", i % 50), "r": "https://www.google.com/", "id": format!("b-{i}")})
            .to_string()
    };
    let send = |i: usize| {
        let http = http.clone();
        let url = format!("{}/api/event", edge.url);
        let body = body(i);
        async move {
            let started = Instant::now();
            let response = http
                .post(url)
                .header("content-type", "text/plain")
                .header("user-agent", FIREFOX)
                .header("cf-connecting-ip", CLIENT_IP)
                .body(body)
                .send()
                .await
                .expect("edge answers");
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            let _ = response.bytes().await;
            started.elapsed()
        }
    };
    // Warm-up: key and salt caches, the Wasm instance, connections.
    for i in 0..50 {
        send(i).await;
    }

    let run = |concurrency: usize, count: usize, offset: usize| {
        let send = &send;
        async move {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let started = Instant::now();
            let workers = (0..concurrency).map(|_| async {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count || started.elapsed() > time_limit {
                        return latencies;
                    }
                    latencies.push(send(offset + i).await);
                }
            });
            let mut latencies: Vec<Duration> = futures_join_all(workers).await.into_iter().flatten().collect();
            let elapsed = started.elapsed();
            latencies.sort();
            (latencies, elapsed)
        }
    };

    // Baseline: the round trip of a route that does no work (through wrangler's proxies under
    // `wrangler dev`): what the runtime adds before the Worker does anything.
    let mut baseline = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        let _ = http
            .get(format!("{}/healthz", edge.url))
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
        baseline.push(started.elapsed());
    }
    baseline.sort();
    println!(
        "bench-edge   baseline (GET /healthz, sequential): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&baseline, 0.50).as_secs_f64() * 1e3,
        percentile(&baseline, 0.99).as_secs_f64() * 1e3
    );
    let pgid = edge_pgid(&edge);
    let mut sent = 50;
    for (label, concurrency, count) in [("sequential", 1, requests / 3), ("concurrent", concurrency, requests)] {
        let cpu_before = group_cpu_secs(pgid);
        let (latencies, elapsed) = run(concurrency, count, sent).await;
        let cpu = group_cpu_secs(pgid) - cpu_before;
        sent += latencies.len();
        println!(
            "bench-edge {label:>10} (concurrency {concurrency}): {} requests in {:.2} s = {:.0} req/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} CPU {:.2} ms/request",
            latencies.len(),
            elapsed.as_secs_f64(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
            runtime.processes(),
            cpu * 1e3 / latencies.len() as f64,
        );
    }
    // Everything accepted reaches the collector (through the queue, or from waitUntil in `direct`).
    let events = wait_for_events(&collector, sent, Duration::from_secs(60)).await;
    println!("bench-edge: {} of {sent} accepted events stored", events.len());
    assert_eq!(events.len(), sent);
}

async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs = Vec::with_capacity(futures.len());
    // The futures borrow local state, so they are polled together on this task, not spawned.
    let mut pending: Vec<_> = futures.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => {
                        *result = Some(output);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.extend(results.into_iter().map(|r| r.expect("finished")));
    outputs
}

fn edge_pgid(edge: &Edge) -> u32 {
    edge.pgid()
}
