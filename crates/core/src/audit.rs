//! Audit events: who did what, to what, when and from where.
//!
//! Every change and every sign-in attempt is recorded. An event names its
//! target by identifier (a client_id, a secret id, an email) and never
//! holds a secret, password, TOTP code or token.

use crate::ids::OrganisationId;
use std::net::IpAddr;

pub use crate::actor::ActorRecord;
use serde::Serialize;
use time::OffsetDateTime;

/// Most events one page of the audit log returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;
/// Events a page returns when no limit is asked for.
pub const DEFAULT_AUDIT_PAGE: u32 = 100;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AuditAction {
    /// A user signed in.
    #[serde(rename = "session.created")]
    SessionCreated,
    /// A sign-in was refused.
    #[serde(rename = "session.failed")]
    SessionFailed,
    /// A user signed out.
    #[serde(rename = "session.deleted")]
    SessionDeleted,
    /// Repeated failures locked an account.
    #[serde(rename = "account.locked")]
    AccountLocked,
    /// A user changed their password.
    #[serde(rename = "password.changed")]
    PasswordChanged,
    /// An organisation was created.
    #[serde(rename = "organisation.created")]
    OrganisationCreated,
    /// An application was created.
    #[serde(rename = "application.created")]
    ApplicationCreated,
    /// An application was deleted.
    #[serde(rename = "application.deleted")]
    ApplicationDeleted,
    /// An application's permissions were replaced.
    #[serde(rename = "permissions.changed")]
    PermissionsChanged,
    /// A user was created.
    #[serde(rename = "user.created")]
    UserCreated,
    /// A client secret was created.
    #[serde(rename = "secret.created")]
    SecretCreated,
    /// A client secret was deleted.
    #[serde(rename = "secret.deleted")]
    SecretDeleted,
    /// A signing key became the active one.
    #[serde(rename = "key.activated")]
    KeyActivated,
    /// An expiry reminder was sent.
    #[serde(rename = "reminder.sent")]
    ReminderSent,
    /// Every try to send an expiry reminder failed.
    #[serde(rename = "reminder.failed")]
    ReminderFailed,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [Self; 15] = [
        Self::SessionCreated,
        Self::SessionFailed,
        Self::SessionDeleted,
        Self::AccountLocked,
        Self::PasswordChanged,
        Self::OrganisationCreated,
        Self::ApplicationCreated,
        Self::ApplicationDeleted,
        Self::PermissionsChanged,
        Self::UserCreated,
        Self::SecretCreated,
        Self::SecretDeleted,
        Self::KeyActivated,
        Self::ReminderSent,
        Self::ReminderFailed,
    ];

    /// The action as stored and shown, such as `secret.created`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SessionCreated => "session.created",
            Self::SessionFailed => "session.failed",
            Self::SessionDeleted => "session.deleted",
            Self::AccountLocked => "account.locked",
            Self::PasswordChanged => "password.changed",
            Self::OrganisationCreated => "organisation.created",
            Self::ApplicationCreated => "application.created",
            Self::ApplicationDeleted => "application.deleted",
            Self::PermissionsChanged => "permissions.changed",
            Self::UserCreated => "user.created",
            Self::SecretCreated => "secret.created",
            Self::SecretDeleted => "secret.deleted",
            Self::KeyActivated => "key.activated",
            Self::ReminderSent => "reminder.sent",
            Self::ReminderFailed => "reminder.failed",
        }
    }

    /// Parses a stored action.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Whether the action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// It was done.
    Success,
    /// It was refused.
    Failure,
}

impl AuditOutcome {
    /// As stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// Parses a stored outcome.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// When it happened.
    pub occurred_at: OffsetDateTime,
    /// Who acted.
    pub actor: ActorRecord,
    /// The organisation concerned, if any: it decides which credential
    /// managers may read the event.
    pub organisation_id: Option<OrganisationId>,
    /// What happened.
    pub action: AuditAction,
    /// What it happened to: a client_id, a secret id, a user's email.
    pub target: Option<String>,
    /// The client's network address, for requests over HTTP.
    pub client_address: Option<IpAddr>,
    /// Success or failure.
    pub outcome: AuditOutcome,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Increasing with each event: newest events have the highest ids.
    pub id: i64,
    /// What was recorded.
    pub event: NewAuditEvent,
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this organisation's events.
    pub organisation_id: Option<OrganisationId>,
    /// Only events older than this id (the previous page's last id).
    pub before: Option<i64>,
    /// At most this many events.
    pub limit: u32,
}
