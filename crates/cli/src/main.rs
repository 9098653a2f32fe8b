//! `tessera`: the one binary. Serves the token service and manages its
//! records from the command line.
//!
//! Owns: the clap commands, what they print, the demo data, and how a
//! refusal ends (`exit`). Every change a command makes goes through the use
//! cases of `tessera-admin` as `Acting::cli()`; nothing here checks a rule,
//! writes SQL or writes an audit event. Nothing depends on this crate.

mod cli;
mod commands;
mod demo;
mod exit;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
