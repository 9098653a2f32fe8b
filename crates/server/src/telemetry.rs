//! Logging with `tracing`: pretty or JSON lines, a filter from config (or
//! `RUST_LOG`), and a request id on every line of a request's span.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// sqlx reports every dropped pool connection at `info`: during a
/// database outage that is a line per connection per retry, while Tessera
/// logs the outage itself once. Its warnings stay, unless the configured
/// filter names sqlx.
const QUIET_SQLX: &str = "sqlx=warn";

/// Installs the global subscriber; a second call does nothing.
pub fn init(settings: &LogSettings) {
    let directives = if settings.level.contains("sqlx") {
        settings.level.clone()
    } else {
        format!("{},{QUIET_SQLX}", settings.level)
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&directives))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
