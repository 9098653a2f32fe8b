//! How a refusal reads on the web page, decided once for the whole surface.
//!
//! - [`WebError`]: the request is not answered with its page: go and sign
//!   in, a refused CSRF token, or a plain error page (404, 403, 5xx…). Every
//!   [`AdminError`] that is not about a form field becomes one here.
//! - [`Refused`]: a form submission whose value breaks a rule, is taken, or
//!   cannot be read. The form is shown again with a message in plain words
//!   beside that field ([`Refused::message`]) and everything else the user
//!   typed kept. It never shows the API's wording, field names or codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::FormRejection;
use axum_extra::extract::cookie::CookieJar;
use std::borrow::Cow;
use tessera_admin::{AdminError, Conflict, Field, Invalid, Missing};
use tessera_core::application::ApplicationError;
use tessera_core::organisation::OrganisationError;
use tessera_core::secret::SecretError;
use tessera_core::session::PasswordPolicyError;
use tessera_core::user::UserError;

use crate::pages;
use crate::session::{SiteCookie, removal};

/// What an error page says for any server-side failure.
const OUR_SIDE: &str = "Something went wrong on our side. Please try again in a moment.";

/// Why a web request is not answered with its page.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in, or the session ended: go to the sign-in page.
    SignIn {
        /// Whether to remove a stale session cookie.
        clear: bool,
        /// Whether the site is HTTPS, which names the cookie.
        secure: bool,
    },
    /// The form's CSRF token is missing or wrong: nothing was changed.
    Csrf,
    /// An error page with this status and message.
    Page(StatusCode, Cow<'static, str>),
}

impl WebError {
    /// 404, the same for what does not exist and what the user may not see.
    pub fn not_found() -> Self {
        Self::Page(StatusCode::NOT_FOUND, "There is no such page.".into())
    }
}

impl From<AdminError> for WebError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(_) => Self::not_found(),
            AdminError::Forbidden => Self::Page(
                StatusCode::FORBIDDEN,
                "Only admins may open this page.".into(),
            ),
            // A form shows these beside its field (see `Refused`); a page
            // that is not a form has no field to show them by.
            AdminError::Invalid(invalid) => {
                let refused = Refused::Rule(invalid);
                Self::Page(refused.status(), refused.message())
            }
            AdminError::Conflict(conflict) => {
                let refused = Refused::from(conflict);
                Self::Page(refused.status(), refused.message())
            }
            AdminError::TooManyAttempts {
                retry_after_seconds,
            } => Self::Page(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many attempts. Wait {} and try again.",
                    plain_seconds(retry_after_seconds)
                )
                .into(),
            ),
            AdminError::Unavailable(cause) => {
                tracing::debug!(error = %cause, "web request needs the database, which is unavailable");
                Self::Page(StatusCode::SERVICE_UNAVAILABLE, OUR_SIDE.into())
            }
            AdminError::Internal(cause) => {
                tracing::error!(error = %cause, "web request failed");
                Self::Page(StatusCode::INTERNAL_SERVER_ERROR, OUR_SIDE.into())
            }
        }
    }
}

impl From<FormRejection> for WebError {
    fn from(rejection: FormRejection) -> Self {
        use axum::extract::rejection::RawFormRejection;
        let message = match &rejection {
            FormRejection::RawFormRejection(RawFormRejection::InvalidFormContentType(_)) => {
                "This address takes a form."
            }
            FormRejection::RawFormRejection(_) => {
                "The form could not be read; it may be too large."
            }
            _ => "The form could not be read.",
        };
        Self::Page(rejection.status(), message.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { clear, secure } => {
                let redirect = Redirect::to("/sign-in");
                if clear {
                    let removal = removal(SiteCookie::Session, secure);
                    (CookieJar::new().add(removal), redirect).into_response()
                } else {
                    redirect.into_response()
                }
            }
            Self::Csrf => pages::error_page(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again.",
            )
            .into_response(),
            Self::Page(status, message) => pages::error_page(status, &message).into_response(),
        }
    }
}

