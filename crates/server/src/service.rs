//! The operations people perform on Tessera's records, shared by the
//! command line and the management API so the rules are applied once.
//!
//! Each operation validates through `tessera-core`, hashes off the async
//! executor, and stores through the [`Store`] trait.

use secrecy::SecretString;
use std::sync::Arc;
use tessera_core::Clock;
use tessera_core::application::{Application, ApplicationKind, validate_permissions};
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::organisation::{NewOrganisation, Organisation};
use tessera_core::password::{Hasher, PhcHash};
use tessera_core::resource::ResourceCatalog;
use tessera_core::secret::{NewSecret, PlainSecret, SecretName, SecretRecord, resolve_expiry};
use tessera_core::store::{CredentialsChanged, Store, StoreError};
use tessera_core::user::{Email, Role, TotpSecret, User, generate_password};
use time::OffsetDateTime;

/// Why an operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a domain rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique field is taken.
    #[error("{0}")]
    Conflict(String),
    /// The application already holds five secrets.
    #[error("an application may hold at most 5 secrets; delete one first")]
    SecretLimit,
    /// The database cannot be reached; the cause is logged, never shown.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Storage or hashing failed; the cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => Self::Conflict(format!("{field} is already taken")),
            StoreError::NotFound => Self::NotFound("record"),
            StoreError::SecretLimitReached => Self::SecretLimit,
            StoreError::Database(_) => Self::Unavailable(Box::new(e)),
            other => Self::Internal(Box::new(other)),
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Invalid(e.to_string())
}

/// A secret just created: the only time its value exists outside the client.
#[derive(Debug)]
pub struct CreatedSecret {
    /// Its metadata.
    pub record: SecretRecord,
    /// The value, to show once.
    pub secret: PlainSecret,
    /// Lifetime under 30 days: recommend one year.
    pub short_lifetime: bool,
}

/// A user just created, with the credentials to hand over once.
#[derive(Debug)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// The generated initial password.
    pub password: SecretString,
    /// The `otpauth://` URI to enrol an authenticator.
    pub totp_uri: SecretString,
}

/// Tessera's operations over one store.
#[derive(Clone)]
pub struct Tessera {
    store: Arc<dyn Store>,
    hasher: Hasher,
    clock: Arc<dyn Clock>,
    catalog: Arc<ResourceCatalog>,
    cache: Option<Arc<dyn CredentialsChanged>>,
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera").finish_non_exhaustive()
    }
}

/// Hashes on a blocking thread: argon2 must not stall the executor.
pub async fn hash_off_thread(
    hasher: &Hasher,
    value: SecretString,
) -> Result<PhcHash, ServiceError> {
    let hasher = hasher.clone();
    tokio::task::spawn_blocking(move || {
        use secrecy::ExposeSecret as _;
        hasher.hash(value.expose_secret().as_bytes())
    })
    .await
    .map_err(|e| ServiceError::Internal(Box::new(e)))?
    .map_err(|e| ServiceError::Internal(Box::new(e)))
}

