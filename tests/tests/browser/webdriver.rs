//! Just enough of the W3C WebDriver protocol to drive Chromium through `chromedriver`: JSON over
//! HTTP with the `reqwest` the workspace already has (no WebDriver crate, no TLS stack: a dozen
//! endpoints on loopback).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// The key under which WebDriver returns element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A `chromedriver` process, killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub async fn start(binary: &Path, port: u16) -> Result<Self> {
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await {
                if r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true) {
                    return Ok(driver);
                }
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not become ready on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session.
pub struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    pub async fn new(driver: &Driver, capabilities: Value) -> Result<Self> {
        let http = reqwest::Client::new();
        let answer = call(
            &http,
            reqwest::Method::POST,
            &format!("{}/session", driver.url),
            Some(json!({"capabilities": {"alwaysMatch": capabilities}})),
        )
        .await?;
        let id = answer["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session id in {answer}"))?;
        Ok(Self {
            http,
            base: format!("{}/session/{id}", driver.url),
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.base),
            Some(body),
        )
        .await
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    pub async fn back(&self) -> Result<()> {
        self.post("/back", json!({})).await.map(drop)
    }

    pub async fn current_url(&self) -> Result<String> {
        let v = call(&self.http, reqwest::Method::GET, &format!("{}/url", self.base), None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Clicks the element matching a CSS selector.
    pub async fn click(&self, css: &str) -> Result<()> {
        let found = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await
            .with_context(|| format!("finding {css}"))?;
        let id = found[ELEMENT]
            .as_str()
            .ok_or_else(|| anyhow!("no element in {found}"))?
            .to_owned();
        self.post(&format!("/element/{id}/click"), json!({}))
            .await
            .with_context(|| format!("clicking {css}"))
            .map(drop)
    }

    /// Runs a script in the page (the body of a function; `arguments` are `args`).
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Waits until a script returns `true` (say, a page finished loading).
    pub async fn wait_for(&self, script: &str, what: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.execute(script, json!([])).await.is_ok_and(|v| v == true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn window_handle(&self) -> Result<String> {
        let v = call(&self.http, reqwest::Method::GET, &format!("{}/window", self.base), None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Opens a new tab and returns its handle (the current tab stays current).
    pub async fn new_tab(&self) -> Result<String> {
        let v = self.post("/window/new", json!({"type": "tab"})).await?;
        Ok(v["handle"].as_str().unwrap_or_default().to_owned())
    }

    pub async fn switch_to(&self, handle: &str) -> Result<()> {
        self.post("/window", json!({ "handle": handle })).await.map(drop)
    }

    /// Closes the current tab.
    pub async fn close_tab(&self) -> Result<()> {
        call(
            &self.http,
            reqwest::Method::DELETE,
            &format!("{}/window", self.base),
            None,
        )
        .await
        .map(drop)
    }

    pub async fn quit(&self) -> Result<()> {
        call(&self.http, reqwest::Method::DELETE, &self.base, None)
            .await
            .map(drop)
    }
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value> {
    let mut request = http.request(method.clone(), url).timeout(Duration::from_secs(60));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.with_context(|| format!("{method} {url}"))?;
    let status = response.status();
    let value: Value = response
        .json()
        .await
        .with_context(|| format!("{method} {url}: not JSON"))?;
    if !status.is_success() {
        bail!("{method} {url}: {status}: {}", value["value"]);
    }
    Ok(value["value"].clone())
}
