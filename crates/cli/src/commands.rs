//! Carrying out each command. Results go to stdout (JSON with `--json`),
//! logs and errors to stderr.

use anyhow::{Context as _, bail};
use secrecy::ExposeSecret as _;
use serde_json::json;
use std::sync::Arc;
use tessera_admin::{Acting, Admin};
use tessera_core::application::ApplicationKind;
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::replica::Confirmation;
use tessera_core::store::Store;
use tessera_core::token::rfc3339;
use tessera_core::user::Role;
use tessera_core::{Clock, SystemClock};
use tessera_server::startup::{open_admin, open_store};
use tessera_server::{Application, Settings, telemetry};
use tessera_token::keys::{Algorithm, KeyDirectory, active_record, register_all};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{AppCommand, Cli, Command, KeysCommand, OrgCommand, SecretCommand, UserCommand};
use crate::demo;

/// Prints `value` as JSON, or the human-readable lines.
fn print(json: bool, value: serde_json::Value, human: String) {
    if json {
        println!("{value}");
    } else {
        println!("{human}");
    }
}

/// How far a deletion had reached the running servers when it returned:
/// JSON fields to add to the answer, and the human lines.
fn confirmation(c: &Confirmation) -> (serde_json::Value, String) {
    let unconfirmed: Vec<_> = c
        .unconfirmed
        .iter()
        .map(|u| {
            json!({
                "replica": u.id,
                "address": u.address,
                "stops_by": rfc3339(u.stops_by),
                "heartbeat_lapsed": u.heartbeat_lapsed,
            })
        })
        .collect();
    let value = json!({
        "confirmed": c.is_complete(),
        "replicas_confirmed": c.confirmed,
        "unconfirmed": unconfirmed,
        "replicas_unknown": c.unknown,
    });
    let human = if c.unknown && c.unconfirmed.is_empty() {
        "could not read the running servers: each stops at the end of its trust window at the latest"
            .to_owned()
    } else if c.is_complete() {
        format!("confirmed by every running server ({})", c.confirmed)
    } else {
        let mut lines = vec![format!(
            "confirmed by {} running server(s); not confirmed in time:",
            c.confirmed
        )];
        for u in &c.unconfirmed {
            lines.push(format!(
                "  {} {}{}: stops by {} at the latest",
                u.address,
                u.id,
                if u.heartbeat_lapsed {
                    " (not responding)"
                } else {
                    ""
                },
                rfc3339(u.stops_by)
            ));
        }
        lines.join("\n")
    };
    (value, human)
}

/// Prints a deletion of `id` with its confirmation.
fn print_deletion(json: bool, id: impl std::fmt::Display, c: &Confirmation) {
    let (mut value, human) = confirmation(c);
    value["deleted"] = id.to_string().into();
    print(json, value, format!("deleted {id}\n{human}"));
}

