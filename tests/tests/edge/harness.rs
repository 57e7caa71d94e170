//! Runs the real edge Worker in workerd against a [`TestCollector`]: under `wrangler dev --local`
//! ([`Edge::start`]) or under a bare `workerd serve` on a generated config ([`Edge::start_workerd`]).

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use e2e::{free_port, workspace_root, TestCollector, EDGE_SECRET, PEPPER};

/// Longest wait for the Worker to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Starts of a Worker on fresh ports before a taken port fails the test ([`Edge::spawn`]).
const START_ATTEMPTS: u32 = 3;

/// What workerd prints when the port it was given is bound already.
const ADDRESS_IN_USE: &str = "Address already in use";

/// Where `scripts/build-edge.sh` (worker-build) puts the Worker. Module names in the workerd
/// config are paths under it, so the relative imports between its files resolve as on disk.
const BUILD_DIR: &str = "edge/build";

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
    /// `wrangler --env` (`direct`: no queue). [`Edge::start_workerd`] only runs `direct`.
    pub env: Option<&'static str>,
    /// Extra `--var NAME:VALUE`s (they override `wrangler.toml`).
    pub vars: Vec<(&'static str, String)>,
}

/// What serves the Worker, so a figure or a failure says which one it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// workerd behind wrangler's and Miniflare's proxies, with local queues.
    WranglerDev,
    /// workerd alone: requests reach the Worker with nothing in between.
    Workerd,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::WranglerDev => "wrangler dev",
            Runtime::Workerd => "workerd serve",
        }
    }

    /// The processes of [`Edge::pgid`]: what a CPU figure of the group includes.
    pub fn processes(self) -> &'static str {
        match self {
            Runtime::WranglerDev => "workerd+wrangler",
            Runtime::Workerd => "workerd",
        }
    }

    fn log_stem(self) -> &'static str {
        match self {
            Runtime::WranglerDev => "wrangler",
            Runtime::Workerd => "workerd",
        }
    }
}

/// The settings the tests give every Worker: this collector, its secrets, and retries short
/// enough for a test, then `extra` (later entries win).
fn harness_vars(collector: &TestCollector, extra: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut vars: Vec<(&'static str, String)> = vec![
        ("COLLECTOR_URL", collector.url.clone()),
        ("KEY_PEPPER", PEPPER.to_owned()),
        ("EDGE_SECRET", EDGE_SECRET.to_owned()),
        ("RETRY_BASE_DELAY_SECS", "1".to_owned()),
    ];
    vars.extend(extra);
    vars
}

/// The Worker's process group (`wrangler dev` or `workerd serve`); killed on drop, also when a
/// test panics.
pub struct Edge {
    pub url: String,
    pub runtime: Runtime,
    child: Child,
    log: PathBuf,
    /// Holds the logs and the runtime's state; `None` only while a failed start hands it on.
    dir: Option<tempfile::TempDir>,
}

/// Whether a started runtime answers.
enum Ready {
    Yes,
    /// Another process bound the port first (see [`Edge::spawn`]).
    PortTaken,
}

impl Edge {
    pub async fn start(collector: &TestCollector, options: EdgeOptions) -> Edge {
        tokio::task::block_in_place(ensure_built);
        let root = workspace_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state");
        let config = dir.path().join("config");
        let mut vars: Vec<String> = Vec::new();
        if let Some(env) = options.env {
            vars.extend(["--env".into(), env.into()]);
        }
        for (name, value) in harness_vars(collector, options.vars) {
            vars.extend(["--var".into(), format!("{name}:{value}")]);
        }
        let command_for = |port: u16| {
            let mut args: Vec<String> = vec![
                "dev".into(),
                "--local".into(),
                "--ip".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--inspector-port".into(),
                free_port().to_string(),
                "--persist-to".into(),
                state.display().to_string(),
                "--show-interactive-dev-session=false".into(),
            ];
            args.extend(vars.iter().cloned());
            let script = "source scripts/tools-env.sh && exec \"$WRANGLER_BIN\" \"$@\"";
            let mut command = Command::new("bash");
            command
                .arg("-c")
                .arg(script)
                .arg("wrangler")
                .args(&args)
                .current_dir(&root)
                .env("WRANGLER_SEND_METRICS", "false")
                .env("XDG_CONFIG_HOME", &config)
                .env("CI", "true")
                .env("NO_COLOR", "1");
            command
        };
        Edge::spawn(Runtime::WranglerDev, dir, command_for).await
    }