/// Why a form submission was refused, about one of its fields (or, for a
/// full application, the whole form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A value breaks a rule of the use cases.
    Rule(Invalid),
    /// A value that must be unique is taken.
    Taken(Field),
    /// A value the page itself could not read (a date, an id).
    Unreadable(Field),
    /// The organisation chosen no longer exists.
    MissingOrganisation,
    /// The application already holds the most secrets it may.
    SecretLimit,
}

impl From<Conflict> for Refused {
    fn from(conflict: Conflict) -> Self {
        match conflict {
            Conflict::Taken(field) => Self::Taken(field),
            Conflict::SecretLimit => Self::SecretLimit,
        }
    }
}

impl From<Invalid> for Refused {
    fn from(invalid: Invalid) -> Self {
        Self::Rule(invalid)
    }
}

impl Refused {
    /// The refusal a form shows of a use case's error, or the error page
    /// for anything that is not about what was typed.
    pub fn of(e: AdminError) -> Result<Self, WebError> {
        match e {
            AdminError::Invalid(invalid) => Ok(Self::Rule(invalid)),
            AdminError::Conflict(conflict) => Ok(conflict.into()),
            AdminError::NotFound(Missing::Organisation) => Ok(Self::MissingOrganisation),
            other => Err(other.into()),
        }
    }

    /// The field the message belongs beside, if any.
    pub fn field(&self) -> Option<Field> {
        match self {
            Self::Rule(invalid) => Some(invalid.field()),
            Self::Taken(field) | Self::Unreadable(field) => Some(*field),
            Self::MissingOrganisation => Some(Field::OrganisationId),
            Self::SecretLimit => None,
        }
    }

    /// The answer's status: what the management API answers for the same.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Rule(_) | Self::Unreadable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Taken(_) | Self::SecretLimit => StatusCode::CONFLICT,
            Self::MissingOrganisation => StatusCode::NOT_FOUND,
        }
    }

    /// What the page says, in plain words: what to do, with an example
    /// where one helps. Never a field name or the API's wording.
    pub fn message(&self) -> Cow<'static, str> {
        let plain = match self {
            Self::Rule(invalid) => match invalid {
                Invalid::Organisation(OrganisationError::InvalidName) => {
                    "Use 1 to 64 letters and digits, without spaces, such as OrganisationName."
                }
                Invalid::Organisation(OrganisationError::InvalidCountry) => {
                    "Use a two-letter country code, such as NL."
                }
                Invalid::Application(ApplicationError::InvalidApi) => {
                    "Use 2 to 5 capital letters, such as SMC."
                }
                Invalid::Application(ApplicationError::InvalidKind) => {
                    "Choose a kind from the list."
                }
                Invalid::Application(ApplicationError::UnknownResource(_)) => {
                    "Choose permissions from the list."
                }
                Invalid::Application(ApplicationError::PartnerAlternativePermission(_)) => {
                    "A partner-alternative application may hold only Match-Connect sandbox."
                }
                Invalid::Application(ApplicationError::ResourceServerPermission(_)) => {
                    "A resource server holds no permissions: leave them all unticked."
                }
                Invalid::Secret(SecretError::InvalidName) => {
                    "Give the secret a name of 1 to 100 characters, such as Secret by VM."
                }
                Invalid::Secret(SecretError::ExpiryInPast) => "Choose a date in the future.",
                Invalid::Secret(SecretError::ExpiryTooLate { max }) => {
                    // `max` is RFC 3339; its first ten characters are the day.
                    let day = max.get(..10).unwrap_or(max);
                    return format!("Choose a date at most one year ahead: {day} or earlier.")
                        .into();
                }
                Invalid::User(UserError::InvalidEmail) => {
                    "Enter an email address, such as name@example.org."
                }
                Invalid::User(UserError::InvalidRole) => "Choose a role from the list.",
                Invalid::User(UserError::OrganisationRequired) => {
                    "Choose the organisation this credential manager belongs to."
                }
                Invalid::User(UserError::Totp(_)) => {
                    "The new user's authenticator could not be set up. Please try again."
                }
                Invalid::Password(PasswordPolicyError::TooShort) => "Use at least 12 characters.",
                Invalid::Password(PasswordPolicyError::TooLong) => "Use at most 256 characters.",
                Invalid::Password(PasswordPolicyError::Unchanged) => {
                    "Choose a password other than your current one."
                }
                Invalid::Password(PasswordPolicyError::Common) => {
                    "This password is one of the most commonly used, so it is guessed first. Choose another; a few unrelated words make a good one."
                }
                Invalid::Password(PasswordPolicyError::Email) => {
                    "Choose a password other than your email address."
                }
                Invalid::WrongCurrentPassword => "This is not your current password.",
                Invalid::Limit { max } => {
                    return format!("Choose a number from 1 to {max}.").into();
                }
            },
            Self::Taken(Field::Name) => "This name is already taken.",
            Self::Taken(Field::Email) => "A user with this email already exists.",
            // An application's name is derived from its organisation and API.
            Self::Taken(Field::Api) => "This organisation already has an application for this API.",
            Self::Taken(_) => "This is already taken.",
            Self::Unreadable(Field::ExpiresAt) => "Enter a date such as 2027-01-31.",
            Self::Unreadable(Field::OrganisationId) => "Choose an organisation from the list.",
            Self::Unreadable(Field::Kind) => "Choose a kind from the list.",
            Self::Unreadable(Field::Role) => "Choose a role from the list.",
            Self::Unreadable(_) => "Check this value.",
            Self::MissingOrganisation => {
                "This organisation no longer exists. Choose another one from the list."
            }
            Self::SecretLimit => {
                "This application already holds 5 secrets, the most allowed. Delete one to create another."
            }
        };
        plain.into()
    }
}

