//! `serve --demo`: on an empty database, a sandbox organisation with a
//! partner-alternative application, a credential manager and a secret, and
//! a curl line that gets a token.

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use tessera_core::application::ApplicationKind;
use tessera_core::organisation::NewOrganisation;
use tessera_core::token::rfc3339;
use tessera_core::user::Role;
use tessera_server::Application;

/// Creates the demo records if the database is empty and prints them.
pub async fn prepare(app: &Application) -> anyhow::Result<()> {
    let tessera = app.tessera();
    if !tessera.store().organisations().await?.is_empty() {
        println!(
            "\nThe database already holds data, so no demo data was created (secrets are never shown twice).\n\
             Create a new secret with: tessera secret create --client-id CLIENT_ID --name \"Demo secret\"\n\
             or start afresh by removing data/ and keys/.\n"
        );
        return Ok(());
    }
    let org = tessera
        .create_organisation(&NewOrganisation {
            name: "DemoOrganisation".into(),
            country: "NL".into(),
        })
        .await
        .context("Failed to create the demo organisation")?;
    let application = tessera
        .create_application(
            org.id,
            "MC",
            ApplicationKind::PartnerAlternative,
            &["match-connect-sandbox"],
        )
        .await
        .context("Failed to create the demo application")?;
    let manager = tessera
        .create_user(
            "manager@demo.example",
            Role::CredentialManager,
            Some(org.id),
        )
        .await
        .context("Failed to create the demo credential manager")?;
    let secret = tessera
        .create_secret(application.client_id, "Demo secret", None, "demo")
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
        format!("Its signature verifies against {issuer}/.well-known/jwks.json"),
        format!("(discovery: {issuer}/.well-known/oauth-authorization-server)."),
        String::new(),
    ];
    println!("{}", lines.join("\n"));
    Ok(())
}
