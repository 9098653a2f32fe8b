//! The forms and query strings of the web page as submitted, read by
//! `axum-extra`'s `Form` and `Query` (which keep repeated fields such as
//! `permission`), and the typed values the use cases take.
//!
//! Every field defaults to empty: a missing field is refused by the use
//! case's rule for that field, in the same words as an empty one.

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tessera_admin::{Field, Invalid};
use tessera_core::application::ApplicationKind;
use tessera_core::ids::OrganisationId;
use tessera_core::secret::one_calendar_year_after;
use tessera_core::user::Role;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::error::Refused;

fn no_secret() -> SecretString {
    SecretString::from("")
}

/// `POST /sign-in`.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    /// The double-submit token, matched against its cookie.
    #[serde(default)]
    pub csrf: String,
    /// The email typed.
    #[serde(default)]
    pub email: String,
    /// The password typed.
    #[serde(default = "no_secret")]
    pub password: SecretString,
    /// The code of the authenticator app.
    #[serde(default = "no_secret")]
    pub totp_code: SecretString,
}

impl SignInForm {
    /// The code without the spaces a person may type around it.
    pub fn totp_code(&self) -> SecretString {
        SecretString::from(self.totp_code.expose_secret().trim().to_owned())
    }
}

/// A form that carries nothing but its CSRF token (signing out, deleting a
/// secret).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    /// The CSRF token.
    pub csrf: Option<String>,
}

/// `POST /applications/{client_id}/secrets`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecretForm {
    /// The CSRF token.
    pub csrf: Option<String>,
    /// The secret's name.
    pub name: String,
    /// The expiry date, `YYYY-MM-DD` (UTC).
    pub expires_on: Option<String>,
}

impl SecretForm {
    /// The expiry asked for: none (the default) for no date or the default
    /// date (exactly one year ahead), else that day at the current time of
    /// day.
    pub fn expires_at(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, Refused> {
        match self.expires_on.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => expiry_of(raw, now).ok_or(Refused::Unreadable(Field::ExpiresAt)),
        }
    }
}

/// The expiry a date in the form stands for; `None` when it is no date.
fn expiry_of(raw: &str, now: OffsetDateTime) -> Option<Option<OffsetDateTime>> {
    let date = Date::parse(raw, format_description!("[year]-[month]-[day]")).ok()?;
    if date == one_calendar_year_after(now).date() {
        Some(None)
    } else {
        Some(Some(now.replace_date(date)))
    }
}

/// `POST /organisations`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrganisationForm {
    /// The CSRF token.
    pub csrf: Option<String>,
    /// The name typed.
    pub name: String,
    /// The country code typed.
    pub country: String,
}

/// `POST /applications`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApplicationForm {
    /// The CSRF token.
    pub csrf: Option<String>,
    /// The organisation chosen.
    pub organisation_id: String,
    /// The API code typed.
    pub api: String,
    /// The kind chosen; empty means `partner`.
    pub kind: String,
    /// The permissions checked, one `permission` field each.
    #[serde(rename = "permission")]
    pub permissions: Vec<String>,
}

impl ApplicationForm {
    /// The organisation chosen.
    pub fn organisation_id(&self) -> Result<OrganisationId, Refused> {
        organisation_id(&self.organisation_id)
    }

    /// The kind chosen, `partner` when none.
    pub fn kind(&self) -> Result<ApplicationKind, Refused> {
        match self.kind.trim() {
            "" => Ok(ApplicationKind::Partner),
            kind => ApplicationKind::parse(kind).map_err(|e| Invalid::from(e).into()),
        }
    }
}

/// `POST /users`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserForm {
    /// The CSRF token.
    pub csrf: Option<String>,
    /// The email typed.
    pub email: String,
    /// The role chosen.
    pub role: String,
    /// The organisation chosen; empty for none (admins).
    pub organisation_id: String,
}

impl UserForm {
    /// The role chosen.
    pub fn role(&self) -> Result<Role, Refused> {
        Role::parse(self.role.trim()).map_err(|e| Invalid::from(e).into())
    }

    /// The organisation chosen, if any.
    pub fn organisation_id(&self) -> Result<Option<OrganisationId>, Refused> {
        match self.organisation_id.trim() {
            "" => Ok(None),
            raw => organisation_id(raw).map(Some),
        }
    }
}

fn organisation_id(raw: &str) -> Result<OrganisationId, Refused> {
    raw.trim()
        .parse()
        .map_err(|_| Refused::Unreadable(Field::OrganisationId))
}

/// The query string of a page shown after a redirect: `?notice=<code>`,
/// `?signed-out` (a key without a value, hence pairs rather than a struct).
#[derive(Debug, Default)]
pub struct PageQuery(Vec<(String, String)>);

impl PageQuery {
    /// The query of `uri`; a query that cannot be read counts as none.
    pub fn of(uri: &axum::http::Uri) -> Self {
        axum_extra::extract::Query::try_from_uri(uri)
            .map(|axum_extra::extract::Query(pairs)| Self(pairs))
            .unwrap_or_default()
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the user has just signed out.
    pub fn signed_out(&self) -> bool {
        self.get("signed-out").is_some()
    }

    /// What a `?notice=` after a redirect says. Only known codes are shown,
    /// so a crafted link cannot put text on the page.
    pub fn notice(&self) -> Option<&'static str> {
        match self.get("notice")? {
            "secret-deleted" => Some(
                "The secret was deleted. Every server refuses token requests with it from now on.",
            ),
            "application-created" => {
                Some("Application created. It has no secret yet: create one to hand over.")
            }
            "organisation-created" => Some("Organisation created."),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn secret_form(expires_on: &str) -> SecretForm {
        SecretForm {
            expires_on: Some(expires_on.to_owned()),
            ..SecretForm::default()
        }
    }

    #[test]
    fn the_default_date_means_the_default_expiry() {
        let now = datetime!(2026-03-10 14:00 UTC);
        assert_eq!(secret_form("2027-03-10").expires_at(now), Ok(None));
        assert_eq!(secret_form("").expires_at(now), Ok(None));
        assert_eq!(
            secret_form("2026-04-01").expires_at(now),
            Ok(Some(datetime!(2026-04-01 14:00 UTC)))
        );
        assert_eq!(
            secret_form("tomorrow").expires_at(now),
            Err(Refused::Unreadable(Field::ExpiresAt))
        );
    }

    #[test]
    fn only_known_notices_are_shown() {
        let query = |q: &str| PageQuery::of(&format!("/x?{q}").parse().unwrap());
        assert!(query("notice=secret-deleted").notice().is_some());
        assert_eq!(query("notice=%3Cscript%3E").notice(), None);
        assert_eq!(query("").notice(), None);
        assert!(query("signed-out").signed_out());
        assert!(!query("notice=secret-deleted").signed_out());
        assert!(query("notice=a&notice=b").notice().is_none());
    }

    #[test]
    fn an_application_form_keeps_every_permission_and_defaults_to_partner() {
        let form: ApplicationForm =
            serde_html_form_like("organisation_id=x&api=SMC&permission=a&permission=b");
        assert_eq!(form.permissions, ["a", "b"]);
        assert_eq!(form.kind(), Ok(ApplicationKind::Partner));
        assert_eq!(
            form.organisation_id(),
            Err(Refused::Unreadable(Field::OrganisationId))
        );
    }

    /// Reads a query string as `axum-extra` reads a form body.
    fn serde_html_form_like<T: serde::de::DeserializeOwned + Default>(q: &str) -> T {
        axum_extra::extract::Query::<T>::try_from_uri(&format!("/x?{q}").parse().unwrap())
            .unwrap()
            .0
    }
}
