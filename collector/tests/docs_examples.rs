//! Every `curl` example of README.md and docs/*.md runs as written against the run command's
//! collector: the `collector` binary on a fresh data dir, provisioned as `scripts/run.sh` does it
//! (an owner, a project, an ingestion key, 30 days of demo traffic), plus a login and an API token.
//!
//! An example is a command starting with `curl` in a fenced `sh` block. What a reader replaces in it
//! ([`PLACEHOLDERS`]) is filled in; anything else written `…` is a placeholder this test cannot fill,
//! and fails it. The command then runs through `bash -c` as written; it must exit 0 with a 2xx answer.
//! A fenced block right after the `sh` block (only blank lines between) is the documented answer of
//! its last command, and the answer must have its shape ([`json_shape_differences`],
//! [`table_differences`]): its numbers are illustrative, their layout is not.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The demo traffic, as `scripts/run.sh` creates it on its first run.
const DEMO_DAYS: &str = "30";
const DEMO_VISITORS: &str = "3000";
/// How long the collector may take to answer `/healthz` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest an example may take (curl's `--max-time`).
const EXAMPLE_TIMEOUT_SECS: u32 = 60;

/// What the docs write where a reader puts their own values, with what fills it here (none holds
/// another, so their order does not matter). README.md says which is which.
const PLACEHOLDERS: &[(&str, Fill)] = &[
    // The collector's address: the run command's (`scripts/run.sh`), and a deployed one.
    ("http://127.0.0.1:8080", Fill::BaseUrl),
    ("https://collector.example.com", Fill::BaseUrl),
    // An ingestion key (`collector key create`, the dashboard's site settings).
    ("mtr_…", Fill::IngestionKey),
    // An API token (`POST /api/v1/tokens`, the dashboard's account page).
    ("mtt_…", Fill::ApiToken),
    // The value of the login cookie (`POST /api/v1/login`).
    ("mts_…", Fill::LoginToken),
    // A project id (`collector project create`; `scripts/run.sh` prints the demo's).
    ("65f0c0ffee0123456789abcd", Fill::ProjectId),
];

#[derive(Clone, Copy)]
enum Fill {
    BaseUrl,
    IngestionKey,
    ApiToken,
    LoginToken,
    ProjectId,
}

/// The values of the running collector that fill the placeholders.
struct Values {
    base_url: String,
    ingestion_key: String,
    api_token: String,
    login_token: String,
    project_id: String,
}

impl Values {
    fn get(&self, fill: Fill) -> &str {
        match fill {
            Fill::BaseUrl => &self.base_url,
            Fill::IngestionKey => &self.ingestion_key,
            Fill::ApiToken => &self.api_token,
            Fill::LoginToken => &self.login_token,
            Fill::ProjectId => &self.project_id,
        }
    }

