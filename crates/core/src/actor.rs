//! Who acts: a signed-in user, the command line on the host, or Tessera
//! itself ([`Actor`]); and who is recorded as having acted
//! ([`ActorRecord`]), which adds the stranger whose sign-in was refused.
//!
//! The kinds are types, never strings to compare: a user whose email is
//! `system` is a user, and is recorded as one.

use crate::ids::{OrganisationId, UserId};
use crate::user::{Email, Role, User};
use serde::{Serialize, Serializer};

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user.
    User(ActingUser),
    /// Someone with a shell on the host, through the `tessera` command line.
    Cli,
    /// Tessera itself (locking an account, sending a reminder).
    System,
}

/// The user behind an [`Actor::User`]: what deciding what they may do needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingUser {
    /// The user's id.
    pub id: UserId,
    /// Their email now.
    pub email: Email,
    /// Their role.
    pub role: Role,
    /// Their organisation; admins may have none.
    pub organisation_id: Option<OrganisationId>,
}

impl From<&User> for ActingUser {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            role: u.role,
            organisation_id: u.organisation_id,
        }
    }
}

impl Actor {
    /// How the actor is recorded.
    pub fn record(&self) -> ActorRecord {
        match self {
            Self::User(u) => ActorRecord::User {
                id: u.id,
                email: u.email.as_ref().to_owned(),
            },
            Self::Cli => ActorRecord::Cli,
            Self::System => ActorRecord::System,
        }
    }
}

/// The kind of a recorded actor, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A known user.
    User,
    /// Someone not signed in (a refused sign-in with an unknown email).
    Anonymous,
    /// The command line on the host.
    Cli,
    /// Tessera itself.
    System,
}

impl ActorKind {
    /// As stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Anonymous => "anonymous",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }

    /// Parses a stored kind.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::User, Self::Anonymous, Self::Cli, Self::System]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Who acted, as recorded in the audit log and on the records they made:
/// the kind, the user's id, and the email at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorRecord {
    /// A known user (for sign-in attempts, the account tried).
    User {
        /// The user's id.
        id: UserId,
        /// The user's email at the time.
        email: String,
    },
    /// Someone not signed in, named by what they typed (an email that may
    /// belong to no account).
    Anonymous {
        /// The email given, trimmed and cut to 254 characters.
        email: String,
    },
    /// The command line on the host.
    Cli,
    /// Tessera itself.
    System,
}

impl ActorRecord {
    /// A stranger named by the email they typed, trimmed and cut to 254
    /// characters.
    pub fn anonymous(typed: &str) -> Self {
        Self::Anonymous {
            email: typed.trim().chars().take(254).collect(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> ActorKind {
        match self {
            Self::User { .. } => ActorKind::User,
            Self::Anonymous { .. } => ActorKind::Anonymous,
            Self::Cli => ActorKind::Cli,
            Self::System => ActorKind::System,
        }
    }

    /// The email, for a user or a stranger.
    pub fn email(&self) -> Option<&str> {
        match self {
            Self::User { email, .. } | Self::Anonymous { email } => Some(email),
            Self::Cli | Self::System => None,
        }
    }

    /// As shown to people: the email, or `cli` or `system`.
    pub fn label(&self) -> &str {
        self.email().unwrap_or(self.kind().as_str())
    }

    /// The user's id, if a known user acted.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Rebuilds a stored record from its columns; `None` if they do not
    /// fit together (a user without an id, say).
    pub fn from_parts(
        kind: ActorKind,
        user_id: Option<UserId>,
        email: Option<String>,
    ) -> Option<Self> {
        match kind {
            ActorKind::User => Some(Self::User {
                id: user_id?,
                email: email?,
            }),
            ActorKind::Anonymous => Some(Self::Anonymous { email: email? }),
            ActorKind::Cli => Some(Self::Cli),
            ActorKind::System => Some(Self::System),
        }
    }
}

impl Serialize for ActorRecord {
    /// Serialised as its label.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_whose_email_is_system_is_still_a_user() {
        let record = ActorRecord::User {
            id: UserId::generate(),
            email: "system".into(),
        };
        assert_eq!(record.kind(), ActorKind::User);
        assert_ne!(record, ActorRecord::System);
    }

    #[test]
    fn stored_parts_round_trip() {
        let id = UserId::generate();
        for record in [
            ActorRecord::User {
                id,
                email: "a@example.org".into(),
            },
            ActorRecord::anonymous("  who@example.org "),
            ActorRecord::Cli,
            ActorRecord::System,
        ] {
            let rebuilt = ActorRecord::from_parts(
                ActorKind::parse(record.kind().as_str()).unwrap(),
                record.user_id(),
                record.email().map(str::to_owned),
            );
            assert_eq!(rebuilt, Some(record));
        }
    }

    #[test]
    fn a_user_record_without_an_id_does_not_parse() {
        assert_eq!(
            ActorRecord::from_parts(ActorKind::User, None, Some("a@example.org".into())),
            None
        );
    }
}