impl Tessera {
    /// Operations over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Hasher,
        clock: Arc<dyn Clock>,
        catalog: Arc<ResourceCatalog>,
    ) -> Self {
        Self {
            store,
            hasher,
            clock,
            catalog,
            cache: None,
        }
    }

    /// The same operations, dropping what they change from `cache` before
    /// they return, so the change applies to this server's next request.
    pub fn with_cache(mut self, cache: Arc<dyn CredentialsChanged>) -> Self {
        self.cache = Some(cache);
        self
    }

    fn invalidate(&self, client_id: ClientId) {
        if let Some(cache) = &self.cache {
            cache.credentials_changed(client_id);
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The hasher.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The resource catalog.
    pub fn catalog(&self) -> &Arc<ResourceCatalog> {
        &self.catalog
    }

    /// Creates an organisation.
    pub async fn create_organisation(
        &self,
        new: &NewOrganisation,
    ) -> Result<Organisation, ServiceError> {
        let org = new.validate(self.clock.now()).map_err(invalid)?;
        self.store.create_organisation(&org).await?;
        Ok(org)
    }

    /// Creates an application of `organisation_id`, its name derived.
    pub async fn create_application<S: AsRef<str>>(
        &self,
        organisation_id: OrganisationId,
        api: &str,
        kind: ApplicationKind,
        permissions: &[S],
    ) -> Result<Application, ServiceError> {
        let org = self
            .store
            .organisation(organisation_id)
            .await?
            .ok_or(ServiceError::NotFound("organisation"))?;
        let app = Application::create(
            &org,
            api,
            kind,
            permissions,
            &self.catalog,
            self.clock.now(),
        )
        .map_err(invalid)?;
        self.store.create_application(&app).await?;
        Ok(app)
    }

    /// Replaces an application's permissions.
    pub async fn set_permissions<S: AsRef<str>>(
        &self,
        client_id: ClientId,
        permissions: &[S],
    ) -> Result<Application, ServiceError> {
        let mut app = self
            .store
            .application(client_id)
            .await?
            .ok_or(ServiceError::NotFound("application"))?;
        app.permissions =
            validate_permissions(app.kind, permissions, &self.catalog).map_err(invalid)?;
        let stored = self
            .store
            .set_permissions(client_id, &app.permissions, self.clock.now())
            .await;
        self.invalidate(client_id);
        match stored {
            Err(StoreError::NotFound) => Err(ServiceError::NotFound("application")),
            other => other.map(|()| app).map_err(Into::into),
        }
    }

    /// Deletes an application with its secrets: its tokens stop at once.
    pub async fn delete_application(&self, client_id: ClientId) -> Result<(), ServiceError> {
        let deleted = self
            .store
            .delete_application(client_id, self.clock.now())
            .await;
        self.invalidate(client_id);
        if deleted? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("application"))
        }
    }

    /// Creates a user with a generated password and TOTP secret.
    pub async fn create_user(
        &self,
        email: &str,
        role: Role,
        organisation_id: Option<OrganisationId>,
    ) -> Result<CreatedUser, ServiceError> {
        let email = Email::parse(email).map_err(invalid)?;
        if role == Role::CredentialManager && organisation_id.is_none() {
            return Err(invalid(tessera_core::user::UserError::OrganisationRequired));
        }
        if let Some(org) = organisation_id {
            self.store
                .organisation(org)
                .await?
                .ok_or(ServiceError::NotFound("organisation"))?;
        }
        let user = User {
            id: tessera_core::ids::UserId::generate(),
            email,
            role,
            organisation_id,
            created_at: self.clock.now(),
        };
        let password = generate_password();
        let totp = TotpSecret::generate();
        let totp_uri = totp
            .uri(&user.email)
            .map_err(|e| ServiceError::Internal(Box::new(e)))?;
        let hash = hash_off_thread(&self.hasher, password.clone()).await?;
        self.store.create_user(&user, &hash, &totp).await?;
        Ok(CreatedUser {
            user,
            password,
            totp_uri,
        })
    }

    /// Creates a secret for an application; its value is returned this once.
    pub async fn create_secret(
        &self,
        client_id: ClientId,
        name: &str,
        expires_at: Option<OffsetDateTime>,
        created_by: &str,
    ) -> Result<CreatedSecret, ServiceError> {
        let name = SecretName::parse(name).map_err(invalid)?;
        let now = self.clock.now();
        let expiry = resolve_expiry(now, expires_at).map_err(invalid)?;
        if self.store.application(client_id).await?.is_none() {
            return Err(ServiceError::NotFound("application"));
        }
        let secret = PlainSecret::generate();
        let hash =
            hash_off_thread(&self.hasher, SecretString::from(secret.expose().to_owned())).await?;
        let record = SecretRecord {
            id: SecretId::generate(),
            client_id,
            name,
            hint: secret.hint(),
            created_at: now.replace_nanosecond(0).unwrap_or(now),
            created_by: created_by.to_owned(),
            expires_at: expiry.expires_at,
            last_used_at: None,
        };
        match self
            .store
            .create_secret(&NewSecret {
                record: record.clone(),
                hash,
            })
            .await
        {
            Err(StoreError::NotFound) => return Err(ServiceError::NotFound("application")),
            other => other?,
        }
        Ok(CreatedSecret {
            record,
            secret,
            short_lifetime: expiry.short_lifetime,
        })
    }

    /// An application's secrets.
    pub async fn secrets(&self, client_id: ClientId) -> Result<Vec<SecretRecord>, ServiceError> {
        if self.store.application(client_id).await?.is_none() {
            return Err(ServiceError::NotFound("application"));
        }
        Ok(self.store.secrets(client_id).await?)
    }

    /// Deletes a secret: the next token request with it is refused.
    pub async fn delete_secret(
        &self,
        client_id: ClientId,
        id: SecretId,
    ) -> Result<(), ServiceError> {
        let deleted = self
            .store
            .delete_secret(client_id, id, self.clock.now())
            .await;
        // Even when the store failed: the change may have committed.
        self.invalidate(client_id);
        if deleted? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("secret"))
        }
    }
}
