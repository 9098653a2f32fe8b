//! The audit log: the events the use cases record, and reading them back
//! within the reader's scope.

use tessera_core::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditQuery, MAX_AUDIT_PAGE, NewAuditEvent,
};
use tessera_core::ids::OrganisationId;

use crate::{Acting, Admin, AdminError, Invalid, Scope};

impl Admin {
    /// The event recording that `acting` did `action` to `target`, now.
    pub(crate) fn event(
        &self,
        acting: &Acting,
        organisation_id: Option<OrganisationId>,
        action: AuditAction,
        target: String,
        outcome: AuditOutcome,
    ) -> NewAuditEvent {
        NewAuditEvent {
            occurred_at: self.clock.now(),
            actor: acting.actor().record(),
            organisation_id,
            action,
            target: Some(target),
            client_address: acting.client_address(),
            outcome,
        }
    }

    /// Audit events, newest first: every organisation's (or the one asked
    /// for) to admins, their own organisation's to credential managers.
    pub async fn audit_events(
        &self,
        acting: &Acting,
        organisation: Option<OrganisationId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AdminError> {
        if limit == 0 || limit > MAX_AUDIT_PAGE {
            return Err(Invalid::Limit {
                max: MAX_AUDIT_PAGE,
            }
            .into());
        }
        let organisation_id = match acting.scope() {
            Scope::Everything => organisation,
            // A credential manager reads their own organisation's events,
            // whatever they ask for.
            Scope::Organisation(own) => Some(own),
            Scope::Nothing => return Ok(Vec::new()),
        };
        Ok(self
            .store
            .audit_events(&AuditQuery {
                organisation_id,
                before,
                limit,
            })
            .await?)
    }
}