    /// `command` with every placeholder filled, or what is left unfilled.
    fn fill(&self, command: &str) -> Result<String, String> {
        let mut filled = command.to_owned();
        for (placeholder, fill) in PLACEHOLDERS {
            filled = filled.replace(placeholder, self.get(*fill));
        }
        match filled.find('…') {
            None => Ok(filled),
            Some(at) => {
                let line_start = filled[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = filled[at..].find('\n').map_or(filled.len(), |i| at + i);
                Err(format!(
                    "a placeholder this test cannot fill, in {:?} (add it to PLACEHOLDERS, or write the example with one it knows)",
                    filled[line_start..line_end].trim()
                ))
            }
        }
    }
}

/// A fenced block of a Markdown file.
struct Fence {
    /// The info string (`sh`, `json`, or empty).
    lang: String,
    text: String,
    /// 1-based line of the opening fence.
    line: usize,
    /// Whether only blank lines separate it from the fence before it.
    follows_previous: bool,
}

fn fences(markdown: &str) -> Vec<Fence> {
    let mut found = Vec::new();
    let mut open: Option<Fence> = None;
    // Whether only blank lines were seen since the last closing fence.
    let mut only_blanks_since_close = false;
    for (i, line) in markdown.lines().enumerate() {
        let is_fence = line.trim_start().starts_with("```");
        match (open.as_mut(), is_fence) {
            (Some(_), true) => {
                found.extend(open.take());
                only_blanks_since_close = true;
            }
            (Some(fence), false) => {
                fence.text.push_str(line);
                fence.text.push('\n');
            }
            (None, true) => {
                open = Some(Fence {
                    lang: line.trim_start().trim_start_matches('`').trim().to_owned(),
                    text: String::new(),
                    line: i + 1,
                    follows_previous: only_blanks_since_close,
                });
            }
            (None, false) => only_blanks_since_close &= line.trim().is_empty(),
        }
    }
    found
}

/// The commands of a shell script, each as written (continuation lines and quoted newlines kept):
/// a command ends at a newline outside quotes that no backslash escapes.
fn shell_commands(script: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    let (mut single, mut double, mut escaped, mut comment) = (false, false, false, false);
    for c in script.chars() {
        let was_escaped = escaped;
        escaped = c == '\\' && !was_escaped && !single && !comment;
        if c == '\n' && !single && !double && !was_escaped {
            if !current.trim().is_empty() {
                commands.push(current.trim().to_owned());
            }
            current.clear();
            comment = false;
            continue;
        }
        if !was_escaped && !comment {
            match c {
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double && current.chars().last().is_none_or(char::is_whitespace) => comment = true,
                _ => {}
            }
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        commands.push(current.trim().to_owned());
    }
    commands
}

/// One example: where it is, the command as written, and the documented answer if any.
struct Example {
    place: String,
    command: String,
    expected: Option<Fence>,
}

fn examples_of(path: &Path, root: &Path) -> Vec<Example> {
    let markdown = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let name = path.strip_prefix(root).unwrap_or(path).display().to_string();
    let mut blocks = fences(&markdown).into_iter().peekable();
    let mut examples = Vec::new();
    while let Some(block) = blocks.next() {
        if !matches!(block.lang.as_str(), "sh" | "bash" | "shell") {
            continue;
        }
        let mut found: Vec<Example> = shell_commands(&block.text)
            .into_iter()
            .filter(|c| c.split_whitespace().next() == Some("curl"))
            .map(|command| Example {
                place: format!("{name}:{} ({})", block.line, command.lines().next().unwrap_or_default()),
                command,
                expected: None,
            })
            .collect();
        let answer_follows = blocks
            .peek()
            .is_some_and(|next| next.follows_previous && !matches!(next.lang.as_str(), "sh" | "bash" | "shell"));
        if answer_follows {
            let answer = blocks.next().expect("peeked");
            if let Some(last) = found.last_mut() {
                last.expected = Some(answer);
            }
        }
        examples.extend(found);
    }
    examples
}

/// Differences between a JSON answer and the documented one, which holds its shape: the same
/// keys, the same types, arrays empty when documented empty and otherwise each element shaped
/// like the documented one at its index (or the last documented one), booleans and `null` as
/// written, and numbers illustrative except that zero means zero.
fn json_shape_differences(expected: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut keys: Vec<&String> = e.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                match (e.get(key), a.get(key)) {
                    (Some(ev), Some(av)) => json_shape_differences(ev, av, &format!("{at}.{key}"), out),
                    (Some(_), None) => out.push(format!("{at}.{key}: documented, missing from the answer")),
                    (None, Some(_)) => out.push(format!("{at}.{key}: in the answer, not documented")),
                    (None, None) => unreachable!("a key of one of them"),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => match (e.last(), a.is_empty()) {
            (None, true) => {}
            (None, false) => out.push(format!("{at}: documented empty, the answer has {} elements", a.len())),
            (Some(_), true) => out.push(format!("{at}: documented with elements, the answer has none")),
            (Some(last), false) => {
                for (i, av) in a.iter().enumerate() {
                    json_shape_differences(e.get(i).unwrap_or(last), av, &format!("{at}[{i}]"), out);
                }
            }
        },
        (Value::Number(e), Value::Number(a)) => {
            if (e.as_f64() == Some(0.0)) != (a.as_f64() == Some(0.0)) {
                out.push(format!("{at}: documented {e}, the answer has {a} (zero means zero)"));
            }
        }
        (Value::String(_), Value::String(_)) | (Value::Null, Value::Null) => {}
        (Value::Bool(e), Value::Bool(a)) if e == a => {}
        _ => out.push(format!("{at}: documented {expected}, the answer has {actual}")),
    }
}

/// Differences between a line-based answer (CSV) and the documented lines. A documented line `…`
/// stands for any number of lines: the lines before it are the answer's first, the ones after it
/// its last. The first line (the CSV header) is matched exactly; in the others, cells are matched
/// by kind: a number by a number (zero by zero), a date by a date, an empty cell by an empty cell,
/// and any other text exactly.
fn table_differences(expected: &str, actual: &str) -> Vec<String> {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().map(|l| l.trim_end_matches('\r')).collect();
    let (head, tail) = match expected.iter().position(|l| l.trim() == "…") {
        Some(i) => (&expected[..i], &expected[i + 1..]),
        None => (&expected[..], &[][..]),
    };
    let mut out = Vec::new();
    if actual.len() < head.len() + tail.len() || (tail.is_empty() && actual.len() != head.len()) {
        out.push(format!(
            "documented {} lines, the answer has {}",
            head.len() + tail.len(),
            actual.len()
        ));
        return out;
    }
    let pairs = head
        .iter()
        .zip(&actual)
        .chain(tail.iter().zip(&actual[actual.len() - tail.len()..]));
    for (n, (e, a)) in pairs.enumerate() {
        if n == 0 {
            if e != a {
                out.push(format!("header: documented {e:?}, the answer has {a:?}"));
            }
            continue;
        }
        let (e_cells, a_cells): (Vec<&str>, Vec<&str>) = (e.split(',').collect(), a.split(',').collect());
        let same_kinds = e_cells.len() == a_cells.len() && e_cells.iter().zip(&a_cells).all(|(e, a)| same_kind(e, a));
        if !same_kinds {
            out.push(format!("documented line {e:?}, the answer has {a:?}"));
        }
    }
    out
}

fn same_kind(expected: &str, actual: &str) -> bool {
    let number = |s: &str| s.parse::<f64>().ok();
    // `2026-01-05`, `2026-01-05 13:00`: the labels of time buckets.
    let date_like = |s: &str| {
        s.len() >= 10
            && s.bytes().take(10).enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            })
    };
    match (number(expected), number(actual)) {
        (Some(e), Some(a)) => (e == 0.0) == (a == 0.0),
        (Some(_), None) | (None, Some(_)) => false,
        (None, None) if date_like(expected) => date_like(actual) && expected.len() == actual.len(),
        (None, None) => expected == actual,
    }
}

