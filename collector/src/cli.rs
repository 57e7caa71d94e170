//! The command line: `collector serve` and the owner/project/key administration commands.
//! Output meant for scripts (an id, a key) goes to stdout alone; everything else to stderr.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use store::{Email, Store};

use crate::app::{open_store, Application};
use crate::config::{Config, ConfigArgs};
use crate::error::AppError;
use crate::secrets::Secrets;
use crate::{ops, routes::rfc3339};

#[derive(Parser, Debug)]
#[command(
    name = "collector",
    version,
    about = "Web analytics collector: ingestion, sessions, owners, projects and keys"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on (port 0 picks a free one; the bound address is logged).
        #[arg(long, env = "COLLECTOR_LISTEN")]
        listen: Option<String>,
    },
    /// Manage owner accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Manage ingestion API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an owner account; asks for the password, or reads one line from stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Create a project and print its id.
    Create {
        #[arg(long)]
        name: String,
        /// Email of the owning account.
        #[arg(long)]
        owner: String,
    },
    /// List an owner's projects.
    List {
        #[arg(long)]
        owner: String,
    },
    /// Fill a project with realistic synthetic traffic ending now (the demo site of the run
    /// command, and a dataset to try the dashboard on). Seeded: the same seed gives the same events.
    DemoData {
        #[arg(long)]
        project: String,
        /// Days of traffic, ending now.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Distinct visitors over the whole period.
        #[arg(long, default_value_t = 3000)]
        visitors: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key and print it (it is shown only this once).
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        label: String,
    },
    /// List a project's keys by preview.
    List {
        #[arg(long)]
        project: String,
    },
    /// Revoke a key by its id.
    Revoke {
        #[arg(long)]
        key_id: String,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen } => {
            let config = cli.config.resolve(listen)?;
            Application::build(config).await?.run_until_stopped().await
        }
        command => {
            let config = cli.config.resolve(None)?;
            admin(&config, command).await
        }
    }
}

fn app_error(e: AppError) -> anyhow::Error {
    match e {
        AppError::Internal(e) => e,
        other => anyhow!("{other}"),
    }
}

async fn admin(config: &Config, command: Command) -> anyhow::Result<()> {
    let shared = open_store(config).await?;
    let store = &*shared;
    match command {
        Command::Serve { .. } => unreachable!("handled by run"),
        Command::User {
            command: UserCommand::Add { email, password_stdin },
        } => {
            let password = read_password(password_stdin)?;
            let user = ops::create_user(store, &email, &password).await.map_err(app_error)?;
            eprintln!("created owner {} ({})", user.email.as_str(), user.id);
        }
        Command::Project {
            command: ProjectCommand::Create { name, owner },
        } => {
            let owner = find_owner(store, &owner).await?;
            let project = ops::create_project(store, &owner, &name).await.map_err(app_error)?;
            eprintln!(
                "created project {:?} for {}",
                project.name.as_str(),
                owner.email.as_str()
            );
            println!("{}", project.id);
        }
        Command::Project {
            command: ProjectCommand::List { owner },
        } => {
            let owner = find_owner(store, &owner).await?;
            for p in store.projects_of(&owner.id).await? {
                println!("{}\t{}\t{}", p.id, p.name.as_str(), rfc3339(p.created_at));
            }
        }
        Command::Project {
            command:
                ProjectCommand::DemoData {
                    project,
                    days,
                    visitors,
                    seed,
                },
        } => {
            let project = find_project(store, &project).await?;
            let started = std::time::Instant::now();
            let stored = crate::demo::fill(store, &project, days, visitors, seed, crate::now_ms()).await?;
            eprintln!(
                "stored {stored} demo events in project {:?} in {:.1} s; rebuilding their rollups",
                project.name.as_str(),
                started.elapsed().as_secs_f64()
            );
            // Done here rather than left to `serve`, so the first dashboard is complete at once.
            crate::rollups::rebuild_pending(shared.clone(), config.raw_retention_days).await;
            eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
        }
        Command::Key {
            command: KeyCommand::Create { project, label },
        } => {
            let project = find_project(store, &project).await?;
            let secrets = Secrets::resolve(config)?;
            let (key, record) = ops::create_key(store, secrets.key_pepper.expose(), &project, &label)
                .await
                .map_err(app_error)?;
            eprintln!(
                "created key {} ({}) for project {:?}; it is shown only now:",
                record.id,
                record.key_preview.as_str(),
                project.name.as_str()
            );
            println!("{}", key.expose());
        }
        Command::Key {
            command: KeyCommand::List { project },
        } => {
            let project = find_project(store, &project).await?;
            for k in store.keys_of(&project.id).await? {
                let used = k.last_used_at.map(rfc3339).unwrap_or_else(|| "never used".into());
                let state = k
                    .revoked_at
                    .map(|t| format!("revoked {}", rfc3339(t)))
                    .unwrap_or_else(|| "active".into());
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    k.id,
                    k.key_preview.as_str(),
                    k.label.as_str(),
                    used,
                    state
                );
            }
        }
        Command::Key {
            command: KeyCommand::Revoke { key_id },
        } => {
            let record = ops::revoke_key(store, None, &key_id).await.map_err(app_error)?;
            eprintln!(
                "revoked key {} ({}); edges stop accepting it within their cache TTL",
                record.id,
                record.key_preview.as_str()
            );
        }
    }
    Ok(())
}

async fn find_owner(store: &dyn Store, email: &str) -> anyhow::Result<store::User> {
    let parsed = Email::parse(email).map_err(|why| anyhow!("--owner: {why}"))?;
    store
        .user_by_email(&parsed)
        .await?
        .ok_or_else(|| anyhow!("no owner account with email {email:?}: create it with `collector user add`"))
}

async fn find_project(store: &dyn Store, id: &str) -> anyhow::Result<store::Project> {
    let parsed = contract::ids::ProjectId::parse(id).map_err(|e| anyhow!("--project: {e}"))?;
    store
        .project(&parsed)
        .await?
        .ok_or_else(|| anyhow!("no project with id {id}"))
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            bail!("no password on stdin");
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let second = rpassword::prompt_password("Again: ").context("reading the password")?;
    if first != second {
        bail!("the passwords differ");
    }
    Ok(first)
}
