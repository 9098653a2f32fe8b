//! Which signing key is active: a change like any other, made by the
//! command line or, at a first start, by Tessera itself, and audited.
//! The key files themselves belong to the token path's key directory.

use tessera_core::audit::{AuditAction, AuditOutcome, NewAuditEvent};

use crate::{Acting, Admin, AdminError, Missing, require_administrator};

impl Admin {
    /// Makes the registered key `kid` the active one (administrators):
    /// every server signs with it from its next key reload.
    pub async fn activate_signing_key(&self, acting: &Acting, kid: &str) -> Result<(), AdminError> {
        require_administrator(acting)?;
        self.store
            .activate_signing_key(kid, self.clock.now(), &self.key_activated(acting, kid))
            .await
            .map_err(|e| AdminError::store(e, Missing::SigningKey))
    }

    /// The audit event of `acting` activating `kid`, for the token path's
    /// first start, which activates its first key itself inside the lease
    /// that keeps replicas starting together from each activating one.
    pub fn key_activated(&self, acting: &Acting, kid: &str) -> NewAuditEvent {
        self.event(
            acting,
            None,
            AuditAction::KeyActivated,
            kid.to_owned(),
            AuditOutcome::Success,
        )
    }
}
