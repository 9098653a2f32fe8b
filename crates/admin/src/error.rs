//! [`AdminError`]: why a use case refused or failed, as an enum each
//! surface maps once (problem details for the API, a message beside the
//! field for the web page, an exit code for the command line).

use std::fmt;
use tessera_core::application::ApplicationError;
use tessera_core::organisation::OrganisationError;
use tessera_core::secret::SecretError;
use tessera_core::session::PasswordPolicyError;
use tessera_core::store::StoreError;
use tessera_core::user::UserError;

/// A cause kept for the log, never shown.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Nothing the actor may see has this id.
    #[error("{0} not found")]
    NotFound(Missing),
    /// The actor's role may not do this.
    #[error("only admins may do this")]
    Forbidden,
    /// An input breaks a rule.
    #[error("{0}")]
    Invalid(Invalid),
    /// The change conflicts with what is stored.
    #[error("{0}")]
    Conflict(Conflict),
    /// Too many attempts: the client address is past its failure limit,
    /// the account is locked, or every password-check place is taken.
    #[error("too many attempts; try again in {retry_after_seconds} seconds")]
    TooManyAttempts {
        /// How long to wait before trying again.
        retry_after_seconds: u64,
    },
    /// The database cannot be reached; the cause is logged, never shown.
    #[error("the database is unavailable")]
    Unavailable(#[source] Cause),
    /// Something else failed; the cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl AdminError {
    /// Wraps a failure that is ours, not the caller's.
    pub(crate) fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    /// A store error, where a missing record means `missing`.
    pub(crate) fn store(e: StoreError, missing: Missing) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound(missing),
            other => other.into(),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict("email") => Self::Conflict(Conflict::Taken(Field::Email)),
            StoreError::Conflict(_) => Self::Conflict(Conflict::Taken(Field::Name)),
            StoreError::NotFound => Self::NotFound(Missing::Record),
            StoreError::SecretLimitReached => Self::Conflict(Conflict::SecretLimit),
            StoreError::Database(_) => Self::Unavailable(Box::new(e)),
            StoreError::Corrupt(_) => Self::Internal(Box::new(e)),
        }
    }
}

impl From<Invalid> for AdminError {
    fn from(e: Invalid) -> Self {
        Self::Invalid(e)
    }
}

/// What was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An organisation.
    Organisation,
    /// An application.
    Application,
    /// A client secret.
    Secret,
    /// A signing key.
    SigningKey,
    /// A record that vanished while the change was made.
    Record,
}

impl Missing {
    /// The word for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Organisation => "organisation",
            Self::Application => "application",
            Self::Secret => "secret",
            Self::SigningKey => "signing key",
            Self::Record => "record",
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input field a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// A name (organisation or secret).
    Name,
    /// A country code.
    Country,
    /// The organisation an application or user belongs to.
    OrganisationId,
    /// An application's API code.
    Api,
    /// An application's kind.
    Kind,
    /// An application's permissions.
    Permissions,
    /// A secret's expiry.
    ExpiresAt,
    /// A user's email.
    Email,
    /// A user's role.
    Role,
    /// The password in use, when changing it.
    CurrentPassword,
    /// A new password.
    NewPassword,
    /// How many records to list.
    Limit,
}

impl Field {
    /// The field's name in requests, such as `expires_at`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Country => "country",
            Self::OrganisationId => "organisation_id",
            Self::Api => "api",
            Self::Kind => "kind",
            Self::Permissions => "permissions",
            Self::ExpiresAt => "expires_at",
            Self::Email => "email",
            Self::Role => "role",
            Self::CurrentPassword => "current_password",
            Self::NewPassword => "new_password",
            Self::Limit => "limit",
        }
    }
}

/// An input that breaks a rule, with the domain's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// An organisation's name or country.
    #[error(transparent)]
    Organisation(#[from] OrganisationError),
    /// An application's API code, kind or permissions.
    #[error(transparent)]
    Application(#[from] ApplicationError),
    /// A secret's name or expiry.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A user's email, role or organisation.
    #[error(transparent)]
    User(#[from] UserError),
    /// A new password breaks the password rules.
    #[error(transparent)]
    Password(#[from] PasswordPolicyError),
    /// The current password given is wrong.
    #[error("current_password is not correct")]
    WrongCurrentPassword,
    /// A page size outside 1 to the maximum.
    #[error("limit must be 1 to {max}")]
    Limit {
        /// The largest page.
        max: u32,
    },
}

impl Invalid {
    /// The field the refusal is about.
    pub fn field(&self) -> Field {
        match self {
            Self::Organisation(OrganisationError::InvalidName) => Field::Name,
            Self::Organisation(OrganisationError::InvalidCountry) => Field::Country,
            Self::Application(ApplicationError::InvalidApi) => Field::Api,
            Self::Application(ApplicationError::InvalidKind) => Field::Kind,
            Self::Application(
                ApplicationError::UnknownResource(_)
                | ApplicationError::PartnerAlternativePermission(_)
                | ApplicationError::ResourceServerPermission(_),
            ) => Field::Permissions,
            Self::Secret(SecretError::InvalidName) => Field::Name,
            Self::Secret(SecretError::ExpiryInPast | SecretError::ExpiryTooLate { .. }) => {
                Field::ExpiresAt
            }
            Self::User(UserError::InvalidEmail) => Field::Email,
            Self::User(UserError::InvalidRole) => Field::Role,
            Self::User(UserError::OrganisationRequired | UserError::Totp(_)) => {
                Field::OrganisationId
            }
            Self::Password(_) => Field::NewPassword,
            Self::WrongCurrentPassword => Field::CurrentPassword,
            Self::Limit { .. } => Field::Limit,
        }
    }
}

/// A change that conflicts with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A unique value (a name, an email) is taken.
    #[error("{} is already taken", .0.as_str())]
    Taken(Field),
    /// The application already holds the most secrets it may.
    #[error("an application may hold at most 5 secrets; delete one first")]
    SecretLimit,
}
