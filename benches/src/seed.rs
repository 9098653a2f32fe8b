//! Seeding the benchmark database through Tessera's own use cases
//! (`tessera_admin::Admin`, as the command line), before any server starts: the
//! organisations, applications and secrets are real records, hashed as
//! Tessera hashes them.

use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;
use tessera_admin::{Acting, Admin};
use tessera_core::SystemClock;
use tessera_core::application::ApplicationKind;
use tessera_core::ids::ClientId;
use tessera_core::password::Argon2Config;
use tessera_core::secret::PlainSecret;
use tessera_server::Settings;
use tessera_server::startup::open_admin;
use tessera_token::keys::{Algorithm, KeyDirectory, register_all};

use crate::floor::PERMISSIONS;

/// Applications per organisation: each gets a distinct API code, which keeps
/// the derived application names unique.
const APPLICATIONS_PER_ORGANISATION: usize = 500;

/// A client the benchmark authenticates as. The secret is held only in
/// memory and only ever sent to the server under test.
pub struct Client {
    /// The application's client id.
    pub client_id: String,
    /// Its secret.
    pub secret: PlainSecret,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What to create.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan<'a> {
    /// Distinguishes the organisations of one plan from another's.
    pub tag: &'a str,
    /// How many secrets in all.
    pub secrets: usize,
    /// Secrets per application (at most 5).
    pub secrets_per_application: usize,
    /// The argon2id cost of these secrets' hashes.
    pub argon2: Argon2Config,
    /// Hashes computed at once (each on a blocking thread).
    pub parallel: usize,
}

/// Settings for the harness's own use of the database.
pub fn settings(database_url: &str, keys_dir: &Path) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(None).context("Failed to load the default settings")?;
    settings.database_url = database_url.to_owned().into();
    settings.keys_dir = keys_dir.to_owned();
    Ok(settings)
}

/// The API code of the `n`-th application of an organisation: three capital
/// letters, `AAA`, `AAB`, ….
pub fn api_code(n: usize) -> String {
    let letter = |k: usize| char::from(b'A' + u8::try_from(k % 26).unwrap_or(0));
    [letter(n / 676), letter(n / 26), letter(n)]
        .iter()
        .collect()
}

/// Creates the plan's organisations, applications and secrets; returns one
/// client per secret.
pub async fn seed(settings: &Settings, plan: SeedPlan<'_>) -> anyhow::Result<Vec<Client>> {
    anyhow::ensure!(
        (1..=5).contains(&plan.secrets_per_application),
        "an application holds 1 to 5 secrets"
    );
    let mut settings = settings.clone();
    settings.argon2 = plan.argon2;
    let (store, admin) = open_admin(&settings, Arc::new(SystemClock)).await?;
    let cli = Acting::cli();
    let applications = plan.secrets.div_ceil(plan.secrets_per_application);
    let mut client_ids = Vec::with_capacity(applications);
    let mut organisation = None;
    for n in 0..applications {
        let index = n % APPLICATIONS_PER_ORGANISATION;
        if index == 0 {
            let name = format!("Bench{}{}", plan.tag, n / APPLICATIONS_PER_ORGANISATION);
            let created = admin
                .create_organisation(&cli, &name, "NL")
                .await
                .context("Failed to create an organisation")?;
            organisation = Some(created.id);
        }
        let organisation = organisation.context("No organisation")?;
        let app = admin
            .create_application(
                &cli,
                organisation,
                &api_code(index),
                ApplicationKind::Partner,
                &PERMISSIONS,
            )
            .await
            .context("Failed to create an application")?;
        client_ids.push(app.client_id);
    }

    let mut wanted = Vec::with_capacity(plan.secrets);
    for client_id in &client_ids {
        for _ in 0..plan.secrets_per_application {
            if wanted.len() < plan.secrets {
                wanted.push(*client_id);
            }
        }
    }
    let clients = create_secrets(&admin, wanted, plan.parallel.max(1)).await?;
    store.close().await;
    Ok(clients)
}

/// Creates one resource server (kind `resource-server`, in an
/// organisation of its own) with one default-cost secret: what the
/// introspection scenario authenticates as.
pub async fn resource_server(settings: &Settings) -> anyhow::Result<Client> {
    let (store, admin) = open_admin(settings, Arc::new(SystemClock)).await?;
    let cli = Acting::cli();
    let created = async {
        let organisation = admin
            .create_organisation(&cli, "BenchResourceServers", "NL")
            .await
            .context("Failed to create the resource servers' organisation")?;
        let app = admin
            .create_application(
                &cli,
                organisation.id,
                "RS",
                ApplicationKind::ResourceServer,
                &[] as &[&str],
            )
            .await
            .context("Failed to create the resource server")?;
        let mut clients = create_secrets(&admin, vec![app.client_id], 1).await?;
        clients.pop().context("No secret was created")
    }
    .await;
    store.close().await;
    created
}

/// Creates one secret for each client id, `parallel` at a time.
async fn create_secrets(
    admin: &Admin,
    client_ids: Vec<ClientId>,
    parallel: usize,
) -> anyhow::Result<Vec<Client>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = Vec::with_capacity(client_ids.len());
    for client_id in client_ids {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .context("Failed to wait for a hashing slot")?;
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let created = admin
                .create_secret(&Acting::cli(), client_id, "Secret by bench", None)
                .await;
            drop(permit);
            created
                .map(|created| Client {
                    client_id: client_id.to_string(),
                    secret: created.secret,
                })
                .context("Failed to create a secret")
        }));
    }
    let mut clients = Vec::with_capacity(tasks.len());
    for task in tasks {
        clients.push(task.await.context("A seeding task failed")??);
    }
    Ok(clients)
}

/// Generates a key of `alg` in `keys_dir` and makes it the active key in the
/// database, so that Tessera signs with it and the floor can load the same
/// file. Returns the key file.
pub async fn activate_new_key(
    settings: &Settings,
    keys_dir: &Path,
    alg: Algorithm,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = KeyDirectory::new(keys_dir);
    let key = dir
        .generate(alg)
        .with_context(|| format!("Failed to generate an {alg} key"))?;
    let (store, admin) = open_admin(settings, Arc::new(SystemClock)).await?;
    let keys = dir.load_all().context("Failed to read the key folder")?;
    register_all(&store, &keys, &SystemClock)
        .await
        .context("Failed to register the key")?;
    admin
        .activate_signing_key(&Acting::cli(), &key.kid)
        .await
        .context("Failed to activate the key")?;
    store.close().await;
    Ok(keys_dir.join(format!("{}.pem", key.kid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_codes_are_distinct_valid_codes() {
        let codes: std::collections::BTreeSet<String> =
            (0..APPLICATIONS_PER_ORGANISATION).map(api_code).collect();
        assert_eq!(codes.len(), APPLICATIONS_PER_ORGANISATION);
        for code in &codes {
            assert!(
                tessera_core::application::ApiCode::parse(code).is_ok(),
                "{code}"
            );
        }
        assert_eq!(api_code(0), "AAA");
        assert_eq!(api_code(27), "ABB");
    }
}