/// The outcome of one example, or why it failed.
fn run_example(example: &Example, values: &Values, scratch: &Path) -> Result<(), String> {
    let command = values.fill(&example.command)?;
    let headers = scratch.join("headers");
    let _ = std::fs::remove_file(&headers);
    // The command runs as written; `curl` only also writes the response headers to a file (to read
    // the status from) and shows its errors.
    let script = format!(
        "curl() {{ command curl --show-error --max-time {EXAMPLE_TIMEOUT_SECS} --dump-header \"$DOC_EXAMPLE_HEADERS\" \"$@\"; }}\n{command}"
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("DOC_EXAMPLE_HEADERS", &headers)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running bash: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("exited with {} ({stderr}) running:\n{command}", out.status));
    }
    let dumped = std::fs::read_to_string(&headers).map_err(|e| format!("no response headers ({e}): {stderr}"))?;
    // The last status line: an interim `100 Continue` may come first.
    let status: u16 = dumped
        .lines()
        .rfind(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in the response headers: {dumped:?}"))?;
    if !(200..300).contains(&status) {
        return Err(format!("answered {status}: {stdout}\nrunning:\n{command}"));
    }
    let Some(expected) = &example.expected else {
        return Ok(());
    };
    let documented = &expected.text;
    let differences = match serde_json::from_str::<Value>(documented) {
        Ok(documented) => {
            let answer: Value = serde_json::from_str(&stdout)
                .map_err(|e| format!("the documented answer is JSON, this one is not ({e}): {stdout}"))?;
            let mut out = Vec::new();
            json_shape_differences(&documented, &answer, "answer", &mut out);
            out
        }
        Err(_) if expected.lang == "json" => {
            return Err(format!(
                "the documented answer (line {}) is not valid JSON",
                expected.line
            ))
        }
        Err(_) => table_differences(documented, &stdout),
    };
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the answer differs from the one documented at line {}:\n  {}\nthe answer:\n{stdout}",
            expected.line,
            differences.join("\n  ")
        ))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("collector/ is in the workspace")
        .to_owned()
}

/// The Markdown files that document the product: README.md and docs/*.md.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    found.extend(docs);
    found
}

