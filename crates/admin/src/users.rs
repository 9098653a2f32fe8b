//! Users: created and listed by administrators.

use secrecy::SecretString;
use tessera_core::audit::{AuditAction, AuditOutcome};
use tessera_core::ids::{OrganisationId, UserId};
use tessera_core::user::{Email, Role, TotpSecret, User, UserError, UserStatus, generate_password};

use crate::{Acting, Admin, AdminError, Invalid, Missing, require_administrator};

/// A user just created, with the credentials to hand over once.
#[derive(Debug)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// The generated initial password.
    pub password: SecretString,
    /// The `otpauth://` URI to enrol an authenticator.
    pub totp_uri: SecretString,
}

impl Admin {
    /// Creates a user with a generated password and TOTP secret
    /// (administrators).
    pub async fn create_user(
        &self,
        acting: &Acting,
        email: &str,
        role: Role,
        organisation_id: Option<OrganisationId>,
    ) -> Result<CreatedUser, AdminError> {
        require_administrator(acting)?;
        let email = Email::parse(email).map_err(Invalid::from)?;
        if role == Role::CredentialManager && organisation_id.is_none() {
            return Err(Invalid::from(UserError::OrganisationRequired).into());
        }
        if let Some(org) = organisation_id {
            self.store
                .organisation(org)
                .await?
                .ok_or(AdminError::NotFound(Missing::Organisation))?;
        }
        let user = User {
            id: UserId::generate(),
            email,
            role,
            organisation_id,
            // Enrolled at once: the command line hands the password and
            // TOTP URI over (invitations come with the people issue).
            status: UserStatus::Active,
            created_at: self.clock.now(),
        };
        let password = generate_password();
        let totp = TotpSecret::generate();
        let totp_uri = totp.uri(&user.email).map_err(AdminError::internal)?;
        let hash = self.hash(password.clone()).await?;
        let event = self.event(
            acting,
            user.organisation_id,
            AuditAction::UserCreated,
            user.email.as_ref().to_owned(),
            AuditOutcome::Success,
        );
        self.store.create_user(&user, &hash, &totp, &event).await?;
        Ok(CreatedUser {
            user,
            password,
            totp_uri,
        })
    }

    /// Every user, by email (administrators).
    pub async fn users(&self, acting: &Acting) -> Result<Vec<User>, AdminError> {
        require_administrator(acting)?;
        Ok(self.store.users(None).await?)
    }
}
