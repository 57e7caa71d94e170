//! The tracker in a real browser: headless Chromium, driven over WebDriver, loads the demo SPA
//! (`tracker/demo/`, served here on its own origin) with the built `pixel.js` pointed at a real
//! collector, and walks through a visit. The store must then hold exactly the expected events,
//! field by field.
//!
//! Needs `chromium` and `chromedriver` (`CHROMIUM_BIN`, `CHROMEDRIVER_BIN`, default `/usr/bin/…`)
//! and the tracker built: `scripts/build-tracker.sh` runs first when `tracker/dist/pixel.js` is
//! missing or older than the tracker's sources.

/// The same `wrangler dev` launcher the edge tests use (not every helper of it is needed here).
#[allow(dead_code)]
#[path = "edge/harness.rs"]
mod edge_harness;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::collections::BTreeSet;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::{header, Uri};
use axum::response::{Html, IntoResponse, Response};
use contract::enriched::EnrichedEvent;
use e2e::{free_port, workspace_root, TestCollector};
use serde_json::json;
use webdriver::{Driver, Session};

/// A current desktop Chrome: headless Chromium says "HeadlessChrome", which the collector drops.
const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn newest_mtime(path: &Path) -> SystemTime {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if meta.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .flatten()
            .map(|e| newest_mtime(&e.path()))
            .max()
            .unwrap_or(SystemTime::UNIX_EPOCH)
    } else {
        meta.modified().unwrap()
    }
}

/// `tracker/dist`, rebuilt when missing or older than what it is built from.
fn built_tracker() -> PathBuf {
    let root = workspace_root();
    let dist = root.join("tracker/dist");
    let script = dist.join("pixel.js");
    let sources = [
        "tracker/src",
        "tracker/js",
        "tracker/Cargo.toml",
        "scripts/build-tracker.sh",
        "contract/src/wire.rs",
        "contract/src/limits.rs",
    ];
    let newest = sources.iter().map(|s| newest_mtime(&root.join(s))).max().unwrap();
    let fresh = std::fs::metadata(&script)
        .and_then(|m| m.modified())
        .is_ok_and(|built| built >= newest);
    if !fresh {
        eprintln!("building the tracker (tracker/dist is missing or older than its sources)");
        let status = std::process::Command::new("bash")
            .arg(root.join("scripts/build-tracker.sh"))
            .current_dir(&root)
            .status()
            .expect("running scripts/build-tracker.sh");
        assert!(
            status.success(),
            "scripts/build-tracker.sh failed: build the tracker first (it needs the tools of scripts/install-tools.sh)"
        );
    }
    dist
}

#[derive(Clone)]
struct Demo {
    dir: PathBuf,
    api: String,
    key: String,
    site: String,
    outbound: String,
}

/// The demo pages with their placeholders filled in; any other path is the SPA's `index.html`
/// (as a real SPA host does), except `/elsewhere`, the outbound link's target.
async fn demo_page(State(demo): State<Demo>, uri: Uri) -> Response {
    let file = match uri.path() {
        "/landing.html" => "landing.html",
        "/hash.html" => "hash.html",
        "/elsewhere" => return Html("<!doctype html><title>Elsewhere</title><h1>Another site</h1>").into_response(),
        "/favicon.ico" => return axum::http::StatusCode::NOT_FOUND.into_response(),
        _ => "index.html",
    };
    let html = std::fs::read_to_string(demo.dir.join(file)).expect("demo page");
    let html = html
        .replace("{{API}}", &demo.api)
        .replace("{{KEY}}", &demo.key)
        .replace("{{SITE}}", &demo.site)
        .replace("{{OUTBOUND}}", &demo.outbound);
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// The collector's events, once there are `n` of them (or fails after a while, showing them).
async fn wait_events(collector: &TestCollector, n: usize) -> Vec<EnrichedEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = collector.events().await;
        if events.len() >= n || Instant::now() > deadline {
            assert_eq!(events.len(), n, "expected {n} events, got:\n{}", describe(&events));
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn describe(events: &[EnrichedEvent]) -> String {
    events
        .iter()
        .map(|e| {
            format!(
                "  {} {} d={:?} s={:?} props={:?}\n",
                e.name, e.path, e.duration_ms, e.scroll_depth, e.props
            )
        })
        .collect()
}

/// The events that arrived since `seen` events, as sorted `name path` lines (the events of one
/// step may arrive in any order), and the events themselves by name.
struct Step {
    events: Vec<EnrichedEvent>,
}

impl Step {
    fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.events.iter().map(|e| format!("{} {}", e.name, e.path)).collect();
        lines.sort();
        lines
    }
    fn one(&self, name: &str) -> &EnrichedEvent {
        let found: Vec<_> = self.events.iter().filter(|e| e.name == name).collect();
        assert_eq!(found.len(), 1, "one {name} in {}", describe(&self.events));
        found[0]
    }
}

struct Visit<'a> {
    collector: &'a TestCollector,
    seen: BTreeSet<String>,
    started: Instant,
}

