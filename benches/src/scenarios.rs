//! The scenarios of one benchmark run, in order, and the table they make.
//!
//! Per algorithm: the floor and a fresh Tessera; the cold pass (the first
//! request of every seeded secret), which also warms the cache; the peaks
//! of the floor and of cached Tessera (one client, every client) in
//! alternating rounds, each row the median round; the floor at half its
//! peak; cached Tessera at half its peak (open loop) and with a flood of
//! wrong secrets from another address; introspection of tokens of many
//! clients by one resource server, in the same alternating rounds as the
//! cached token requests it is compared with. Once: the memory of 100,000
//! cached secrets.

use anyhow::Context as _;
use rand::Rng as _;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tessera_core::password::Argon2Config;
use tessera_core::secret::PlainSecret;
use tessera_token::keys::Algorithm;

use crate::load::{self, RequestSet, Target};
use crate::seed::{self, Client, SeedPlan};
use crate::server::{ServerProcess, TesseraLaunch, metric_sum};
use crate::stats::{Row, RunStats, format_ms, format_rate, group_thousands, markdown_table};

/// Targets of the issue, checked in the table.
const CACHED_MIN_RATIO: f64 = 0.80;
/// Alternating rounds of the floor's and Tessera's peaks; rows show the median.
const ROUNDS: usize = 3;
const HALF_PEAK_P99_MS: f64 = 5.0;
const FLOOD_MIN_RATIO: f64 = 0.50;
const FLOOD_P99_MS: f64 = 20.0;
const RSS_LIMIT_MIB: f64 = 100.0;

/// Deliberately cheap argon2id for the RSS scenario's 100,000 secrets: at
/// the default cost they would take an hour to hash. The server verifies
/// with the parameters stored in each hash, and what a cache entry holds
/// does not depend on them.
pub const CHEAP_ARGON2: Argon2Config = Argon2Config {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

/// The flood comes from this loopback address, the cached clients from
/// 127.0.0.1: an attacker is somewhere else than the partners.
const FLOOD_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Distinct tokens the introspection scenario asks about, each of another
/// client (fewer when fewer clients are seeded).
const INTROSPECTED_TOKENS: usize = 100;

/// Access token lifetime of both servers (Tessera's default).
const TTL_SECONDS: u32 = 900;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Measured time of each timed scenario.
    pub duration: Duration,
    /// Unrecorded lead-in of each timed scenario.
    pub warmup: Duration,
    /// Connections of the load generator, the same for every server.
    pub connections: usize,
    /// Algorithms to measure.
    pub algorithms: Vec<Algorithm>,
    /// Distinct clients (default-cost secrets) of the cached and cold scenarios.
    pub clients: usize,
    /// Distinct cheap-hashed secrets of the RSS scenario.
    pub rss_secrets: usize,
    /// The `tessera` release binary.
    pub tessera_bin: PathBuf,
    /// Extra `TESSERA_*` variables for every Tessera started.
    pub server_env: Vec<(String, String)>,
    /// The command as typed, for the report.
    pub command: String,
}

