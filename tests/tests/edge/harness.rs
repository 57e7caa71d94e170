//! Runs the real edge Worker in workerd (`wrangler dev --local`) against a [`TestCollector`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use e2e::{free_port, workspace_root, TestCollector, EDGE_SECRET, PEPPER};

/// Longest wait for `wrangler dev` to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Builds the Worker with `scripts/build-edge.sh` unless `edge/build` is newer than its sources.
pub fn ensure_built() {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if *built {
        return;
    }
    let root = workspace_root();
    let shim = root.join("edge/build/worker/shim.mjs");
    let sources = [
        "edge/src",
        "edge/Cargo.toml",
        "contract/src",
        "contract/Cargo.toml",
        "Cargo.lock",
        "tracker/dist",
    ];
    let newest_source = sources.iter().map(|s| newest_mtime(&root.join(s))).max().flatten();
    let fresh = match (mtime(&shim), newest_source) {
        (Some(built), Some(source)) => built > source,
        _ => false,
    };
    if !fresh {
        eprintln!("edge: building the Worker (scripts/build-edge.sh)");
        let status = Command::new("bash")
            .arg(root.join("scripts/build-edge.sh"))
            .current_dir(&root)
            .status()
            .expect("bash runs");
        assert!(status.success(), "scripts/build-edge.sh failed");
    }
    *built = true;
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| newest_mtime(&e.path()))
        .max()
}

/// How to run the Worker.
#[derive(Default)]
pub struct EdgeOptions {
    /// `wrangler --env` (`direct`: no queue).
    pub env: Option<&'static str>,
    /// Extra `--var NAME:VALUE`s (they override `wrangler.toml`).
    pub vars: Vec<(&'static str, String)>,
}

/// A `wrangler dev` process group; killed on drop, also when a test panics.
pub struct Edge {
    pub url: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Edge {
    pub async fn start(collector: &TestCollector, options: EdgeOptions) -> Edge {
        tokio::task::block_in_place(ensure_built);
        let root = workspace_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let inspector = free_port();
        let log = dir.path().join("wrangler.log");
        let mut vars: Vec<(&str, String)> = vec![
            ("COLLECTOR_URL", collector.url.clone()),
            ("KEY_PEPPER", PEPPER.to_owned()),
            ("EDGE_SECRET", EDGE_SECRET.to_owned()),
            ("RETRY_BASE_DELAY_SECS", "1".to_owned()),
        ];
        vars.extend(options.vars);
        let mut args: Vec<String> = vec![
            "dev".into(),
            "--local".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--inspector-port".into(),
            inspector.to_string(),
            "--persist-to".into(),
            dir.path().join("state").display().to_string(),
            "--show-interactive-dev-session=false".into(),
        ];
        if let Some(env) = options.env {
            args.extend(["--env".into(), env.into()]);
        }
        for (name, value) in vars {
            args.extend(["--var".into(), format!("{name}:{value}")]);
        }
        let script = "source scripts/tools-env.sh && exec \"$WRANGLER_BIN\" \"$@\"";
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(script)
            .arg("wrangler")
            .args(&args)
            .current_dir(&root)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("log file"))
            .stderr(File::create(dir.path().join("wrangler.err")).expect("log file"));
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("wrangler starts");
        let edge = Edge {
            url: format!("http://127.0.0.1:{port}"),
            child,
            log,
            _dir: dir,
        };
        edge.wait_ready().await;
        edge
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client
                .get(format!("{}/healthz", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "wrangler dev did not start:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The process group of wrangler and its workerd processes.
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// What wrangler and the Worker printed so far.
    pub fn logs(&self) -> String {
        let out = std::fs::read_to_string(&self.log).unwrap_or_default();
        let err = std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default();
        format!("{out}\n{err}")
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- wrangler output ---\n{}", self.logs());
        }
    }
}