impl Visit<'_> {
    /// Waits for `n` more events and checks they are `expected` (`name path`, any order).
    async fn expect(&mut self, expected: &[&str]) -> Step {
        let all = wait_events(self.collector, self.seen.len() + expected.len()).await;
        let events: Vec<EnrichedEvent> = all.into_iter().filter(|e| !self.seen.contains(e.id.as_str())).collect();
        for e in &events {
            assert!(
                self.seen.insert(e.id.as_str().to_owned()),
                "duplicate id {}",
                e.id.as_str()
            );
        }
        let step = Step { events };
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(step.lines(), want, "\n{}", describe(&step.events));
        step
    }

    /// A `page_exit` whose engaged time is at least `min` and no more than the whole visit.
    fn exit(&self, step: &Step, min: Duration) -> u64 {
        let exit = step.one("page_exit");
        let d = exit.duration_ms.expect("page_exit has a duration");
        assert!(
            d >= min.as_millis() as u64 - 50,
            "engaged {d} ms, expected at least {min:?}"
        );
        assert!(
            d <= self.started.elapsed().as_millis() as u64,
            "engaged {d} ms, longer than the visit"
        );
        let scroll = exit.scroll_depth.expect("page_exit has a scroll depth");
        assert!(scroll <= 100);
        d
    }
}

async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_in_chromium_is_counted_exactly() {
    scenario(false).await;
}

/// The same visit with the site pointed at the edge Worker in workerd: `pixel.js` and the events
/// go through the edge (key check, enrichment, queue, signed forwarding) to the collector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_through_the_edge_in_workerd_is_counted_exactly() {
    scenario(true).await;
}

