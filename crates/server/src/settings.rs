//! Configuration: one typed [`Settings`], read in layers.
//!
//! 1. `config/default.toml` (compiled in, so the binary runs from anywhere),
//! 2. the file given by `--config`,
//! 3. `TESSERA_*` environment variables, `__` separating nested keys
//!    (`TESSERA_TOKEN__TTL_SECONDS=600`).
//!
//! Unknown keys are refused, so a typo is an error rather than a default.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tessera_core::password::Argon2Config;
use tessera_core::resource::Resource;

use tessera_token::settings::{
    CacheSettings, KeySettings, TokenSettings, UsageSettings, VerificationSettings,
};

/// The committed defaults, every key documented there.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Everything Tessera can be configured with. See `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address of the main listener (token endpoint, discovery, API).
    pub listen: SocketAddr,
    /// Address of the operations listener (metrics, health).
    pub ops_listen: SocketAddr,
    /// The issuer URL; empty means `http://` + the main listener's address.
    pub issuer: String,
    /// `sqlite:…` or `postgres://…`; may hold a password, so it is redacted.
    pub database_url: SecretString,
    /// Folder of the signing keys' PEM files.
    pub keys_dir: PathBuf,
    /// Access tokens.
    pub token: TokenSettings,
    /// argon2id cost of hashing secrets and passwords.
    pub argon2: Argon2Config,
    /// Signing key handling.
    pub keys: KeySettings,
    /// Database pool.
    pub database: DatabaseSettings,
    /// Logging.
    pub log: LogSettings,
    /// The verified-secret cache.
    pub cache: CacheSettings,
    /// Cold verification of client secrets.
    pub verification: VerificationSettings,
    /// Write-behind of `last_used_at`.
    pub usage: UsageSettings,
    /// Expiry reminders.
    pub reminders: ReminderSettings,
    /// Outgoing email.
    pub email: EmailSettings,
    /// The resource catalog.
    pub resources: Vec<Resource>,
    /// Management API sessions.
    pub sessions: SessionSettings,
    /// Sign-in lockout.
    pub login: LoginSettings,
    /// Connection limits of both listeners.
    pub http: crate::serve::HttpSettings,
    /// Replicas: heartbeats and how long a change's answer waits for them.
    pub replicas: ReplicaSettings,
}

/// `[replicas]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaSettings {
    /// Longest wait for every live replica to confirm a change, in
    /// milliseconds.
    pub confirm_wait_milliseconds: u64,
    /// Longest time between two heartbeats of a replica, in milliseconds.
    pub heartbeat_milliseconds: u64,
    /// A replica whose heartbeat is older is not waited for, in
    /// milliseconds.
    pub lapse_milliseconds: u64,
}

/// `[sessions]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// A session unused this long ends, in seconds.
    pub idle_timeout_seconds: u32,
    /// A session ends this long after sign-in however busy, in seconds.
    pub absolute_timeout_seconds: u32,
}

/// `[login]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// Consecutive failed sign-ins that lock an account.
    pub max_failed_attempts: u32,
    /// How long a locked account stays locked, in seconds.
    pub lockout_seconds: u32,
    /// argon2 password checks (sign-ins, password changes) running at once.
    pub max_concurrent_checks: usize,
    /// Password checks waiting for a running place; beyond that 429.
    pub max_queued_checks: usize,
    /// Failed sign-ins from one client address per window; 0 disables.
    pub max_failures_per_address: u32,
    /// The window of `max_failures_per_address`, in seconds.
    pub failure_window_seconds: u64,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long a request waits for a connection, in seconds.
    pub acquire_timeout_seconds: u64,
    /// PostgreSQL: longest a statement may run, in seconds.
    pub statement_timeout_seconds: u64,
}

/// `[reminders]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Whether `serve` runs the reminder scheduler.
    pub enabled: bool,
    /// How often the scheduler looks for due reminders, in seconds.
    pub interval_seconds: u64,
    /// Also send reminders to admins, not only credential managers.
    pub include_admins: bool,
    /// Link to the management page in messages; empty means the issuer.
    pub management_url: String,
    /// Tries per run before a reminder is recorded as failed.
    pub max_attempts: u32,
    /// Wait before the second try, doubled for each further one, in
    /// milliseconds.
    pub retry_backoff_milliseconds: u64,
    /// How long a claimed reminder is reserved for its server, in seconds;
    /// a server that dies while sending loses it to another after this.
    pub claim_seconds: u64,
}

