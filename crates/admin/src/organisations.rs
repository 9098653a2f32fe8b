//! Organisations: created by admins, seen by their members.

use tessera_core::audit::{AuditAction, AuditOutcome};
use tessera_core::ids::OrganisationId;
use tessera_core::organisation::{NewOrganisation, Organisation};

use crate::{Acting, Admin, AdminError, Invalid, Missing, Scope, require_administrator};

impl Admin {
    /// Creates an organisation (administrators).
    pub async fn create_organisation(
        &self,
        acting: &Acting,
        name: &str,
        country: &str,
    ) -> Result<Organisation, AdminError> {
        require_administrator(acting)?;
        let org = NewOrganisation {
            name: name.to_owned(),
            country: country.to_owned(),
        }
        .validate(self.clock.now())
        .map_err(Invalid::from)?;
        let event = self.event(
            acting,
            Some(org.id),
            AuditAction::OrganisationCreated,
            org.id.to_string(),
            AuditOutcome::Success,
        );
        self.store.create_organisation(&org, &event).await?;
        Ok(org)
    }

    /// The organisations the actor may see, by name.
    pub async fn organisations(&self, acting: &Acting) -> Result<Vec<Organisation>, AdminError> {
        match acting.scope() {
            Scope::Everything => Ok(self.store.organisations().await?),
            Scope::Organisation(own) => {
                Ok(self.store.organisation(own).await?.into_iter().collect())
            }
            Scope::Nothing => Ok(Vec::new()),
        }
    }

    /// One organisation the actor may see.
    pub async fn organisation(
        &self,
        acting: &Acting,
        id: OrganisationId,
    ) -> Result<Organisation, AdminError> {
        if !acting.scope().covers(id) {
            return Err(AdminError::NotFound(Missing::Organisation));
        }
        self.store
            .organisation(id)
            .await?
            .ok_or(AdminError::NotFound(Missing::Organisation))
    }
}