/// "1 second", "40 seconds", "15 minutes": a wait in plain words.
fn plain_seconds(seconds: u64) -> String {
    match seconds {
        1 => "1 second".to_owned(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_message_reads_like_the_api() {
        let refusals = [
            Refused::Rule(OrganisationError::InvalidName.into()),
            Refused::Rule(OrganisationError::InvalidCountry.into()),
            Refused::Rule(ApplicationError::InvalidApi.into()),
            Refused::Rule(ApplicationError::InvalidKind.into()),
            Refused::Rule(ApplicationError::UnknownResource("x_y".into()).into()),
            Refused::Rule(ApplicationError::PartnerAlternativePermission("x_y".into()).into()),
            Refused::Rule(ApplicationError::ResourceServerPermission("x_y".into()).into()),
            Refused::Rule(SecretError::InvalidName.into()),
            Refused::Rule(SecretError::ExpiryInPast.into()),
            Refused::Rule(
                SecretError::ExpiryTooLate {
                    max: "2027-03-10T14:00:00Z".into(),
                }
                .into(),
            ),
            Refused::Rule(UserError::InvalidEmail.into()),
            Refused::Rule(UserError::InvalidRole.into()),
            Refused::Rule(UserError::OrganisationRequired.into()),
            Refused::Rule(UserError::Totp("x_y".into()).into()),
            Refused::Rule(PasswordPolicyError::TooShort.into()),
            Refused::Rule(Invalid::WrongCurrentPassword),
            Refused::Rule(Invalid::Limit { max: 500 }),
            Refused::Taken(Field::Name),
            Refused::Taken(Field::OrganisationId),
            Refused::Unreadable(Field::ExpiresAt),
            Refused::Unreadable(Field::CurrentPassword),
            Refused::MissingOrganisation,
            Refused::SecretLimit,
        ];
        for refused in refusals {
            let message = refused.message();
            assert!(
                !message.contains('`') && !message.contains('_'),
                "{message}"
            );
            assert!(
                message.starts_with(char::is_uppercase) && message.ends_with('.'),
                "{message}"
            );
        }
    }

    #[test]
    fn a_date_too_late_names_the_latest_day() {
        let refused = Refused::Rule(
            SecretError::ExpiryTooLate {
                max: "2027-03-10T14:00:00Z".into(),
            }
            .into(),
        );
        assert_eq!(
            refused.message(),
            "Choose a date at most one year ahead: 2027-03-10 or earlier."
        );
        assert_eq!(refused.field(), Some(Field::ExpiresAt));
    }
}