async fn scenario(through_edge: bool) {
    let dist = built_tracker();
    let collector = TestCollector::start(Some(dist)).await;
    let edge = match through_edge {
        true => Some(edge_harness::Edge::start(&collector, edge_harness::EdgeOptions::default()).await),
        false => None,
    };
    let api = edge.as_ref().map_or_else(|| collector.url.clone(), |e| e.url.clone());

    // The demo site: 127.0.0.1 is the site, "localhost" (same server) plays the other sites.
    let port = free_port();
    let site = format!("http://127.0.0.1:{port}");
    let other = format!("http://localhost:{port}");
    let demo = Demo {
        dir: workspace_root().join("tracker/demo"),
        api,
        key: collector.key.clone(),
        site: site.clone(),
        outbound: format!("{other}/elsewhere"),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server =
        tokio::spawn(axum::serve(listener, axum::Router::new().fallback(demo_page).with_state(demo)).into_future());

    let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let chromedriver = std::env::var("CHROMEDRIVER_BIN").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    assert!(
        Path::new(&chromium).exists() && Path::new(&chromedriver).exists(),
        "needs {chromium} and {chromedriver} (scripts/install-tools.sh installs them)"
    );
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(Path::new(&chromedriver), free_port()).await.unwrap();
    let browser = Session::new(
        &driver,
        json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    // Not the omnibox popup's WebUI, a renderer of its own that each window of
                    // this Chromium loads (web/e2e/chromium.mjs says what it costs).
                    "--disable-features=WebUIOmniboxPopup",
                    "--disable-dev-shm-usage", "--window-size=1280,800",
                    format!("--user-agent={USER_AGENT}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }),
    )
    .await
    .unwrap();

    let result = visit(&browser, &collector, &site, &other).await;
    let _ = browser.quit().await;
    drop(driver);
    server.abort();
    result.unwrap();
}

async fn visit(browser: &Session, collector: &TestCollector, site: &str, other: &str) -> anyhow::Result<()> {
    let mut v = Visit {
        collector,
        seen: BTreeSet::new(),
        started: Instant::now(),
    };
    let loaded = "return document.readyState === 'complete'";

    // 1. Another site links in with a campaign: the first view carries UTM and the referrer.
    browser.goto(&format!("{other}/landing.html")).await?;
    browser.click("#campaign").await?;
    let step = v.expect(&["pageview /"]).await;
    let view = step.one("pageview");
    assert_eq!(view.url, format!("{site}/?utm_source=newsletter&utm_campaign=launch"));
    assert_eq!(view.referrer.as_deref(), Some(format!("{other}/landing.html").as_str()));
    assert_eq!(
        (view.utm.source.as_deref(), view.utm.campaign.as_deref()),
        (Some("newsletter"), Some("launch"))
    );
    assert!(
        view.screen_width.is_some_and(|w| w > 0),
        "screen width {:?}",
        view.screen_width
    );
    assert_eq!(view.client.browser, "Chrome", "{:?}", view.client);

    // 2. Read down to the end of the long home page, then two pushState navigations by links.
    browser
        .execute("window.scrollTo(0, document.documentElement.scrollHeight)", json!([]))
        .await?;
    pause(400).await;
    browser.click("#pricing").await?;
    let step = v.expect(&["page_exit /", "path_change /pricing"]).await;
    v.exit(&step, Duration::from_millis(400));
    assert_eq!(step.one("page_exit").scroll_depth, Some(100), "read to the end");
    let change = step.one("path_change");
    assert_eq!(change.url, format!("{site}/pricing"), "no UTM after the landing view");
    assert_eq!(change.referrer, None);
    assert!(change.utm.source.is_none());

    pause(300).await;
    browser.click("#about").await?;
    let step = v.expect(&["page_exit /pricing", "path_change /about"]).await;
    v.exit(&step, Duration::from_millis(300));

    // 3. The back button (popstate).
    pause(300).await;
    browser.back().await?;
    let step = v.expect(&["page_exit /about", "path_change /pricing"]).await;
    v.exit(&step, Duration::from_millis(300));

    // 4. A custom event with props.
    browser.click("#signup").await?;
    let step = v.expect(&["signup /pricing"]).await;
    assert_eq!(
        step.one("signup").props,
        [("plan".to_string(), "pro".to_string())].into()
    );

    // 5. An outbound link: the click is counted, then leaving the page ends the view.
    pause(200).await;
    browser.click("#outbound").await?;
    let step = v.expect(&["outbound_click /pricing", "page_exit /pricing"]).await;
    assert_eq!(
        step.one("outbound_click").props,
        [("url".to_string(), format!("{other}/elsewhere"))].into()
    );
    v.exit(&step, Duration::from_millis(200));
    assert_eq!(browser.current_url().await?, format!("{other}/elsewhere"));

    // 6. The hash-routed app (data-hash): a hash change is one navigation (popstate and hashchange).
    browser.goto(&format!("{site}/hash.html#/")).await?;
    browser.wait_for(loaded, "the hash app").await?;
    let step = v.expect(&["pageview /hash.html#/"]).await;
    assert_eq!(step.one("pageview").referrer, None);
    pause(300).await;
    browser.click("#settings").await?;
    let step = v
        .expect(&["page_exit /hash.html#/", "path_change /hash.html#/settings"])
        .await;
    v.exit(&step, Duration::from_millis(300));

    // 7. The tab is hidden (another tab comes to the front): the stretch so far is reported.
    pause(300).await;
    let app = browser.window_handle().await?;
    let other_tab = browser.new_tab().await?;
    browser.switch_to(&other_tab).await?;
    let step = v.expect(&["page_exit /hash.html#/settings"]).await;
    v.exit(&step, Duration::from_millis(300));

    // 8. Back to the tab, then it is closed: the time since it came back is reported once.
    browser.switch_to(&app).await?;
    browser
        .wait_for("return document.visibilityState === 'visible'", "the tab to be visible")
        .await?;
    pause(400).await;
    browser.close_tab().await?;
    browser.switch_to(&other_tab).await?;
    let step = v.expect(&["page_exit /hash.html#/settings"]).await;
    let d = v.exit(&step, Duration::from_millis(400));
    assert!(d < 5_000, "only the time since the tab came back: {d} ms");

    // Nothing else arrives: no duplicates from popstate + hashchange, visibilitychange + pagehide.
    pause(1_500).await;
    let all = wait_events(collector, 15).await;
    let ids: BTreeSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "no duplicate ids");
    Ok(())
}
