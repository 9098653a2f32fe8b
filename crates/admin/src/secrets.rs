//! Client secrets: created, listed and deleted by the credential managers
//! of the application's organisation and by administrators. A secret's
//! value exists outside the client only in [`CreatedSecret`], once.

use secrecy::SecretString;
use tessera_core::audit::{AuditAction, AuditOutcome};
use tessera_core::ids::{ClientId, SecretId};
use tessera_core::replica::Confirmation;
use tessera_core::secret::{NewSecret, PlainSecret, SecretName, SecretRecord, resolve_expiry};
use time::OffsetDateTime;

use crate::{Acting, Admin, AdminError, Invalid, Missing};

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

/// The audit target of a secret: `<client_id>/<secret_id>`.
fn target(client_id: ClientId, id: SecretId) -> String {
    format!("{client_id}/{id}")
}

impl Admin {
    /// Creates a secret of an application the actor may see, expiring at
    /// `expires_at` (one year by default); its value is returned this once.
    pub async fn create_secret(
        &self,
        acting: &Acting,
        client_id: ClientId,
        name: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<CreatedSecret, AdminError> {
        let app = self.application(acting, client_id).await?;
        let name = SecretName::parse(name).map_err(Invalid::from)?;
        let now = self.clock.now();
        let expiry = resolve_expiry(now, expires_at).map_err(Invalid::from)?;
        let secret = PlainSecret::generate();
        let hash = self
            .hash(SecretString::from(secret.expose().to_owned()))
            .await?;
        let record = SecretRecord {
            id: SecretId::generate(),
            client_id,
            name,
            hint: secret.hint(),
            created_at: now.replace_nanosecond(0).unwrap_or(now),
            created_by: acting.actor().record(),
            expires_at: expiry.expires_at,
            last_used_at: None,
        };
        let event = self.event(
            acting,
            Some(app.organisation_id),
            AuditAction::SecretCreated,
            target(client_id, record.id),
            AuditOutcome::Success,
        );
        self.store
            .create_secret(
                &NewSecret {
                    record: record.clone(),
                    hash,
                },
                &event,
            )
            .await
            .map_err(|e| AdminError::store(e, Missing::Application))?;
        Ok(CreatedSecret {
            record,
            secret,
            short_lifetime: expiry.short_lifetime,
        })
    }

    /// The secrets of an application the actor may see, oldest first.
    pub async fn secrets(
        &self,
        acting: &Acting,
        client_id: ClientId,
    ) -> Result<Vec<SecretRecord>, AdminError> {
        self.application(acting, client_id).await?;
        Ok(self.store.secrets(client_id).await?)
    }

    /// One secret of an application the actor may see.
    pub async fn secret(
        &self,
        acting: &Acting,
        client_id: ClientId,
        id: SecretId,
    ) -> Result<SecretRecord, AdminError> {
        self.secrets(acting, client_id)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(AdminError::NotFound(Missing::Secret))
    }

    /// Deletes a secret of an application the actor may see: this
    /// process's next token request with it is refused, and the answer
    /// comes once every live replica refuses it too, or says which may
    /// still accept it and until when.
    pub async fn delete_secret(
        &self,
        acting: &Acting,
        client_id: ClientId,
        id: SecretId,
    ) -> Result<Confirmation, AdminError> {
        let app = self.application(acting, client_id).await?;
        let event = self.event(
            acting,
            Some(app.organisation_id),
            AuditAction::SecretDeleted,
            target(client_id, id),
            AuditOutcome::Success,
        );
        let deleted = self
            .store
            .delete_secret(client_id, id, self.clock.now(), &event)
            .await;
        self.credentials_changed(client_id);
        if deleted? {
            Ok(self.confirm().await)
        } else {
            Err(AdminError::NotFound(Missing::Secret))
        }
    }
}