/// `[email]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `outbox` (write `.eml` files) or `smtp`.
    pub transport: EmailTransport,
    /// Folder of the `.eml` files of the `outbox` transport.
    pub outbox_dir: PathBuf,
    /// The `From` of every message, such as `Tessera <no-reply@example.org>`.
    pub from: String,
    /// The SMTP server, for the `smtp` transport.
    pub smtp: SmtpSettings,
}

/// How email leaves Tessera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    /// `.eml` files in a folder: nothing to set up.
    Outbox,
    /// An SMTP server.
    Smtp,
}

/// `[email.smtp]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `starttls`, `tls` (implicit, usually port 465) or `none`.
    pub security: SmtpSecurity,
    /// User name; empty for none.
    pub username: String,
    /// Password.
    pub password: SecretString,
    /// Give up on a connection or command after this many seconds.
    pub timeout_seconds: u64,
}

/// Transport security of the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption: only for a relay on the same host or in tests.
    None,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter, such as `info` or `tessera_server=debug,info`.
    pub level: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object a line.
    Json,
}

impl Settings {
    /// Reads the defaults, then `config_file` if given, then `TESSERA_*`
    /// variables. Fails on unknown keys in the file, bad values, or a
    /// missing file; see [`Settings::load_reporting`] for the variables
    /// that name no setting.
    pub fn load(config_file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        Self::load_reporting(config_file).map(|(settings, _)| settings)
    }

    /// [`Settings::load`], also answering the names of the `TESSERA_*`
    /// variables that name no setting and were ignored (container
    /// platforms inject such variables, `TESSERA_PORT` for a service named
    /// `tessera`): the caller warns about them. A variable that names a
    /// setting with a bad value is still an error.
    pub fn load_reporting(
        config_file: Option<&Path>,
    ) -> Result<(Self, Vec<String>), Box<figment::Error>> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = config_file {
            if !path.is_file() {
                return Err(Box::new(figment::Error::from(format!(
                    "config file {} not found",
                    path.display()
                ))));
            }
            figment = figment.merge(Toml::file(path));
        }
        // Every setting has its key in the defaults (a key absent there
        // is refused in a file), so a variable whose key is not there names
        // no setting. Variables of the test harness share the prefix.
        let defaults = Figment::from(Toml::string(DEFAULT_TOML));
        // Keys are compared as paths (`token.ttl_seconds`), whatever the
        // variable's case and whether `__` is split yet.
        let names_a_setting = move |key: &figment::value::UncasedStr| {
            let path = key.as_str().to_ascii_lowercase().replace("__", ".");
            defaults.find_value(&path).is_ok()
        };
        let env = Env::prefixed("TESSERA_")
            .split("__")
            .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"));
        let ignored = env
            .iter()
            .filter(|(key, _)| !names_a_setting(key))
            .map(|(key, _)| {
                format!(
                    "TESSERA_{}",
                    key.as_str().replace('.', "__").to_ascii_uppercase()
                )
            })
            .collect();
        let settings = figment
            .merge(env.filter(names_a_setting))
            .extract()
            .map_err(Box::new)?;
        Ok((settings, ignored))
    }

    /// The issuer URL, without a trailing slash.
    pub fn issuer_for(&self, bound: SocketAddr) -> String {
        if self.issuer.trim().is_empty() {
            format!("http://{bound}")
        } else {
            self.issuer.trim().trim_end_matches('/').to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_token::keys::Algorithm;

    #[test]
    fn defaults_parse_and_hold_the_six_resources() {
        let settings: Settings = Figment::from(Toml::string(DEFAULT_TOML)).extract().unwrap();
        assert_eq!(settings.resources.len(), 6);
        assert_eq!(settings.token.ttl_seconds, 900);
        assert_eq!(settings.token.algorithm, Algorithm::Es256);
        assert_eq!(settings.argon2, Argon2Config::default());
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.ops_listen.to_string(), "127.0.0.1:9090");
    }

    #[test]
    fn empty_issuer_follows_the_bound_address() {
        let mut settings: Settings = Figment::from(Toml::string(DEFAULT_TOML)).extract().unwrap();
        settings.issuer = String::new();
        assert_eq!(
            settings.issuer_for("127.0.0.1:4000".parse().unwrap()),
            "http://127.0.0.1:4000"
        );
        settings.issuer = "https://auth.example/".into();
        assert_eq!(
            settings.issuer_for("127.0.0.1:4000".parse().unwrap()),
            "https://auth.example"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let figment =
            Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string("lisen = \"x\""));
        assert!(figment.extract::<Settings>().is_err());
    }
}