    /// The same Worker under a bare `workerd serve`, without wrangler's and Miniflare's proxies
    /// in front of it, so latency figures are the Worker's own. The config is generated from
    /// `wrangler.toml`'s `direct` env: no queue binding, so accepted events are forwarded to the
    /// collector from `waitUntil`. The binary is the workerd that wrangler itself runs
    /// (`WORKERD_BIN` overrides it).
    pub async fn start_workerd(collector: &TestCollector, options: EdgeOptions) -> Edge {
        let env = options.env.unwrap_or("direct");
        assert_eq!(
            env, "direct",
            "a bare workerd has no queues: only the `direct` env runs there"
        );
        tokio::task::block_in_place(ensure_built);
        let root = workspace_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let wrangler = WranglerToml::read(&root.join("wrangler.toml"), env);
        let modules = copy_worker_modules(&root.join(BUILD_DIR), &wrangler.main, &dir.path().join("modules"));

        // As under wrangler: `[env.direct.vars]`, then the harness's vars and secrets (all plain
        // text bindings there too), the last value of a name winning.
        let mut bindings: Vec<(String, String)> = Vec::new();
        let overrides = harness_vars(collector, options.vars);
        for (name, value) in wrangler
            .vars
            .into_iter()
            .chain(overrides.into_iter().map(|(n, v)| (n.to_owned(), v)))
        {
            bindings.retain(|(existing, _)| *existing != name);
            bindings.push((name, value));
        }
        let assets = wrangler
            .assets
            .map(|(binding, directory)| (binding, root.join(directory)));
        let config_path = dir.path().join("edge.capnp");
        let command_for = |port: u16| {
            let config = workerd_config(&WorkerdConfig {
                address: format!("127.0.0.1:{port}"),
                compatibility_date: &wrangler.compatibility_date,
                modules: &modules,
                text_bindings: &bindings,
                assets: assets.as_ref().map(|(binding, dir)| (binding.as_str(), dir.as_path())),
            });
            std::fs::write(&config_path, config).expect("workerd config written");
            let script = "source scripts/tools-env.sh && \
                exec \"${WORKERD_BIN:-$METRICS_TOOLS_DIR/node_modules/.bin/workerd}\" \"$@\"";
            let mut command = Command::new("bash");
            command
                .arg("-c")
                .arg(script)
                .arg("workerd")
                .arg("serve")
                .arg(&config_path)
                .current_dir(&root);
            command
        };
        Edge::spawn(Runtime::Workerd, dir, command_for).await
    }