/// Runs `collector <args>` on `data_dir` to completion and returns its stdout, trimmed.
fn admin(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_collector"))
        .args(args)
        .env("COLLECTOR_DATA_DIR", data_dir)
        .env_remove("MONGODB_URI")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the collector binary");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())
            .expect("writing stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("running the collector binary");
    assert!(
        out.status.success(),
        "collector {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output").trim().to_owned()
}

/// The run command's collector: provisioned like `scripts/run.sh`'s first run, then serving.
struct RunningCollector {
    child: std::process::Child,
    values: Values,
    _data_dir: tempfile::TempDir,
}

impl Drop for RunningCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_collector() -> RunningCollector {
    let data_dir = tempfile::tempdir().expect("a temp dir");
    let dir = data_dir.path();
    let (email, password) = ("demo@example.com", "demo password of the docs test");
    admin(
        dir,
        &["user", "add", "--email", email, "--password-stdin"],
        Some(password),
    );
    let project_id = admin(
        dir,
        &["project", "create", "--name", "Demo site", "--owner", email],
        None,
    );
    let ingestion_key = admin(
        dir,
        &["key", "create", "--project", &project_id, "--label", "Demo"],
        None,
    );
    admin(
        dir,
        &[
            "project",
            "demo-data",
            "--project",
            &project_id,
            "--days",
            DEMO_DAYS,
            "--visitors",
            DEMO_VISITORS,
        ],
        None,
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = dir.join("serve.log");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_collector"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("COLLECTOR_DATA_DIR", dir)
        .env_remove("MONGODB_URI")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("starting collector serve");
    let base_url = format!("http://127.0.0.1:{port}");
    let mut running = RunningCollector {
        child,
        values: Values {
            base_url: base_url.clone(),
            ingestion_key,
            api_token: String::new(),
            login_token: String::new(),
            project_id,
        },
        _data_dir: data_dir,
    };
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base_url}/healthz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        let exited = running.child.try_wait().ok().flatten();
        if exited.is_some() || started.elapsed() > START_TIMEOUT {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("collector serve not healthy after {START_TIMEOUT:?} (exit: {exited:?}); its log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let login = http
        .post(format!("{base_url}/api/v1/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login");
    assert!(login.status().is_success(), "login: {}", login.status());
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("mtr_session="))
        .expect("the login cookie");
    let login_token = cookie.split(';').next().expect("a value").to_owned();
    let created: Value = http
        .post(format!("{base_url}/api/v1/tokens"))
        .header(reqwest::header::COOKIE, format!("mtr_session={login_token}"))
        .json(&serde_json::json!({"label": "docs examples"}))
        .send()
        .await
        .expect("creating an API token")
        .json()
        .await
        .expect("the created token");
    running.values.api_token = created["token"].as_str().expect("a token").to_owned();
    running.values.login_token = login_token;
    running
}

#[tokio::test]
async fn every_curl_example_of_the_docs_runs_as_written() {
    let root = workspace_root();
    let mut examples = Vec::new();
    for doc in documents(&root) {
        let found = examples_of(&doc, &root);
        if doc.ends_with("README.md") {
            assert!(
                !found.is_empty(),
                "no curl example found in README.md: is the parser broken?"
            );
        }
        examples.extend(found);
    }
    assert!(
        examples.iter().any(|e| e.expected.is_some()),
        "no documented answer found: is the parser broken?"
    );

    let collector = start_collector().await;
    let scratch = tempfile::tempdir().expect("a temp dir");
    let mut failures = Vec::new();
    for example in &examples {
        match run_example(example, &collector.values, scratch.path()) {
            Ok(()) => eprintln!("ok    {}", example.place),
            Err(why) => {
                eprintln!("FAIL  {}", example.place);
                failures.push(format!("{}: {why}", example.place));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} doc examples failed:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
}

#[test]
fn commands_end_at_newlines_outside_quotes_and_continuations() {
    let script = "curl -s a \\\n  -d '{\"x\": 1,\n  \"y\": 2}'\n# a comment\ncurl \"b\\\"\nc\" d\n\nscripts/run.sh\n";
    assert_eq!(
        shell_commands(script),
        [
            "curl -s a \\\n  -d '{\"x\": 1,\n  \"y\": 2}'",
            "# a comment",
            "curl \"b\\\"\nc\" d",
            "scripts/run.sh"
        ]
    );
}

#[test]
fn shapes_match_by_kind_and_zero_means_zero() {
    let documented: Value = serde_json::json!({"ok": true, "n": 5, "rows": [{"p": "/", "v": 1}], "none": []});
    let mut out = Vec::new();
    json_shape_differences(
        &documented,
        &serde_json::json!({"ok": true, "n": 7, "rows": [{"p": "/a", "v": 2}, {"p": "/b", "v": 3}], "none": []}),
        "answer",
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    json_shape_differences(
        &documented,
        &serde_json::json!({"ok": false, "n": 0, "rows": [{"p": "/a"}], "none": [1], "extra": 1}),
        "answer",
        &mut out,
    );
    assert_eq!(out.len(), 5, "{out:?}");

    let documented = "day,visits,rate\n2026-01-01,31,45.16\n…\nTotal,1204,\n";
    assert!(table_differences(
        documented,
        "day,visits,rate\r\n2026-11-24,3,1.5\r\n2026-11-25,4,2\r\nTotal,7,\r\n"
    )
    .is_empty());
    assert_eq!(
        table_differences(documented, "day,visits,rate\r\nTotal,7,\r\n").len(),
        1
    );
    assert_eq!(
        table_differences(documented, "day,visits\r\n2026-11-24,0,1\r\nTotal,7,1\r\n").len(),
        3
    );
}