/// Runs everything and returns the report (Markdown).
pub async fn run(config: &RunConfig) -> anyhow::Result<String> {
    let machine = crate::machine::describe();
    let work = tempfile::tempdir().context("Failed to create a work folder")?;
    let database_url = format!("sqlite://{}", work.path().join("tessera.db").display());
    let settings = seed::settings(&database_url, &work.path().join("keys-seed"))?;
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());

    progress(&format!(
        "seeding {} clients with default-cost argon2id secrets…",
        config.clients
    ));
    let started = Instant::now();
    let clients = seed::seed(
        &settings,
        SeedPlan {
            tag: "Main",
            secrets: config.clients,
            secrets_per_application: 1,
            argon2: Argon2Config::default(),
            parallel,
        },
    )
    .await?;
    progress(&format!(
        "  done in {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    progress(&format!(
        "seeding {} cheap-hashed secrets (5 per application) for the RSS scenario…",
        config.rss_secrets
    ));
    let started = Instant::now();
    let rss_clients = seed::seed(
        &settings,
        SeedPlan {
            tag: "Rss",
            secrets: config.rss_secrets,
            secrets_per_application: 5,
            argon2: CHEAP_ARGON2,
            parallel: parallel * 2,
        },
    )
    .await?;
    progress(&format!(
        "  done in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let resource_server = seed::resource_server(&settings).await?;

    let launch = TesseraLaunch {
        binary: config.tessera_bin.clone(),
        database_url,
        work_dir: work.path().to_owned(),
        extra_env: config.server_env.clone(),
    };
    let mut rows = Vec::new();
    for &alg in &config.algorithms {
        let keys_dir = work.path().join(format!("keys-{alg}"));
        let key_file = seed::activate_new_key(&settings, &keys_dir, alg).await?;
        let seeded = Seeded {
            clients: &clients,
            resource_server: &resource_server,
        };
        rows.extend(per_algorithm(config, &launch, &keys_dir, &key_file, alg, seeded).await?);
    }
    let rss_alg = config
        .algorithms
        .first()
        .copied()
        .unwrap_or(Algorithm::Es256);
    // The last algorithm's key is the active one: activate one for this server.
    let keys_dir = work.path().join("keys-rss");
    seed::activate_new_key(&settings, &keys_dir, rss_alg).await?;
    rows.push(rss(config, &launch, &keys_dir, rss_alg, &clients, &rss_clients).await?);

    Ok(report(config, &machine, &rows))
}

fn progress(message: &str) {
    eprintln!("[tessera-bench] {message}");
}

fn credentials(clients: &[Client]) -> impl Iterator<Item = (&str, &str)> {
    clients
        .iter()
        .map(|c| (c.client_id.as_str(), c.secret.expose()))
}

fn local(server: &ServerProcess) -> Target {
    Target {
        addr: server.addr,
        source: None,
    }
}

async fn metric(server: &ServerProcess, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    let text = server.metrics().await.ok()?;
    metric_sum(&text, name, label)
}

async fn argon2_count(server: &ServerProcess) -> f64 {
    metric(server, "tessera_argon2_verifications_total", None)
        .await
        .unwrap_or(f64::NAN)
}

/// The seeded clients every algorithm's scenarios use.
#[derive(Debug, Clone, Copy)]
struct Seeded<'a> {
    /// Partners, one secret each.
    clients: &'a [Client],
    /// The resource server that introspects their tokens.
    resource_server: &'a Client,
}

/// A token of each of the first `count` requests of `requests`, obtained
/// one by one.
async fn tokens(
    tessera: &ServerProcess,
    requests: &RequestSet,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(count);
    for index in 0..count.min(requests.len()) {
        let (status, body) = load::answer(tessera.addr, requests, index).await?;
        anyhow::ensure!(status == 200, "a token request answered {status}");
        let body: serde_json::Value =
            serde_json::from_str(&body).context("Failed to parse a token answer")?;
        tokens.push(
            body["access_token"]
                .as_str()
                .context("No access_token in a token answer")?
                .to_owned(),
        );
    }
    Ok(tokens)
}

