//! `serve --demo`: on an empty database, a sandbox organisation with a
//! partner-alternative application, a credential manager, a secret and an
//! older one about to expire (whose reminder lands in the outbox), a curl
//! line that gets a token, and how to sign in to the web page.

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use std::sync::Arc;
use tessera_admin::Acting;
use tessera_core::ManualClock;
use tessera_core::application::ApplicationKind;
use tessera_core::token::rfc3339;
use tessera_core::user::Role;
use tessera_server::Application;

/// Creates the demo records if the database is empty and prints them;
/// reminders are written to `outbox`.
pub async fn prepare(app: &Application, outbox: &std::path::Path) -> anyhow::Result<()> {
    let admin = app.admin();
    // The demo is run from the host's command line: its records and audit
    // events are the command line's.
    let cli = Acting::cli();
    if !admin.organisations(&cli).await?.is_empty() {
        println!(
            "\nThe database already holds data, so no demo data was created (secrets are never shown twice).\n\
             Create a new secret with: tessera secret create --client-id CLIENT_ID --name \"Demo secret\"\n\
             or start afresh by removing data/ and keys/.\n"
        );
        return Ok(());
    }
    let org = admin
        .create_organisation(&cli, "DemoOrganisation", "NL")
        .await
        .context("Failed to create the demo organisation")?;
    let application = admin
        .create_application(
            &cli,
            org.id,
            "MC",
            ApplicationKind::PartnerAlternative,
            &["match-connect-sandbox"],
        )
        .await
        .context("Failed to create the demo application")?;
    let manager = admin
        .create_user(
            &cli,
            "manager@demo.example",
            Role::CredentialManager,
            Some(org.id),
        )
        .await
        .context("Failed to create the demo credential manager")?;
    // A secret created almost a year ago, about to expire: the situation
    // rotation is for, and what the expiry reminders are about.
    let year_ago = admin.clock().now() - time::Duration::days(350);
    let old = admin
        .at_clock(Arc::new(ManualClock::new(year_ago)))
        .create_secret(&cli, application.client_id, "Old demo secret", None)
        .await
        .context("Failed to create the old demo secret")?;
    let secret = admin
        .create_secret(&cli, application.client_id, "Demo secret", None)
        .await
        .context("Failed to create the demo secret")?;
    let issuer = app.issuer();
    let client_id = application.client_id;
    let secret_value = secret.secret.expose();
    let lines = [
        String::new(),
        "Tessera demo data (shown this once; only hashes are stored):".into(),
        String::new(),
        format!(
            "  organisation        {} ({}), id {}",
            org.name.as_ref(),
            org.country.as_str(),
            org.id
        ),
        format!("  application         {}", application.name.as_ref()),
        format!("  client_id           {client_id}"),
        format!(
            "  client_secret       {secret_value}   (expires {})",
            rfc3339(secret.record.expires_at)
        ),
        format!(
            "  old secret          \"{}\", starts with {}, expires {} (delete it once the new one is in use)",
            old.record.name.as_ref(),
            old.record.hint,
            rfc3339(old.record.expires_at)
        ),
        format!("  credential manager  {}", manager.user.email.as_ref()),
        format!("    password          {}", manager.password.expose_secret()),
        format!("    TOTP URI          {}", manager.totp_uri.expose_secret()),
        String::new(),
        "Get a token:".into(),
        String::new(),
        format!(
            "  curl -s -u '{client_id}:{secret_value}' -d grant_type=client_credentials {issuer}/oauth2/token"
        ),
        String::new(),
        "Manage the credentials in a browser:".into(),
        String::new(),
        format!(
            "  {issuer}/   sign in as {} with the password above and a code",
            manager.user.email.as_ref()
        ),
        "  from an authenticator app that scanned the TOTP URI, or from a terminal:".into(),
        format!(
            "  oathtool --totp -b {}",
            totp_secret(manager.totp_uri.expose_secret())
        ),
        String::new(),
        format!("A token's signature verifies against {issuer}/.well-known/jwks.json"),
        format!("(discovery: {issuer}/.well-known/oauth-authorization-server)."),
        String::new(),
        format!(
            "The old secret's expiry reminder to {} is written to {} as an .eml file.",
            manager.user.email.as_ref(),
            outbox.display()
        ),
        String::new(),
    ];
    println!("{}", lines.join("\n"));
    Ok(())
}

/// The base32 secret of an `otpauth://` URI, for `oathtool`.
fn totp_secret(uri: &str) -> &str {
    uri.split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .unwrap_or("SECRET_FROM_THE_TOTP_URI")
}
