//! Servers under test, each a child process: the real `tessera serve`
//! (release build) and the floor (`tessera-bench floor`). Separate
//! processes with tokio's default multi-threaded runtime, so both run under
//! the same conditions and neither shares a core budget with the load
//! generator's runtime.

use anyhow::Context as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tessera_token::keys::Algorithm;
use tokio::process::{Child, Command};

use crate::load;

/// The issuer both servers put in `iss`, so their tokens are the same size.
pub const ISSUER: &str = "https://auth.registry.example";

/// How long a server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server process, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// The main listener.
    pub addr: SocketAddr,
    /// The operations listener (Tessera only).
    pub ops: Option<SocketAddr>,
    log: PathBuf,
}

/// How to start Tessera.
#[derive(Debug, Clone)]
pub struct TesseraLaunch {
    /// The release `tessera` binary.
    pub binary: PathBuf,
    /// The benchmark database.
    pub database_url: String,
    /// Where its logs go.
    pub work_dir: PathBuf,
    /// Extra `TESSERA_*` variables (tuning keys); the one place they are set.
    pub extra_env: Vec<(String, String)>,
}

/// A free loopback port. Another process could take it before the server
/// binds it; on a quiet benchmark machine that does not happen.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("Failed to find a free port")?;
    listener
        .local_addr()
        .context("Failed to read the free port")
}

fn log_file(path: &Path) -> anyhow::Result<(Stdio, Stdio)> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("Failed to create {}", path.display()))?;
    let clone = file.try_clone().context("Failed to share the log file")?;
    Ok((Stdio::from(file), Stdio::from(clone)))
}

/// A command whose environment holds no `TESSERA_*` or `RUST_LOG` from the
/// caller's shell: only what the harness sets.
fn clean_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("TESSERA_") || name == "RUST_LOG" {
            command.env_remove(&key);
        }
    }
    command.kill_on_drop(true).stdin(Stdio::null());
    command
}

impl ServerProcess {
    /// Starts `tessera serve` signing with `alg` keys from `keys_dir`, and
    /// waits for `/healthz`.
    pub async fn tessera(
        launch: &TesseraLaunch,
        keys_dir: &Path,
        alg: Algorithm,
        name: &str,
    ) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let ops = free_port()?;
        let log = launch.work_dir.join(format!("{name}.log"));
        let (stdout, stderr) = log_file(&log)?;
        let mut command = clean_command(&launch.binary);
        command
            .arg("serve")
            .env("TESSERA_LISTEN", addr.to_string())
            .env("TESSERA_OPS_LISTEN", ops.to_string())
            .env("TESSERA_ISSUER", ISSUER)
            .env("TESSERA_DATABASE_URL", &launch.database_url)
            .env("TESSERA_KEYS_DIR", keys_dir)
            .env("TESSERA_TOKEN__ALGORITHM", alg.as_str())
            .env("TESSERA_LOG__LEVEL", "warn")
            .envs(launch.extra_env.iter().map(|(k, v)| (k, v)))
            .stdout(stdout)
            .stderr(stderr);
        let child = command
            .spawn()
            .with_context(|| format!("Failed to start {}", launch.binary.display()))?;
        let mut server = Self {
            child,
            addr,
            ops: Some(ops),
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// Starts the floor (`tessera-bench floor`) with the key in `key_file`.
    pub async fn floor(work_dir: &Path, key_file: &Path, ttl_seconds: u32) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let log = work_dir.join("floor.log");
        let (stdout, stderr) = log_file(&log)?;
        let exe = std::env::current_exe().context("Failed to locate tessera-bench")?;
        let child = clean_command(&exe)
            .arg("floor")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--key-file")
            .arg(key_file)
            .arg("--issuer")
            .arg(ISSUER)
            .arg("--ttl-seconds")
            .arg(ttl_seconds.to_string())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .context("Failed to start the floor")?;
        let mut server = Self {
            child,
            addr,
            ops: None,
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().context("Failed to poll the server")? {
                anyhow::bail!(
                    "the server exited ({status}) before it was ready; its log:\n{}",
                    self.log_tail()
                );
            }
            let ready = match self.ops {
                Some(ops) => matches!(load::get(ops, "/healthz").await, Ok((200, _))),
                None => tokio::net::TcpStream::connect(self.addr).await.is_ok(),
            };
            if ready {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                anyhow::bail!(
                    "the server was not ready within {READY_TIMEOUT:?}; its log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Resident set size, from `/proc/<pid>/status`.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("The server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .context("Failed to read the server's /proc status")?;
        parse_vm_rss(&status).context("No VmRSS line in /proc status")
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let ops = self.ops.context("This server has no operations listener")?;
        let (status, body) = load::get(ops, "/metrics").await?;
        anyhow::ensure!(status == 200, "/metrics answered {status}");
        Ok(body)
    }

    /// Kills the server and waits for it to go.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("Failed to stop the server")
    }
}

/// `VmRSS:   12345 kB` → bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `MemTotal:  24000000 kB` → bytes.
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The sum of the samples of `name` in Prometheus text whose labels include
/// `label="value"` (every sample when `label` is `None`). `None` when the
/// metric is absent.
pub fn metric_sum(text: &str, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        if let Some((key, expected)) = label {
            let wanted = format!("{key}=\"{expected}\"");
            if !labels.split(',').any(|l| l.trim() == wanted) {
                continue;
            }
        }
        if let Ok(v) = value.trim().parse::<f64>() {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "\
# HELP tessera_argon2_verifications_total argon2id verifications.
# TYPE tessera_argon2_verifications_total counter
tessera_argon2_verifications_total{result=\"match\"} 1000
tessera_argon2_verifications_total{result=\"mismatch\"} 3
tessera_secret_cache_entries 99999
tessera_token_requests_total{outcome=\"issued\"} 12
";

    #[test]
    fn metrics_are_summed_by_name_and_label() {
        assert_eq!(
            metric_sum(METRICS, "tessera_argon2_verifications_total", None),
            Some(1003.0)
        );
        assert_eq!(
            metric_sum(
                METRICS,
                "tessera_argon2_verifications_total",
                Some(("result", "match"))
            ),
            Some(1000.0)
        );
        assert_eq!(
            metric_sum(METRICS, "tessera_secret_cache_entries", None),
            Some(99999.0)
        );
        assert_eq!(
            metric_sum(METRICS, "tessera_secret_cache_lookups_total", None),
            None
        );
    }

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\ttessera\nVmPeak:\t  99 kB\nVmRSS:\t   12345 kB\n";
        assert_eq!(parse_vm_rss(status), Some(12345 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }
}
