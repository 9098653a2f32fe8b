//! Applications and their permissions: created, changed and deleted by
//! administrators; seen by the members of their organisation. Another
//! organisation's application is "not found", exactly as a missing one.

use tessera_core::application::{Application, ApplicationKind, validate_permissions};
use tessera_core::audit::{AuditAction, AuditOutcome};
use tessera_core::ids::{ClientId, OrganisationId};
use tessera_core::replica::Confirmation;

use crate::{Acting, Admin, AdminError, Invalid, Missing, Scope, require_administrator};

impl Admin {
    /// Creates an application of `organisation_id`, its name derived
    /// (administrators).
    pub async fn create_application<S: AsRef<str>>(
        &self,
        acting: &Acting,
        organisation_id: OrganisationId,
        api: &str,
        kind: ApplicationKind,
        permissions: &[S],
    ) -> Result<Application, AdminError> {
        require_administrator(acting)?;
        let org = self
            .store
            .organisation(organisation_id)
            .await?
            .ok_or(AdminError::NotFound(Missing::Organisation))?;
        let app = Application::create(
            &org,
            api,
            kind,
            permissions,
            &self.catalog,
            self.clock.now(),
        )
        .map_err(Invalid::from)?;
        let event = self.event(
            acting,
            Some(app.organisation_id),
            AuditAction::ApplicationCreated,
            app.client_id.to_string(),
            AuditOutcome::Success,
        );
        self.store.create_application(&app, &event).await?;
        Ok(app)
    }

    /// The applications the actor may see, by name: a credential manager's
    /// organisation's whatever `organisation` asks; for administrators,
    /// every one or `organisation`'s.
    pub async fn applications(
        &self,
        acting: &Acting,
        organisation: Option<OrganisationId>,
    ) -> Result<Vec<Application>, AdminError> {
        let filter = match acting.scope() {
            Scope::Everything => organisation,
            Scope::Organisation(own) => Some(own),
            Scope::Nothing => return Ok(Vec::new()),
        };
        Ok(self.store.applications(filter).await?)
    }

    /// One application the actor may see.
    pub async fn application(
        &self,
        acting: &Acting,
        client_id: ClientId,
    ) -> Result<Application, AdminError> {
        self.store
            .application(client_id)
            .await?
            .filter(|app| acting.scope().covers(app.organisation_id))
            .ok_or(AdminError::NotFound(Missing::Application))
    }

    /// Replaces an application's permissions (administrators): its tokens
    /// carry the new set from the next request on, on every live replica
    /// by the time of the answer (the confirmation says which did not).
    pub async fn set_permissions<S: AsRef<str>>(
        &self,
        acting: &Acting,
        client_id: ClientId,
        permissions: &[S],
    ) -> Result<(Application, Confirmation), AdminError> {
        require_administrator(acting)?;
        let mut app = self.application(acting, client_id).await?;
        app.permissions =
            validate_permissions(app.kind, permissions, &self.catalog).map_err(Invalid::from)?;
        let now = self.clock.now();
        let event = self.event(
            acting,
            Some(app.organisation_id),
            AuditAction::PermissionsChanged,
            client_id.to_string(),
            AuditOutcome::Success,
        );
        let stored = self
            .store
            .set_permissions(client_id, &app.permissions, now, &event)
            .await;
        self.credentials_changed(client_id);
        stored.map_err(|e| AdminError::store(e, Missing::Application))?;
        Ok((app, self.confirm().await))
    }

    /// Deletes an application with its secrets (administrators): its
    /// secrets stop at once, on every live replica by the time of the
    /// answer (the confirmation says which did not).
    pub async fn delete_application(
        &self,
        acting: &Acting,
        client_id: ClientId,
    ) -> Result<Confirmation, AdminError> {
        require_administrator(acting)?;
        let app = self.application(acting, client_id).await?;
        let event = self.event(
            acting,
            Some(app.organisation_id),
            AuditAction::ApplicationDeleted,
            client_id.to_string(),
            AuditOutcome::Success,
        );
        let deleted = self
            .store
            .delete_application(client_id, self.clock.now(), &event)
            .await;
        self.credentials_changed(client_id);
        if deleted? {
            Ok(self.confirm().await)
        } else {
            Err(AdminError::NotFound(Missing::Application))
        }
    }
}
