//! The command line's shape. clap owns only the arguments; configuration
//! comes from `Settings` (defaults, `--config`, `TESSERA_*`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Tessera: OAuth2 client-credentials token service.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    /// A TOML file overriding config/default.toml (TESSERA_* variables override both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrating the database and making a first key if needed).
    Serve {
        /// On an empty database, create a demo organisation, application,
        /// credential manager and secret, and print a curl line that gets a token.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Applications (OAuth clients).
    #[command(subcommand)]
    App(AppCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Client secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Send the expiry reminders that are due (for running from cron; `serve`
    /// also sends them unless `[reminders] enabled = false`).
    Remind {
        /// Run one pass and exit.
        #[arg(long, required = true)]
        once: bool,
    },
    /// Print the management API's OpenAPI 3.1 document (as served at
    /// /api/v1/openapi.json).
    Openapi,
}

/// `tessera keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a signing key into the key directory.
    Generate {
        /// ES256, RS256 or EdDSA (default: the `token.algorithm` setting).
        #[arg(long)]
        alg: Option<String>,
        /// Make it the active key: running servers sign with it within
        /// the `keys.reload_interval_seconds` setting.
        #[arg(long)]
        activate: bool,
    },
    /// List the keys and which one is active.
    List,
    /// Make a key of the key directory the active one.
    Activate {
        /// The key id.
        kid: String,
    },
}

/// `tessera org …`
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        /// Letters and digits, such as OrganisationName.
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2 code, such as NL.
        #[arg(long)]
        country: String,
    },
}

/// `tessera app …`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an application; its name is derived and its client_id generated.
    Create(AppCreate),
    /// Delete an application with its secrets: its tokens stop being issued
    /// at once; returns once every running server confirmed, or names those
    /// that did not in time.
    Delete {
        /// The application's client_id.
        client_id: String,
    },
}

/// Arguments of `tessera app create`.
#[derive(Debug, Args)]
pub struct AppCreate {
    /// The organisation's id.
    #[arg(long = "org")]
    pub org: String,
    /// 2 to 5 capital letters, such as SMC.
    #[arg(long)]
    pub api: String,
    /// partner, partner-alternative or resource-server (introspects tokens,
    /// obtains none, holds no permissions).
    #[arg(long, default_value = "partner")]
    pub kind: String,
    /// A resource id the application may be granted; repeat for several.
    #[arg(long = "permission", value_name = "RESOURCE_ID")]
    pub permissions: Vec<String>,
}

/// `tessera user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints the initial password and TOTP URI this once.
    Create {
        /// Sign-in address.
        #[arg(long)]
        email: String,
        /// admin or credential-manager.
        #[arg(long)]
        role: String,
        /// The organisation's id (required for a credential manager).
        #[arg(long = "org")]
        org: Option<String>,
    },
}

/// `tessera secret …`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a client secret; prints its value this once.
    Create {
        /// The application's client_id.
        #[arg(long)]
        client_id: String,
        /// What to call it, such as "Secret by VM".
        #[arg(long)]
        name: String,
        /// RFC 3339 instant, at most one year ahead (default: one year).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List an application's secrets (never their values).
    List {
        /// The application's client_id.
        #[arg(long)]
        client_id: String,
    },
    /// Delete a secret: token requests with it are refused at once; returns
    /// once every running server confirmed, or names those that did not in
    /// time, each with the latest instant it stops accepting the secret.
    Delete {
        /// The application's client_id.
        #[arg(long)]
        client_id: String,
        /// The secret's id.
        secret_id: String,
    },
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