/// Introspection requests for a token of each of the first
/// [`INTROSPECTED_TOKENS`] clients, checked to answer `active: true`, and
/// warmed: the resource server's secret verified and every client read.
async fn introspections(
    tessera: &ServerProcess,
    token_requests: &RequestSet,
    resource_server: &Client,
) -> anyhow::Result<RequestSet> {
    let tokens = tokens(tessera, token_requests, INTROSPECTED_TOKENS).await?;
    let requests = RequestSet::introspections(
        tessera.addr,
        (
            resource_server.client_id.as_str(),
            resource_server.secret.expose(),
        ),
        tokens.iter().map(String::as_str),
    )?;
    let (status, body) = load::answer(tessera.addr, &requests, 0).await?;
    anyhow::ensure!(
        status == 200 && body.contains(r#""active":true"#),
        "introspection of a fresh token answered {status} {body}"
    );
    load::one_pass(local(tessera), &requests, 1).await?;
    Ok(requests)
}

async fn introspection_loads(server: &ServerProcess) -> f64 {
    metric(server, "tessera_introspection_credential_loads_total", None)
        .await
        .unwrap_or(f64::NAN)
}

async fn per_algorithm(
    config: &RunConfig,
    launch: &TesseraLaunch,
    keys_dir: &std::path::Path,
    key_file: &std::path::Path,
    alg: Algorithm,
    seeded: Seeded<'_>,
) -> anyhow::Result<Vec<Row>> {
    let clients = seeded.clients;
    let name = alg.as_str();
    let n = config.connections;
    let (warmup, duration) = (config.warmup, config.duration);
    let one_client = clients.first().context("No client was seeded")?;
    let mut rows = Vec::new();

    // The floor stays up while Tessera is measured: the peaks of both are
    // taken in alternating rounds, and each row is the median round, so a
    // drift in the machine's background load hits both alike.
    progress(&format!("{name}: floor"));
    let floor = ServerProcess::floor(&launch.work_dir, key_file, TTL_SECONDS).await?;
    let floor_requests =
        RequestSet::new(floor.addr, credentials(std::slice::from_ref(one_client)))?;

    // Cold: a fresh Tessera, so nothing is cached; the first request of each secret.
    progress(&format!(
        "{name}: Tessera, cold pass over {} secrets",
        clients.len()
    ));
    let tessera = ServerProcess::tessera(launch, keys_dir, alg, &format!("tessera-{name}")).await?;
    let all = RequestSet::new(tessera.addr, credentials(clients))?;
    let before = argon2_count(&tessera).await;
    let cold = load::one_pass(local(&tessera), &all, n).await?;
    let verified = argon2_count(&tessera).await - before;

    // Cached, one client (warmed by the cold pass; one more request to be
    // sure) and every client round-robin, in rounds with the floor.
    progress(&format!(
        "{name}: floor and Tessera cached, {ROUNDS} alternating rounds"
    ));
    let single = RequestSet::new(tessera.addr, credentials(std::slice::from_ref(one_client)))?;
    load::one_pass(local(&tessera), &single, 1).await?;
    let introspect = introspections(&tessera, &all, seeded.resource_server).await?;
    let loads_before = introspection_loads(&tessera).await;
    let (mut floor_runs, mut one_runs, mut all_runs, mut introspect_runs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        floor_runs
            .push(load::closed_loop(local(&floor), &floor_requests, n, warmup, duration).await?);
        one_runs.push(load::closed_loop(local(&tessera), &single, n, warmup, duration).await?);
        all_runs.push(load::closed_loop(local(&tessera), &all, n, warmup, duration).await?);
        introspect_runs
            .push(load::closed_loop(local(&tessera), &introspect, n, warmup, duration).await?);
    }
    let database_reads = introspection_loads(&tessera).await - loads_before;
    let floor_max = median_run(floor_runs)?;
    let cached_one = median_run(one_runs)?;
    let cached_all = median_run(all_runs)?;
    let introspected = median_run(introspect_runs)?;
    let floor_peak = floor_max.ok_per_second();
    rows.push(
        Row::measured(
            name,
            &format!("floor, max, {n} connections (median of {ROUNDS})"),
            &floor_max,
        )
        .with_ratio(1.0),
    );
    let rate = floor_peak / 2.0;
    let floor_half =
        load::open_loop(local(&floor), &floor_requests, n, rate, warmup, duration).await?;
    rows.push(Row::measured(
        name,
        &format!(
            "floor, open loop at half its peak ({} req/s offered)",
            format_rate(rate)
        ),
        &floor_half,
    ));
    floor.stop().await?;
    rows.push(Row::measured(
        name,
        &format!(
            "cold: first request of {} secrets, {:.1} s in all, {} argon2 verifications",
            clients.len(),
            cold.elapsed.as_secs_f64(),
            format_count(verified),
        ),
        &cold,
    ));

    let ratio = cached_one.ok_per_second() / floor_peak;
    rows.push(
        Row::measured(
            name,
            &format!("cached, 1 client, max (median of {ROUNDS})"),
            &cached_one,
        )
        .with_ratio(ratio)
        .judged(
            "≥ 80% of floor",
            ratio >= CACHED_MIN_RATIO && cached_one.errors() == 0,
        ),
    );

    let peak = cached_all.ok_per_second();
    let ratio = peak / floor_peak;
    rows.push(
        Row::measured(
            name,
            &format!(
                "cached, {} clients round-robin, max (median of {ROUNDS})",
                format_count(clients.len() as f64)
            ),
            &cached_all,
        )
        .with_ratio(ratio)
        .judged(
            "≥ 80% of floor",
            ratio >= CACHED_MIN_RATIO && cached_all.errors() == 0,
        ),
    );

    rows.push(
        Row::measured(
            name,
            &format!(
                "introspection: 1 resource server, tokens of {} clients round-robin, max (median of {ROUNDS}); {} database reads; ratio to the cached row above",
                format_count(introspect.len() as f64),
                format_count(database_reads),
            ),
            &introspected,
        )
        .with_ratio(introspected.ok_per_second() / peak),
    );

    // Half of Tessera's peak, open loop.
    let rate = peak / 2.0;
    let half = load::open_loop(local(&tessera), &all, n, rate, warmup, duration).await?;
    let p99 = half.percentile_ms(0.99);
    rows.push(
        Row::measured(
            name,
            &format!(
                "cached, {} clients, open loop at half the peak ({} req/s offered)",
                format_count(clients.len() as f64),
                format_rate(rate)
            ),
            &half,
        )
        .judged("p99 < 5 ms", p99 < HALF_PEAK_P99_MS && half.errors() == 0),
    );

    // Flood: the cached clients at maximum while one more connection, from
    // another address, sends wrong secrets.
    progress(&format!(
        "{name}: Tessera, cached clients under a flood of wrong secrets"
    ));
    let flood_requests = RequestSet::new(
        tessera.addr,
        wrong_credentials(clients)
            .iter()
            .map(|(id, s)| (id.as_str(), s.expose())),
    )?;
    let flood_target = Target {
        addr: tessera.addr,
        source: Some(FLOOD_SOURCE),
    };
    let before = argon2_count(&tessera).await;
    let (flooded, flood) = tokio::try_join!(
        load::closed_loop(local(&tessera), &all, n, warmup, duration),
        load::closed_loop(flood_target, &flood_requests, 1, warmup, duration),
    )?;
    let verified = argon2_count(&tessera).await - before;
    let ratio = flooded.ok_per_second() / peak;
    let p99 = flooded.percentile_ms(0.99);
    rows.push(
        Row::measured(
            name,
            &format!(
                "flood: cached {} clients, max, while 1 connection floods wrong secrets",
                format_count(clients.len() as f64)
            ),
            &flooded,
        )
        .with_ratio(ratio)
        .judged(
            "≥ 50% of no-flood, p99 < 20 ms",
            ratio >= FLOOD_MIN_RATIO && p99 < FLOOD_P99_MS && flooded.errors() == 0,
        ),
    );
    rows.push(flood_row(name, &flood, verified));
    tessera.stop().await?;
    Ok(rows)
}

/// The run with the median throughput of `runs`.
fn median_run(mut runs: Vec<RunStats>) -> anyhow::Result<RunStats> {
    runs.sort_by(|a, b| a.ok_per_second().total_cmp(&b.ok_per_second()));
    let middle = runs.len() / 2;
    runs.into_iter()
        .nth(middle)
        .context("No run to take the median of")
}

/// The flooding connection's own line: its rate of answers of any status.
fn flood_row(alg: &str, flood: &RunStats, argon2: f64) -> Row {
    Row {
        algorithm: alg.to_owned(),
        scenario: format!(
            "flood: the flooding connection (answers {}; {} argon2 verifications during the flood)",
            flood.status_summary(),
            format_count(argon2)
        ),
        throughput: format_rate(crate::stats::per_second(flood.total(), flood.elapsed)),
        p50: format_ms(flood.percentile_ms(0.50)),
        p99: format_ms(flood.percentile_ms(0.99)),
        errors: flood.errors().to_string(),
        ..Row::default()
    }
}

/// Wrong credentials: half for existing client ids, with a wrong secret
/// sharing the real one's first three characters (the hint, so Tessera must
/// run argon2 to refuse it: the expensive case), half for random client ids.
fn wrong_credentials(clients: &[Client]) -> Vec<(String, PlainSecret)> {
    let mut rng = rand::thread_rng();
    let mut random_secret = |prefix: &str, len: usize| {
        let mut s = prefix.to_owned();
        while s.len() < len {
            let c = rng.gen_range(0..64u8);
            s.push(char::from(match c {
                0..=25 => b'A' + c,
                26..=51 => b'a' + (c - 26),
                52..=61 => b'0' + (c - 52),
                62 => b'-',
                _ => b'_',
            }));
        }
        PlainSecret::presented(s)
    };
    let mut wrong = Vec::with_capacity(clients.len() * 2);
    for client in clients {
        let len = client.secret.expose().len();
        wrong.push((
            client.client_id.clone(),
            random_secret(&client.secret.hint(), len),
        ));
        wrong.push((uuid::Uuid::new_v4().to_string(), random_secret("", len)));
    }
    wrong
}

async fn rss(
    config: &RunConfig,
    launch: &TesseraLaunch,
    keys_dir: &std::path::Path,
    alg: Algorithm,
    clients: &[Client],
    rss_clients: &[Client],
) -> anyhow::Result<Row> {
    progress(&format!(
        "RSS: a fresh Tessera, then {} distinct secrets once each",
        rss_clients.len()
    ));
    let tessera = ServerProcess::tessera(launch, keys_dir, alg, "tessera-rss").await?;
    // One request first, so the baseline includes a runtime that has served.
    let one = RequestSet::new(tessera.addr, credentials(&clients[..1.min(clients.len())]))?;
    load::one_pass(local(&tessera), &one, 1).await?;
    let before = tessera.rss_bytes()?;
    let requests = RequestSet::new(tessera.addr, credentials(rss_clients))?;
    let warm = load::one_pass(local(&tessera), &requests, config.connections).await?;
    let after = tessera.rss_bytes()?;
    let entries = metric(&tessera, "tessera_secret_cache_entries", None).await;
    tessera.stop().await?;

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let per_entry = after.saturating_sub(before) as f64 / rss_clients.len().max(1) as f64;
    let gauge = entries.map_or("absent".to_owned(), format_count);
    let mut row = Row::measured(
        &format!("{alg} (any)"),
        &format!(
            "RSS after {} distinct secrets (cheap argon2, m=8 KiB t=1): {:.1} MiB, {:.1} MiB before, {:.0} bytes/entry, tessera_secret_cache_entries {}",
            format_count(rss_clients.len() as f64),
            mib(after),
            mib(before),
            per_entry,
            gauge,
        ),
        &warm,
    );
    row = row.judged("< 100 MiB RSS", mib(after) < RSS_LIMIT_MIB);
    Ok(row)
}

/// `100000` → `100,000`; NaN (metric absent) → `?`.
fn format_count(n: f64) -> String {
    if n.is_finite() && n >= 0.0 {
        group_thousands(n.round() as u64)
    } else {
        "?".to_owned()
    }
}

fn report(config: &RunConfig, machine: &str, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {machine}\n");
    let _ = writeln!(out, "Command: `{}`\n", config.command);
    let _ = writeln!(
        out,
        "Load: {} keep-alive HTTP/1.1 connections, client_secret_basic, {} s measured after {} s warm-up per timed scenario.\n",
        config.connections,
        config.duration.as_secs_f64(),
        config.warmup.as_secs_f64(),
    );
    out.push_str(&markdown_table(rows));
    out.push_str(
        "\nreq/s counts 200 answers only; errors are every other answer or failed exchange. \
         Ratios: cached rows to the floor of the same algorithm, the introspection row to \
         the cached row of every client (token requests, measured in the same rounds), the \
         flood row to the cached no-flood row. The RSS scenario's secrets are hashed with deliberately cheap argon2id \
         parameters (hashing 100,000 at the default cost would take an hour); the server \
         verifies with the parameters stored in each hash, and a cache entry's size does not \
         depend on them, nor on the algorithm.\n",
    );
    out
}
