//! The `collector` binary's administration commands, run as a user would.

use std::io::Write;
use std::process::{Command, Stdio};

fn collector(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_collector"))
        .args(args)
        .env("COLLECTOR_DATA_DIR", dir)
        .env_remove("MONGODB_URI")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn owner_project_and_key_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, _, err) = collector(
        d,
        &["user", "add", "--email", "ada@example.com", "--password-stdin"],
        Some("a long enough password\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = collector(
        d,
        &["user", "add", "--email", "ada@example.com", "--password-stdin"],
        Some("a long enough password\n"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");

    let (ok, project, err) = collector(
        d,
        &["project", "create", "--name", "Blog", "--owner", "ada@example.com"],
        None,
    );
    assert!(ok, "{err}");
    let project = project.trim().to_owned();
    assert_eq!(project.len(), 24);
    let (ok, _, err) = collector(
        d,
        &["project", "create", "--name", "Blog", "--owner", "nobody@example.com"],
        None,
    );
    assert!(!ok && err.contains("no owner account"), "{err}");

    let (ok, key, err) = collector(
        d,
        &["key", "create", "--project", &project, "--label", "Production"],
        None,
    );
    assert!(ok, "{err}");
    let key = contract::keys::ApiKey::parse(key.trim()).expect("prints the raw key");
    let (ok, list, _) = collector(d, &["key", "list", "--project", &project], None);
    assert!(ok);
    assert!(
        list.contains(key.preview().as_str()) && list.contains("active") && !list.contains(key.expose()),
        "{list}"
    );
    let key_id = list.split('\t').next().unwrap().to_owned();

    let (ok, _, err) = collector(d, &["key", "revoke", "--key-id", &key_id], None);
    assert!(ok, "{err}");
    let (_, list, _) = collector(d, &["key", "list", "--project", &project], None);
    assert!(list.contains("revoked"), "{list}");
    let (ok, _, err) = collector(d, &["key", "revoke", "--key-id", "000000000000000000000000"], None);
    assert!(!ok && err.contains("not found"), "{err}");
}
