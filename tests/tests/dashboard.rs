//! The owners' dashboard in a real browser, against a real collector with a known dataset.
//!
//! This test starts a collector on a fresh embedded store, fills its site with 30 days of seeded
//! traffic (`collector::demo::fill`), waits for the rollups, and then runs
//! `web/e2e/dashboard.e2e.mjs` (Node's test runner, playwright-core driving Debian's
//! `/usr/bin/chromium`), which signs in through the form like a person, reads every number on
//! screen and compares it with what the query API answers for the same question, clicks rows,
//! changes periods, downloads the CSV, watches the realtime count move, opens a share link signed
//! out, runs axe-core, and saves screenshots (desktop and 375 px, light and dark) under
//! `target/dashboard-screenshots/`. Then `web/e2e/explore.e2e.mjs` does the same for goals,
//! funnels, journeys and sessions: adds goals and builds, saves and deletes a funnel through the
//! forms, follows a journey node, pages through sessions and opens one.
//!
//! Needs Node (>= 20), the app's npm packages (`scripts/build-web.sh` installs them) and Chromium
//! (`CHROMIUM_BIN`, default `/usr/bin/chromium`).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::{workspace_root, TestCollector};

/// Days and visitors of the seeded dataset: enough for every panel to have rows, small enough to
/// load in a couple of seconds.
const DAYS: u32 = 30;
const VISITORS: u32 = 600;
/// How long the rollup worker may take to catch up with the seeded events.
const ROLLUP_WAIT: Duration = Duration::from_secs(60);
/// The whole browser run (a few dozen page loads and screenshots, in two files).
const BROWSER_RUN_LIMIT: Duration = Duration::from_secs(480);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_what_the_api_answers() {
    let root = workspace_root();
    let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "needs {chromium} (scripts/install-tools.sh installs it)"
    );
    let web = root.join("web");
    assert!(
        web.join("node_modules/playwright-core").exists(),
        "needs the app's npm packages: run scripts/build-web.sh"
    );

    let collector = TestCollector::start(None).await;
    let store = collector.store().await;
    let project = store.project(&collector.project_id).await.unwrap().expect("project");
    let now = collector::now_ms();
    let stored = collector::demo::fill(&*store, &project, DAYS, VISITORS, 7, now)
        .await
        .expect("demo data");
    assert!(stored > 5_000, "seeded {stored} events");

    // Every number the browser reads must be the rollups' final answer: wait until no hour is dirty.
    let deadline = Instant::now() + ROLLUP_WAIT;
    loop {
        let dirty = store.dirty_hours(1).await.expect("dirty hours");
        if dirty.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "rollups not rebuilt within {ROLLUP_WAIT:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let screenshots = root.join("target/dashboard-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let mut child = tokio::process::Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        // One file after the other: one browser at a time on this machine, and the explore
        // file adds goals, which the dashboard file's panels do not expect.
        .arg("--test-concurrency=1")
        .arg("e2e/dashboard.e2e.mjs")
        .arg("e2e/explore.e2e.mjs")
        .current_dir(&web)
        .env("COLLECTOR_URL", &collector.url)
        .env("OWNER_EMAIL", "e2e@example.com")
        .env("OWNER_PASSWORD", "an e2e password")
        .env("PROJECT_ID", collector.project_id.to_string())
        .env("INGEST_KEY", &collector.key)
        .env("CHROMIUM_BIN", &chromium)
        .env("SCREENSHOT_DIR", &screenshots)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let status = tokio::time::timeout(BROWSER_RUN_LIMIT, child.wait())
        .await
        .unwrap_or_else(|_| panic!("the browser run took over {BROWSER_RUN_LIMIT:?}"))
        .expect("node ran");
    assert!(
        status.success(),
        "web/e2e/dashboard.e2e.mjs or explore.e2e.mjs failed (the output is above)"
    );
}
