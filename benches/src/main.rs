//! `tessera-bench`: Tessera's end-to-end benchmark.
//!
//! `tessera-bench run` seeds a database, starts the floor and the release
//! `tessera` binary as child processes, drives them with the same load
//! generator, and prints one Markdown table. `tessera-bench floor` is the
//! floor server on its own (the harness starts it that way).

mod floor;
mod load;
mod machine;
mod propagation;
mod scenarios;
mod seed;
mod server;
mod stats;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tessera_token::keys::Algorithm;

/// Tessera's end-to-end benchmark.
#[derive(Debug, Parser)]
#[command(name = "tessera-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every scenario and print the results table on stdout.
    Run(RunArgs),
    /// Serve the floor: parse, sign, answer, nothing else.
    Floor(FloorArgs),
    /// Measure how soon a deleted secret is refused by a running replica.
    Propagation(PropagationArgs),
}

#[derive(Debug, clap::Args)]
struct PropagationArgs {
    /// The database: an existing PostgreSQL database (two replicas run on
    /// it) [default: a fresh SQLite file, one replica].
    #[arg(long)]
    database_url: Option<String>,
    /// Deletions measured.
    #[arg(long, default_value_t = 1000)]
    deletions: usize,
    /// The `tessera` release binary [default: next to this binary].
    #[arg(long)]
    tessera_bin: Option<PathBuf>,
    /// An extra variable for every Tessera started; repeatable.
    #[arg(long = "server-env", value_name = "KEY=VALUE")]
    server_env: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Measured seconds of each timed scenario [default: 5, or 1 with --quick].
    #[arg(long)]
    duration: Option<f64>,
    /// Keep-alive connections of the load generator, the same for every server.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Comma-separated algorithms to measure.
    #[arg(long, value_delimiter = ',', default_value = "ES256,RS256,EdDSA")]
    algorithms: Vec<Algorithm>,
    /// A short smoke run: 1 s scenarios, 100 clients, 5,000 RSS secrets.
    #[arg(long)]
    quick: bool,
    /// Distinct clients of the cached and cold scenarios [default: 1000, or 100 with --quick].
    #[arg(long)]
    clients: Option<usize>,
    /// Distinct secrets of the RSS scenario [default: 100000, or 5000 with --quick].
    #[arg(long)]
    rss_secrets: Option<usize>,
    /// The `tessera` release binary [default: next to this binary].
    #[arg(long)]
    tessera_bin: Option<PathBuf>,
    /// An extra variable for every Tessera started, such as
    /// `TESSERA_CACHE__CAPACITY=200000`; repeatable.
    #[arg(long = "server-env", value_name = "KEY=VALUE")]
    server_env: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct FloorArgs {
    /// Address to listen on.
    #[arg(long)]
    listen: SocketAddr,
    /// PKCS#8 PEM private key to sign with.
    #[arg(long)]
    key_file: PathBuf,
    /// The `iss` claim.
    #[arg(long, default_value = server::ISSUER)]
    issuer: String,
    /// Access token lifetime, in seconds.
    #[arg(long, default_value_t = 900)]
    ttl_seconds: u32,
}

/// Tuning variables passed to every Tessera the harness starts, before any
/// given with `--server-env`. The one place to adjust them: Tessera refuses
/// unknown keys, so list here only keys the code under test knows (such as
/// `TESSERA_CACHE__CAPACITY` or `TESSERA_VERIFICATION__MAX_QUEUED`). Empty:
/// the benchmark measures the defaults a deployment gets.
const SERVER_ENV: &[(&str, &str)] = &[];

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // The same runtime as `tessera serve`: tokio's multi-threaded default.
        Command::Floor(args) => tokio::runtime::Runtime::new()
            .context("Failed to start the async runtime")
            .and_then(|rt| {
                rt.block_on(floor::serve(
                    args.listen,
                    &args.key_file,
                    args.issuer,
                    args.ttl_seconds,
                ))
            }),
        // The load generator runs on one thread: on a small machine it must
        // leave the servers the other cores.
        Command::Run(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("Failed to start the async runtime")
            .and_then(|rt| rt.block_on(run(args))),
        Command::Propagation(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("Failed to start the async runtime")
            .and_then(|rt| rt.block_on(propagation(args))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The `tessera` binary: the one given, or the one next to this binary.
fn tessera_bin(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path,
        None => std::env::current_exe()
            .context("Failed to locate tessera-bench")?
            .with_file_name("tessera"),
    };
    anyhow::ensure!(
        path.is_file(),
        "{} not found: build it with `cargo build --release -p tessera-cli`, or pass --tessera-bin",
        path.display()
    );
    Ok(path)
}

/// `SERVER_ENV`, then each `KEY=VALUE` given.
fn server_env(given: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = SERVER_ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for pair in given {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--server-env {pair}: expected KEY=VALUE"))?;
        env.push((key.to_owned(), value.to_owned()));
    }
    Ok(env)
}

async fn propagation(args: PropagationArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.deletions > 0, "--deletions must be positive");
    let config = propagation::PropagationConfig {
        database_url: args.database_url,
        deletions: args.deletions,
        tessera_bin: tessera_bin(args.tessera_bin)?,
        server_env: server_env(&args.server_env)?,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    println!("{}", propagation::run(&config).await?);
    Ok(())
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let quick = args.quick;
    let seconds = args.duration.unwrap_or(if quick { 1.0 } else { 5.0 });
    anyhow::ensure!(seconds > 0.0, "--duration must be positive");
    anyhow::ensure!(args.connections > 0, "--connections must be positive");
    let tessera_bin = tessera_bin(args.tessera_bin)?;
    let server_env = server_env(&args.server_env)?;
    let config = scenarios::RunConfig {
        duration: Duration::from_secs_f64(seconds),
        warmup: Duration::from_secs_f64((seconds / 5.0).clamp(0.2, 1.0)),
        connections: args.connections,
        algorithms: args.algorithms,
        clients: args
            .clients
            .unwrap_or(if quick { 100 } else { 1000 })
            .max(1),
        rss_secrets: args
            .rss_secrets
            .unwrap_or(if quick { 5000 } else { 100_000 })
            .max(1),
        tessera_bin,
        server_env,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let report = scenarios::run(&config).await?;
    println!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