    /// Starts `command_for(port)` on a free port until it answers `/healthz`. The port is only
    /// known free when [`free_port`] lets it go: another test can bind it before the runtime
    /// does, which then fails with "Address already in use". Such a start is ended and tried
    /// again on a new port, at most [`START_ATTEMPTS`] times.
    async fn spawn(runtime: Runtime, dir: tempfile::TempDir, command_for: impl Fn(u16) -> Command) -> Edge {
        let mut dir = Some(dir);
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port();
            let mut command = command_for(port);
            let dir_ref = dir.as_ref().expect("the temp dir is back after a failed start");
            let log = dir_ref.path().join(format!("{}.log", runtime.log_stem()));
            command
                .stdin(Stdio::null())
                .stdout(File::create(&log).expect("log file"))
                .stderr(File::create(log.with_extension("err")).expect("log file"));
            // Its own group, so drop ends every process it starts (wrangler runs two workerds).
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("{} starts: {e}", runtime.name()));
            let mut edge = Edge {
                url: format!("http://127.0.0.1:{port}"),
                runtime,
                child,
                log,
                dir: dir.take(),
            };
            match edge.wait_ready().await {
                Ready::Yes => return edge,
                Ready::PortTaken if attempt < START_ATTEMPTS => {
                    eprintln!(
                        "{}: port {port} was taken before it bound it; starting again on another",
                        runtime.name()
                    );
                    dir = edge.dir.take();
                    // Dropping `edge` ends the process group.
                }
                Ready::PortTaken => panic!(
                    "{} found its port taken {START_ATTEMPTS} times:\n{}",
                    runtime.name(),
                    edge.logs()
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    async fn wait_ready(&mut self) -> Ready {
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
                    return Ready::Yes;
                }
            }
            // wrangler goes on running when its workerd cannot bind; a bare workerd exits.
            if self.logs().contains(ADDRESS_IN_USE) {
                return Ready::PortTaken;
            }
            // A bad config or a missing binary ends the process at once: no use waiting.
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before answering /healthz:\n{}",
                    self.runtime.name(),
                    self.logs()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "{} did not start:\n{}",
                self.runtime.name(),
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The process group of wrangler and its workerd processes, or of the bare workerd.
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// What the runtime and the Worker printed so far.
    pub fn logs(&self) -> String {
        let out = std::fs::read_to_string(&self.log).unwrap_or_default();
        let err = std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default();
        format!("{out}\n{err}")
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        // A group that is already gone (a bare workerd ends on TERM) is not worth a message.
        let kill = |signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        kill("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        kill("-KILL");
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} output ---\n{}", self.runtime.name(), self.logs());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// bare workerd

/// The `wrangler.toml` settings a bare workerd needs. A line reader for what that file uses
/// (tables and `key = "string"` pairs), not a TOML parser: a parser would be a new dependency of
/// the workspace for two tables.
struct WranglerToml {
    /// `main`, relative to [`BUILD_DIR`].
    main: String,
    compatibility_date: String,
    /// `[env.<env>.vars]`: wrangler does not inherit top-level vars into an env.
    vars: Vec<(String, String)>,
    /// `[assets]`: the binding name and the directory (relative to the workspace).
    assets: Option<(String, String)>,
}

impl WranglerToml {
    fn read(path: &Path, env: &str) -> WranglerToml {
        let text = std::fs::read_to_string(path).expect("wrangler.toml");
        let env_table = format!("env.{env}");
        let vars_table = format!("env.{env}.vars");
        let mut table = String::new();
        let (mut main, mut date, mut env_date) = (None, None, None);
        let (mut assets_binding, mut assets_dir) = (None, None);
        let mut vars = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                table = line.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                panic!("wrangler.toml:{}: not `key = value`: {line}", number + 1);
            };
            let key = key.trim();
            let string = || {
                toml_string(value.trim())
                    .unwrap_or_else(|| panic!("wrangler.toml:{}: `{key}` is not a plain string", number + 1))
            };
            match (table.as_str(), key) {
                ("", "main") => main = Some(string()),
                ("", "compatibility_date") => date = Some(string()),
                (t, "compatibility_date") if t == env_table => env_date = Some(string()),
                ("assets", "binding") => assets_binding = Some(string()),
                ("assets", "directory") => assets_dir = Some(string()),
                (t, _) if t == vars_table => vars.push((key.to_owned(), string())),
                _ => {}
            }
        }
        let main = main.expect("wrangler.toml sets `main`");
        let main = main
            .strip_prefix(&format!("{BUILD_DIR}/"))
            .unwrap_or_else(|| panic!("wrangler.toml: `main` ({main}) is outside {BUILD_DIR}"))
            .to_owned();
        WranglerToml {
            main,
            compatibility_date: env_date.or(date).expect("wrangler.toml sets `compatibility_date`"),
            vars,
            assets: assets_binding.zip(assets_dir),
        }
    }
}

/// A TOML basic (`"…"`) or literal (`'…'`) string at the start of `value`, unescaped; `None` for
/// anything else (numbers, booleans, arrays), which the caller refuses.
fn toml_string(value: &str) -> Option<String> {
    let mut chars = value.chars();
    match chars.next()? {
        '\'' => Some(chars.take_while(|&c| c != '\'').collect()),
        '"' => {
            let mut out = String::new();
            loop {
                match chars.next()? {
                    '"' => return Some(out),
                    '\\' => out.push(match chars.next()? {
                        'n' => '\n',
                        't' => '\t',
                        c @ ('"' | '\\') => c,
                        _ => return None,
                    }),
                    c => out.push(c),
                }
            }
        }
        _ => None,
    }
}

/// How workerd should load a module (`Worker.Module` in workerd.capnp).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ModuleKind {
    EsModule,
    Wasm,
}

