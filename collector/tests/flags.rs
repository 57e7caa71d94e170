//! The README's flag table is the CLI's: every flag it lists exists with the environment variable
//! it names, every flag the CLI has is listed, and boolean flags work the ways the README says.

use clap::{CommandFactory, Parser};
use collector::cli::{Cli, Command};

/// `(flag, environment variable)` of each row of the README's configuration table.
fn readme_rows() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let table = readme
        .split("| flag | environment | default | meaning |")
        .nth(1)
        .expect("README has the flag table");
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells[1].to_owned(), cells[2].to_owned())
        })
        .collect()
}

#[test]
fn the_readme_table_lists_every_flag_with_its_variable() {
    let cli = Cli::command();
    let serve = cli.find_subcommand("serve").expect("serve").clone();
    let mut flags: Vec<(String, String)> = cli
        .get_arguments()
        .chain(serve.get_arguments())
        .filter_map(|a| {
            let long = a.get_long()?;
            let env = a.get_env()?.to_string_lossy().into_owned();
            Some((format!("--{long}"), env))
        })
        .collect();
    flags.sort();
    flags.dedup();
    let mut rows = readme_rows();
    rows.sort();
    assert_eq!(
        rows, flags,
        "README's flag table (left) and the CLI's flags (right) differ"
    );
}

#[test]
fn boolean_flags_work_bare_and_with_a_value() {
    let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let cli = parse(&["collector", "--trust-proxy", "serve"]);
    assert_eq!(cli.config.trust_proxy, Some(true));
    assert!(
        matches!(cli.command, Command::Serve { .. }),
        "the subcommand is not taken as a value"
    );
    let cli = parse(&[
        "collector",
        "serve",
        "--allow-signup=false",
        "--secure-cookies",
        "--trust-proxy=true",
    ]);
    assert_eq!(cli.config.allow_signup, Some(false));
    assert_eq!(cli.config.secure_cookies, Some(true));
    assert_eq!(cli.config.trust_proxy, Some(true));
    let cli = parse(&["collector", "serve"]);
    assert_eq!((cli.config.trust_proxy, cli.config.allow_signup), (None, None));
    assert!(Cli::try_parse_from(["collector", "serve", "--allow-signup=maybe"]).is_err());
}
