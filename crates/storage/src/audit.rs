//! The audit log's rows: written inside the transaction of the change they
//! record, and read back with their typed actor.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row as _};
use tessera_core::audit::{AuditAction, AuditEvent, AuditOutcome, NewAuditEvent};
use tessera_core::store::StoreError;

use crate::error::db;
use crate::rows;
use crate::sql_store::epoch;

/// The columns [`audit_event`] reads.
pub(crate) const AUDIT_COLUMNS: &str = "id, occurred_at, actor_kind, actor, actor_user_id, \
     organisation_id, action, target, client_address, outcome";

/// Appends `event` through `executor`: a transaction, so that the event and
/// the change it records commit together or not at all.
pub(crate) async fn insert_audit<'e, E>(
    executor: E,
    event: &NewAuditEvent,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_events (occurred_at, actor_kind, actor, actor_user_id, organisation_id, \
         action, target, client_address, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(epoch(event.occurred_at))
    .bind(event.actor.kind().as_str())
    .bind(event.actor.label().to_owned())
    .bind(event.actor.user_id().map(|id| id.to_string()))
    .bind(event.organisation_id.map(|id| id.to_string()))
    .bind(event.action.as_str())
    .bind(event.target.clone())
    .bind(event.client_address.map(|a| a.to_string()))
    .bind(event.outcome.as_str())
    .execute(executor)
    .await
    .map_err(db)?;
    Ok(())
}

/// An audit row read back.
pub(crate) fn audit_event(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
    Ok(AuditEvent {
        id: row.try_get("id").map_err(db)?,
        event: NewAuditEvent {
            occurred_at: rows::instant(row, "occurred_at")?,
            actor: rows::actor(row, "actor_kind", "actor_user_id", "actor")?,
            organisation_id: rows::opt_text(row, "organisation_id")?
                .map(|s| s.parse().map_err(|_| corrupt("organisation_id")))
                .transpose()?,
            action: AuditAction::parse(&rows::text(row, "action")?)
                .ok_or_else(|| corrupt("action"))?,
            target: rows::opt_text(row, "target")?,
            client_address: rows::opt_text(row, "client_address")?
                .map(|s| s.parse().map_err(|_| corrupt("client_address")))
                .transpose()?,
            outcome: AuditOutcome::parse(&rows::text(row, "outcome")?)
                .ok_or_else(|| corrupt("outcome"))?,
        },
    })
}