/// Copies `main` and every module it reaches through relative imports from `build` to `into`
/// (so the config embeds a snapshot, not files a concurrent build may rewrite); returns the
/// modules, main first as workerd requires, named by their path under `build`.
fn copy_worker_modules(build: &Path, main: &str, into: &Path) -> Vec<(String, ModuleKind)> {
    let mut modules = Vec::new();
    let mut seen = HashSet::from([main.to_owned()]);
    let mut pending = VecDeque::from([main.to_owned()]);
    while let Some(name) = pending.pop_front() {
        let source = build.join(&name);
        let kind = match Path::new(&name).extension().and_then(|e| e.to_str()) {
            Some("js" | "mjs") => ModuleKind::EsModule,
            Some("wasm") => ModuleKind::Wasm,
            _ => panic!("{name}: no workerd module type for this file (imported from the Worker)"),
        };
        let bytes = std::fs::read(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        if kind == ModuleKind::EsModule {
            let text = String::from_utf8_lossy(&bytes);
            for spec in relative_imports(&text) {
                let imported = resolve_import(&name, &spec);
                if seen.insert(imported.clone()) {
                    pending.push_back(imported);
                }
            }
        }
        let target = into.join(&name);
        std::fs::create_dir_all(target.parent().expect("a module file has a parent")).expect("modules dir");
        std::fs::write(&target, &bytes).expect("module copied");
        modules.push((name, kind));
    }
    modules
}

/// The relative specifiers of the static imports and re-exports in `source` (`from "./x"`,
/// `import "./x"`). Bare and `cloudflare:` specifiers are the runtime's, not files. A textual
/// scan is enough for worker-build's output, whose only imports are these.
fn relative_imports(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for keyword in ["from", "import"] {
        for (at, _) in source.match_indices(keyword) {
            let rest = source[at + keyword.len()..].trim_start();
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let Some(end) = rest[1..].find(quote) else {
                continue;
            };
            let spec = &rest[1..1 + end];
            if spec.starts_with("./") || spec.starts_with("../") {
                found.push(spec.to_owned());
            }
        }
    }
    found
}

/// The module name `spec` names when imported from the module `importer`.
fn resolve_import(importer: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = importer.split('/').collect();
    parts.pop();
    for part in spec.split('/') {
        match part {
            "" | "." => {}
            ".." => assert!(parts.pop().is_some(), "{importer} imports {spec}, outside {BUILD_DIR}"),
            part => parts.push(part),
        }
    }
    parts.join("/")
}

struct WorkerdConfig<'a> {
    address: String,
    compatibility_date: &'a str,
    /// Copied under `modules/` next to the config file (`embed` paths are relative to it).
    modules: &'a [(String, ModuleKind)],
    text_bindings: &'a [(String, String)],
    /// The assets binding's name and directory.
    assets: Option<(&'a str, &'a Path)>,
}

/// The workerd config (Cap'n Proto text) of one Worker on one plain-HTTP socket.
fn workerd_config(config: &WorkerdConfig) -> String {
    let mut modules = String::new();
    for (name, kind) in config.modules {
        let kind = match kind {
            ModuleKind::EsModule => "esModule",
            ModuleKind::Wasm => "wasm",
        };
        let file = capnp_text(&format!("modules/{name}"));
        modules.push_str(&format!("    (name = {}, {kind} = embed {file}),\n", capnp_text(name)));
    }
    let mut bindings = String::new();
    for (name, value) in config.text_bindings {
        bindings.push_str(&format!(
            "    (name = {}, text = {}),\n",
            capnp_text(name),
            capnp_text(value)
        ));
    }
    let mut services = String::new();
    if let Some((binding, dir)) = config.assets {
        // The Worker runs first for every request (`run_worker_first`) and sets the headers
        // itself; the binding only has to hand it the files, which a `disk` service does.
        bindings.push_str(&format!(
            "    (name = {}, service = \"assets\"),\n",
            capnp_text(binding)
        ));
        let dir = capnp_text(&dir.display().to_string());
        services.push_str(&format!("    (name = \"assets\", disk = (path = {dir})),\n"));
    }
    format!(
        r#"# Generated by tests/tests/edge/harness.rs (Edge::start_workerd) from wrangler.toml.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edge),
{services}    # workerd's default outbound reaches public addresses only; the collector is on loopback.
    (name = "outbound", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "http", address = {address}, http = (), service = "edge"),
  ],
);

const edge :Workerd.Worker = (
  modules = [
{modules}  ],
  compatibilityDate = {date},
  bindings = [
{bindings}  ],
  globalOutbound = "outbound",
);
"#,
        address = capnp_text(&config.address),
        date = capnp_text(config.compatibility_date),
    )
}

/// A Cap'n Proto text literal.
fn capnp_text(value: &str) -> String {
    let mut out = String::from('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
