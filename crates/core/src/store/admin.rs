//! The records people change: organisations, applications with their
//! permissions and secrets, and users.
//!
//! Every write takes the audit event that records it and stores both in one
//! transaction: if the event cannot be written, the change does not happen.

use crate::application::{Application, Permissions};
use crate::audit::NewAuditEvent;
use crate::ids::{ClientId, OrganisationId, SecretId};
use crate::organisation::Organisation;
use crate::password::PhcHash;
use crate::secret::{NewSecret, SecretRecord};
use crate::store::StoreError;
use crate::user::{TotpSecret, User};
use time::OffsetDateTime;

/// Organisations, applications, secrets and users.
#[async_trait::async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// Stores a new organisation; `Conflict("name")` if the name is taken.
    async fn create_organisation(
        &self,
        org: &Organisation,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// One organisation.
    async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>, StoreError>;
    /// Every organisation, by name.
    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError>;

    /// Stores a new application; `Conflict("name")` if its derived name is taken.
    async fn create_application(
        &self,
        app: &Application,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// One application.
    async fn application(&self, client_id: ClientId) -> Result<Option<Application>, StoreError>;
    /// Applications, of one organisation or of all, by name, with their
    /// permissions (read in one query, whatever the number of applications).
    async fn applications(
        &self,
        organisation: Option<OrganisationId>,
    ) -> Result<Vec<Application>, StoreError>;
    /// Replaces an application's permissions and records the change for
    /// every server's secret cache; `NotFound` if there is none.
    async fn set_permissions(
        &self,
        client_id: ClientId,
        permissions: &Permissions,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// Deletes an application with its secrets and permissions, recording
    /// the change for every server's secret cache; `false` if there was none (and then no event is recorded).
    async fn delete_application(
        &self,
        client_id: ClientId,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<bool, StoreError>;

    /// Stores a new secret, refusing with `SecretLimitReached` when its
    /// application already holds five (checked atomically) and with
    /// `NotFound` when the application does not exist.
    async fn create_secret(
        &self,
        secret: &NewSecret,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// An application's secrets' metadata, oldest first.
    async fn secrets(&self, client_id: ClientId) -> Result<Vec<SecretRecord>, StoreError>;
    /// Deletes a secret of an application and records the change for every
    /// server's secret cache; `false` if there was none (and then no event is
    /// recorded).
    async fn delete_secret(
        &self,
        client_id: ClientId,
        id: SecretId,
        at: OffsetDateTime,
        event: &NewAuditEvent,
    ) -> Result<bool, StoreError>;

    /// Stores a new user; `Conflict("email")` if the address is taken.
    async fn create_user(
        &self,
        user: &User,
        password_hash: &PhcHash,
        totp: &TotpSecret,
        event: &NewAuditEvent,
    ) -> Result<(), StoreError>;
    /// Users, of one organisation or of all, by email.
    async fn users(&self, organisation: Option<OrganisationId>) -> Result<Vec<User>, StoreError>;
}