fn parse_id<T: std::str::FromStr>(what: &str, s: &str) -> anyhow::Result<T> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("{what} must be a UUID, got `{s}`"))
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let (settings, ignored) = Settings::load_reporting(cli.config.as_deref())
        .context("Failed to load the configuration")?;
    for name in ignored {
        // Before logging starts: to stderr, never the value.
        eprintln!("warning: ignoring {name}: it names no setting");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let json = cli.json;
    match cli.command {
        Command::Serve { demo } => serve(settings, clock, demo).await,
        Command::Migrate => {
            telemetry::init(&settings.log);
            let store = open_store(&settings).await?;
            store.close().await;
            print(
                json,
                json!({"migrated": true}),
                "database is up to date".into(),
            );
            Ok(())
        }
        Command::Remind { once: _ } => {
            telemetry::init(&settings.log);
            let (store, admin) = open_admin(&settings, clock).await?;
            let issuer = settings.issuer_for(settings.listen);
            let metrics = tessera_server::metrics::Metrics::new()?;
            let reminders = tessera_server::startup::reminders(&settings, admin, &issuer, metrics)?;
            let report = reminders.run_once().await;
            store.close().await;
            let report = report.context("Failed to run the reminder pass")?;
            print(
                json,
                json!({"sent": report.sent, "failed": report.failed, "no_recipients": report.no_recipients}),
                format!(
                    "sent {}, failed {}, due with no recipient {}",
                    report.sent, report.failed, report.no_recipients
                ),
            );
            if report.failed > 0 {
                bail!("{} reminders could not be sent", report.failed);
            }
            Ok(())
        }
        Command::Keys(command) => keys(settings, clock, command, json).await,
        Command::Openapi => {
            let document = tessera_server::management::openapi()
                .to_pretty_json()
                .context("Failed to serialise the OpenAPI document")?;
            println!("{document}");
            Ok(())
        }
        Command::Org(OrgCommand::Create { name, country }) => {
            let (store, admin) = open_admin(&settings, clock).await?;
            let org = admin
                .create_organisation(&Acting::cli(), &name, &country)
                .await;
            store.close().await;
            let org = org?;
            print(
                json,
                json!({"id": org.id, "name": org.name, "country": org.country, "created_at": rfc3339(org.created_at)}),
                format!(
                    "id: {}\nname: {}\ncountry: {}",
                    org.id,
                    org.name.as_ref(),
                    org.country.as_str()
                ),
            );
            Ok(())
        }
        Command::App(AppCommand::Delete { client_id }) => {
            let client_id: ClientId = parse_id("CLIENT_ID", &client_id)?;
            let (store, admin) = open_admin(&settings, clock).await?;
            let deleted = admin.delete_application(&Acting::cli(), client_id).await;
            store.close().await;
            print_deletion(json, client_id, &deleted?);
            Ok(())
        }
        Command::App(AppCommand::Create(args)) => {
            let org: OrganisationId = parse_id("--org", &args.org)?;
            let kind = ApplicationKind::parse(&args.kind)?;
            let (store, admin) = open_admin(&settings, clock).await?;
            let app = admin
                .create_application(&Acting::cli(), org, &args.api, kind, &args.permissions)
                .await;
            store.close().await;
            let app = app?;
            print(
                json,
                json!({
                    "client_id": app.client_id,
                    "name": app.name,
                    "organisation_id": app.organisation_id,
                    "kind": app.kind,
                    "api": app.api,
                    "permissions": app.permissions,
                }),
                format!(
                    "client_id: {}\nname: {}\npermissions: {}",
                    app.client_id,
                    app.name.as_ref(),
                    app.permissions
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            );
            Ok(())
        }
        Command::User(UserCommand::Create { email, role, org }) => {
            let role = Role::parse(&role)?;
            let org = org
                .map(|o| parse_id::<OrganisationId>("--org", &o))
                .transpose()?;
            let (store, admin) = open_admin(&settings, clock).await?;
            let created = admin.create_user(&Acting::cli(), &email, role, org).await;
            store.close().await;
            let created = created?;
            let user = &created.user;
            print(
                json,
                json!({
                    "id": user.id,
                    "email": user.email,
                    "role": user.role,
                    "organisation_id": user.organisation_id,
                    "password": created.password.expose_secret(),
                    "totp_uri": created.totp_uri.expose_secret(),
                }),
                format!(
                    "id: {}\nemail: {}\nrole: {}\npassword: {}\ntotp_uri: {}\n\nThe password and TOTP URI are shown this once.",
                    user.id,
                    user.email.as_ref(),
                    user.role.as_str(),
                    created.password.expose_secret(),
                    created.totp_uri.expose_secret()
                ),
            );
            Ok(())
        }
        Command::Secret(command) => secret(settings, clock, command, json).await,
    }
}

async fn serve(settings: Settings, clock: Arc<dyn Clock>, demo: bool) -> anyhow::Result<()> {
    telemetry::init(&settings.log);
    let outbox = settings.email.outbox_dir.clone();
    let app = Application::build(settings, clock).await?;
    if demo {
        demo::prepare(&app, &outbox).await?;
    }
    app.run_until_stopped(shutdown_signal()).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn keys(
    settings: Settings,
    clock: Arc<dyn Clock>,
    command: KeysCommand,
    json: bool,
) -> anyhow::Result<()> {
    let (store, admin) = open_admin(&settings, clock.clone()).await?;
    let dir = KeyDirectory::new(&settings.keys_dir);
    let result = keys_with(
        &store,
        &admin,
        &dir,
        &settings,
        clock.as_ref(),
        command,
        json,
    )
    .await;
    store.close().await;
    result
}

async fn keys_with(
    store: &dyn Store,
    admin: &Admin,
    dir: &KeyDirectory,
    settings: &Settings,
    clock: &dyn Clock,
    command: KeysCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate { alg, activate } => {
            let alg = match alg {
                Some(a) => a.parse::<Algorithm>()?,
                None => settings.token.algorithm,
            };
            let key = dir.generate(alg)?;
            register_all(store, &dir.load_all()?, clock).await?;
            if activate {
                admin.activate_signing_key(&Acting::cli(), &key.kid).await?;
            }
            print(
                json,
                json!({"kid": key.kid, "alg": key.alg, "active": activate}),
                format!(
                    "kid: {}\nalg: {}\nactive: {activate}\nfile: {}",
                    key.kid,
                    key.alg,
                    dir.path().join(format!("{}.pem", key.kid)).display()
                ),
            );
        }
        KeysCommand::List => {
            let in_dir = dir.load_all()?;
            let records = register_all(store, &in_dir, clock).await?;
            let active = active_record(&records).map(|r| r.kid.clone());
            let rows: Vec<serde_json::Value> = records
                .iter()
                .map(|r| {
                    json!({
                        "kid": r.kid,
                        "alg": r.alg,
                        "active": Some(&r.kid) == active.as_ref(),
                        "created_at": rfc3339(r.created_at),
                        "activated_at": r.activated_at.map(rfc3339),
                        "in_key_directory": in_dir.contains_key(&r.kid),
                    })
                })
                .collect();
            let human = records
                .iter()
                .map(|r| {
                    let mark = if Some(&r.kid) == active.as_ref() {
                        "active"
                    } else {
                        ""
                    };
                    format!("{}  {:6}  {mark}", r.kid, r.alg)
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json, serde_json::Value::Array(rows), human);
        }
        KeysCommand::Activate { kid } => {
            let in_dir = dir.load_all()?;
            if !in_dir.contains_key(&kid) {
                bail!("no key {kid} in {}", dir.path().display());
            }
            register_all(store, &in_dir, clock).await?;
            admin.activate_signing_key(&Acting::cli(), &kid).await?;
            print(
                json,
                json!({"kid": kid, "active": true}),
                format!(
                    "{kid} is now the active key; running servers pick it up within {} s",
                    settings.keys.reload_interval_seconds
                ),
            );
        }
    }
    Ok(())
}

fn secret_row(
    record: &tessera_core::secret::SecretRecord,
    now: OffsetDateTime,
) -> serde_json::Value {
    json!({
        "id": record.id,
        "name": record.name,
        "hint": record.hint,
        "created_at": rfc3339(record.created_at),
        "created_by": record.created_by.label(),
        "expires_at": rfc3339(record.expires_at),
        "status": record.status(now),
        "last_used_at": record.last_used_at.map(rfc3339),
    })
}

async fn secret(
    settings: Settings,
    clock: Arc<dyn Clock>,
    command: SecretCommand,
    json: bool,
) -> anyhow::Result<()> {
    let (store, admin) = open_admin(&settings, clock.clone()).await?;
    let result = secret_with(&admin, clock.as_ref(), command, json).await;
    store.close().await;
    result
}

async fn secret_with(
    admin: &Admin,
    clock: &dyn Clock,
    command: SecretCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        SecretCommand::Create {
            client_id,
            name,
            expires_at,
        } => {
            let client_id: ClientId = parse_id("--client-id", &client_id)?;
            let expires_at = expires_at
                .map(|s| {
                    OffsetDateTime::parse(&s, &Rfc3339).map_err(|_| {
                        anyhow::anyhow!(
                            "--expires-at must be an RFC 3339 instant such as 2027-01-31T12:00:00Z"
                        )
                    })
                })
                .transpose()?;
            let created = admin
                .create_secret(&Acting::cli(), client_id, &name, expires_at)
                .await?;
            let mut row = secret_row(&created.record, clock.now());
            row["secret"] = created.secret.expose().into();
            let advice = "a lifetime of one year is recommended";
            if created.short_lifetime {
                row["advice"] = advice.into();
            }
            let human = format!(
                "id: {}\nsecret: {}\nhint: {}\nexpires_at: {}{}\n\nThe secret is shown this once; only its hash is stored.",
                created.record.id,
                created.secret.expose(),
                created.record.hint,
                rfc3339(created.record.expires_at),
                if created.short_lifetime {
                    format!("\nnote: {advice}")
                } else {
                    String::new()
                }
            );
            print(json, row, human);
        }
        SecretCommand::List { client_id } => {
            let client_id: ClientId = parse_id("--client-id", &client_id)?;
            let now = clock.now();
            let records = admin.secrets(&Acting::cli(), client_id).await?;
            let human = records
                .iter()
                .map(|r| {
                    format!(
                        "{}  {}…  {:13}  expires {}  last used {}  {}",
                        r.id,
                        r.hint,
                        r.status(now).as_str(),
                        rfc3339(r.expires_at),
                        r.last_used_at
                            .map(rfc3339)
                            .unwrap_or_else(|| "never".into()),
                        r.name.as_ref()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(
                json,
                records.iter().map(|r| secret_row(r, now)).collect(),
                human,
            );
        }
        SecretCommand::Delete {
            client_id,
            secret_id,
        } => {
            let client_id: ClientId = parse_id("--client-id", &client_id)?;
            let secret_id: SecretId = parse_id("SECRET_ID", &secret_id)?;
            let confirmation = admin
                .delete_secret(&Acting::cli(), client_id, secret_id)
                .await?;
            print_deletion(json, secret_id, &confirmation);
        }
    }
    Ok(())
}
