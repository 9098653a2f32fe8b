//! The propagation scenario: how long after a secret's deletion another
//! process stops accepting it.
//!
//! Real `tessera serve` replicas run on one database (two on PostgreSQL,
//! one on SQLite); the harness deletes secrets through the use cases from
//! its own process, as `tessera secret delete` does. Before each deletion
//! the watched replica has the secret in its cache (two tokens obtained
//! with it); from the instant the deletion starts (before its transaction,
//! so the time includes the commit) the harness asks the watched replica
//! for a token with the secret, request after request on one keep-alive
//! connection, until it answers 401. The time to that answer is one
//! sample.

use anyhow::Context as _;
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};
use tessera_admin::Acting;
use tessera_core::SystemClock;
use tessera_core::application::ApplicationKind;
use tessera_server::startup::open_admin;
use tessera_token::keys::Algorithm;

use crate::load::{RequestSet, Single, Target};
use crate::scenarios::CHEAP_ARGON2;
use crate::seed;
use crate::server::{ServerProcess, TesseraLaunch};

/// What to measure.
#[derive(Debug)]
pub struct PropagationConfig {
    /// The database: a SQLite file in a temporary folder when `None`.
    pub database_url: Option<String>,
    /// Deletions measured.
    pub deletions: usize,
    /// The `tessera` release binary.
    pub tessera_bin: std::path::PathBuf,
    /// Extra variables for the servers.
    pub server_env: Vec<(String, String)>,
    /// The command line, for the report.
    pub command: String,
}

/// A refusal slower than this is a failure of the run, not a sample.
const GIVE_UP: Duration = Duration::from_secs(5);

/// Runs the scenario and returns its Markdown report.
pub async fn run(config: &PropagationConfig) -> anyhow::Result<String> {
    let work = tempfile::tempdir().context("Failed to create a work folder")?;
    let database_url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", work.path().join("tessera.db").display()));
    let postgres = database_url.starts_with("postgres");
    let keys_dir = work.path().join("keys");
    let mut settings = seed::settings(&database_url, &keys_dir)?;
    // Cheap hashes: the scenario measures propagation, not argon2.
    settings.argon2 = CHEAP_ARGON2;
    seed::activate_new_key(&settings, &keys_dir, Algorithm::Es256).await?;
    let (store, admin) = open_admin(&settings, std::sync::Arc::new(SystemClock)).await?;
    let cli = Acting::cli();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let org = admin
        .create_organisation(&cli, &format!("Propagation{suffix}"), "NL")
        .await?;
    let app = admin
        .create_application(
            &cli,
            org.id,
            "PRO",
            ApplicationKind::Partner,
            &[crate::floor::PERMISSIONS[0]],
        )
        .await?;
    let client_id = app.client_id.to_string();

    // Every deletion ends in a refused request for the same client: the
    // failure limits would soon hold its next warm-up back.
    let mut extra_env: Vec<(String, String)> = [
        ("TESSERA_VERIFICATION__MAX_FAILURES_PER_CLIENT_ADDRESS", "0"),
        ("TESSERA_VERIFICATION__MAX_FAILURES_PER_ADDRESS", "0"),
        ("TESSERA_REMINDERS__ENABLED", "false"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    extra_env.push((
        "TESSERA_EMAIL__OUTBOX_DIR".to_owned(),
        work.path().join("outbox").display().to_string(),
    ));
    extra_env.extend(config.server_env.iter().cloned());
    let launch = TesseraLaunch {
        binary: config.tessera_bin.clone(),
        database_url: database_url.clone(),
        work_dir: work.path().to_owned(),
        extra_env,
    };
    let watched = ServerProcess::tessera(&launch, &keys_dir, Algorithm::Es256, "watched").await?;
    // On PostgreSQL a second replica runs too: every deletion's answer
    // waits for both.
    let other = if postgres {
        Some(ServerProcess::tessera(&launch, &keys_dir, Algorithm::Es256, "other").await?)
    } else {
        None
    };
    let target = Target {
        addr: watched.addr,
        source: None,
    };
    let mut connection = Single::open(target).await?;
    let mut samples: Histogram<u64> = crate::stats::new_histogram()?;
    let mut answers: Histogram<u64> = crate::stats::new_histogram()?;
    let mut unconfirmed = 0usize;
    for round in 0..config.deletions {
        let created = admin
            .create_secret(&cli, app.client_id, "Propagation", None)
            .await?;
        let requests = RequestSet::new(
            watched.addr,
            [(client_id.as_str(), created.secret.expose())],
        )?;
        for _ in 0..2 {
            let status = connection.status(&requests).await;
            anyhow::ensure!(
                status == Some(200),
                "round {round}: warm-up answered {status:?}"
            );
        }
        let started = Instant::now();
        let delete = async {
            let confirmation = admin
                .delete_secret(&cli, app.client_id, created.record.id)
                .await;
            (confirmation, started.elapsed())
        };
        let refused = async {
            loop {
                match connection.status(&requests).await {
                    Some(401) => return Ok(started.elapsed()),
                    Some(200) | None if started.elapsed() < GIVE_UP => {}
                    other => anyhow::bail!("round {round}: the replica answered {other:?}"),
                }
            }
        };
        let ((confirmation, answered), refused) = tokio::join!(delete, refused);
        let refused = refused?;
        if !confirmation?.is_complete() {
            unconfirmed += 1;
        }
        samples.record(micros(refused))?;
        answers.record(micros(answered))?;
    }
    watched.stop().await?;
    if let Some(other) = other {
        other.stop().await?;
    }
    store.close().await;

    let database = if postgres { "PostgreSQL" } else { "SQLite" };
    let replicas = if postgres {
        "two `tessera serve`"
    } else {
        "one `tessera serve`"
    };
    let ms = |h: &Histogram<u64>, q: f64| format!("{:.1}", h.value_at_quantile(q) as f64 / 1000.0);
    Ok(format!(
        "| database | replicas | deletions | p50 ms | p99 ms | max ms | answer p50 ms | answer p99 ms | unconfirmed answers |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n\
         | {database} | {replicas} | {} | {} | {} | {} | {} | {} | {unconfirmed} |\n\n\
         From the start of the deletion (before its transaction) to the watched replica's first 401; \
         \"answer\" is when the deletion returned, after every live replica confirmed.\n\
         Command: `{}`",
        samples.len(),
        ms(&samples, 0.5),
        ms(&samples, 0.99),
        ms(&samples, 1.0),
        ms(&answers, 0.5),
        ms(&answers, 0.99),
        config.command,
    ))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}
