//! The reminder message: plain text and HTML alternatives naming the
//! application, its client_id, the secret's name and hint, the exact expiry
//! in UTC and the days left, and the rotation workflow. Never the secret's
//! value: Tessera does not have it.

use html_escape::encode_text;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use tessera_core::store::ExpiringSecret;
use time::OffsetDateTime;
use time::macros::format_description;

/// What a reminder says, ready to render.
#[derive(Debug)]
pub struct Reminder<'a> {
    /// The secret and its application.
    pub expiring: &'a ExpiringSecret,
    /// The time of the pass that sends it.
    pub now: OffsetDateTime,
    /// Link to the management page.
    pub management_url: &'a str,
}

impl Reminder<'_> {
    /// Days from now to the expiry, rounded up (a pass a minute after the
    /// 3-week point still says 21); negative once expired, counting whole
    /// days since.
    pub fn days_left(&self) -> i64 {
        let left = self.expiring.secret.expires_at - self.now;
        if left.is_positive() {
            let whole = left.whole_days();
            if left > time::Duration::days(whole) {
                whole + 1
            } else {
                whole
            }
        } else {
            left.whole_days()
        }
    }

    fn expires_utc(&self) -> String {
        let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
        self.expiring
            .secret
            .expires_at
            .format(format)
            .unwrap_or_else(|_| self.expiring.secret.expires_at.to_string())
    }

    fn when(&self) -> String {
        let expired = self.expiring.secret.expires_at <= self.now;
        match (expired, self.days_left()) {
            (false, 0) => "today".to_owned(),
            (false, 1) => "in 1 day".to_owned(),
            (false, n) => format!("in {n} days"),
            (true, 0) => "today".to_owned(),
            (true, -1) => "1 day ago".to_owned(),
            (true, n) => format!("{} days ago", n.abs()),
        }
    }

    /// The subject line.
    pub fn subject(&self) -> String {
        let secret = &self.expiring.secret;
        let verb = if secret.expires_at <= self.now {
            "expired"
        } else {
            "expires"
        };
        format!(
            "Client secret \"{}\" of {} {verb} {}",
            secret.name.as_ref(),
            self.expiring.application_name.as_ref(),
            self.when()
        )
    }

    /// The plain-text body.
    pub fn text(&self) -> String {
        let secret = &self.expiring.secret;
        let verb = if secret.expires_at <= self.now {
            "expired on"
        } else {
            "expires on"
        };
        format!(
            "Hello,\n\n\
             The client secret \"{name}\" (it starts with {hint}) of the application {app}\n\
             (client_id {client_id}) {verb} {expires}, {when}.\n\n\
             Once it has expired, systems that use it can no longer obtain access tokens.\n\
             To replace it without interruption:\n\n\
             1. Create a new secret for the application on the management page:\n   {url}\n\
             2. Update your system to use the new secret.\n\
             3. Confirm connectivity: the new secret's \"last used\" time appears on the page.\n\
             4. Delete the old secret \"{name}\".\n\n\
             Reminders come 6 weeks, 3 weeks and 1 week before a secret expires, then every\n\
             day until it is deleted. You receive them as a credential manager of the\n\
             organisation that owns the application.\n",
            name = secret.name.as_ref(),
            hint = secret.hint,
            app = self.expiring.application_name.as_ref(),
            client_id = secret.client_id,
            expires = self.expires_utc(),
            when = self.when(),
            url = self.management_url,
        )
    }

    /// The HTML body; every value from the database is escaped.
    pub fn html(&self) -> String {
        let secret = &self.expiring.secret;
        let verb = if secret.expires_at <= self.now {
            "expired on"
        } else {
            "expires on"
        };
        let name = encode_text(secret.name.as_ref());
        let url = html_escape::encode_double_quoted_attribute(self.management_url);
        format!(
            "<!doctype html>\n<html lang=\"en\"><body style=\"font-family: sans-serif; line-height: 1.5\">\n\
             <p>Hello,</p>\n\
             <p>The client secret <strong>\u{201c}{name}\u{201d}</strong> (it starts with <code>{hint}</code>) \
             of the application <strong>{app}</strong> (client_id <code>{client_id}</code>) \
             {verb} <strong>{expires}</strong>, {when}.</p>\n\
             <p>Once it has expired, systems that use it can no longer obtain access tokens. \
             To replace it without interruption:</p>\n\
             <ol>\n\
             <li>Create a new secret for the application on the <a href=\"{url}\">management page</a>.</li>\n\
             <li>Update your system to use the new secret.</li>\n\
             <li>Confirm connectivity: the new secret\u{2019}s \u{201c}last used\u{201d} time appears on the page.</li>\n\
             <li>Delete the old secret \u{201c}{name}\u{201d}.</li>\n\
             </ol>\n\
             <p style=\"color: #555\">Reminders come 6 weeks, 3 weeks and 1 week before a secret expires, \
             then every day until it is deleted. You receive them as a credential manager of the \
             organisation that owns the application.</p>\n\
             </body></html>\n",
            hint = encode_text(&secret.hint),
            app = encode_text(self.expiring.application_name.as_ref()),
            client_id = secret.client_id,
            expires = self.expires_utc(),
            when = self.when(),
        )
    }

    /// The message from `from` to one person, `to`: recipients never see
    /// each other's addresses.
    pub fn message(&self, from: Mailbox, to: Mailbox) -> Result<Message, lettre::error::Error> {
        Message::builder()
            .from(from)
            .to(to)
            .subject(self.subject())
            .multipart(MultiPart::alternative_plain_html(self.text(), self.html()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::application::ApplicationName;
    use tessera_core::ids::{ClientId, OrganisationId, SecretId};
    use tessera_core::secret::{SecretName, SecretRecord};
    use time::Duration;
    use time::macros::datetime;

    fn expiring(name: &str) -> ExpiringSecret {
        ExpiringSecret {
            secret: SecretRecord {
                id: SecretId::generate(),
                client_id: ClientId::generate(),
                name: SecretName::parse(name).unwrap(),
                hint: "AbC".into(),
                created_at: datetime!(2026-01-01 00:00 UTC),
                created_by: tessera_core::actor::ActorRecord::Cli,
                expires_at: datetime!(2027-01-01 09:30 UTC),
                last_used_at: None,
            },
            application_name: ApplicationName::from_stored("Partner-NL-Acme-SMC".into()),
            organisation_id: OrganisationId::generate(),
        }
    }

    #[test]
    fn the_text_names_the_secret_the_application_and_the_exact_expiry() {
        let e = expiring("Secret by VM");
        let reminder = Reminder {
            expiring: &e,
            now: e.secret.expires_at - Duration::days(21),
            management_url: "https://portal.example/credentials",
        };
        let text = reminder.text();
        for needle in [
            "\"Secret by VM\"",
            "AbC",
            "Partner-NL-Acme-SMC",
            &e.secret.client_id.to_string(),
            "2027-01-01 09:30:00 UTC",
            "in 21 days",
            "https://portal.example/credentials",
            "Delete the old secret",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        assert_eq!(
            reminder.subject(),
            "Client secret \"Secret by VM\" of Partner-NL-Acme-SMC expires in 21 days"
        );
    }

    #[test]
    fn days_left_rounds_up_before_the_expiry() {
        let e = expiring("Secret");
        let reminder = Reminder {
            expiring: &e,
            now: e.secret.expires_at - Duration::days(21) + Duration::seconds(40),
            management_url: "https://portal.example",
        };
        assert_eq!(reminder.days_left(), 21);
        assert!(reminder.subject().ends_with("expires in 21 days"));
    }

    #[test]
    fn an_expired_secret_is_said_to_have_expired() {
        let e = expiring("Old");
        let reminder = Reminder {
            expiring: &e,
            now: e.secret.expires_at + Duration::days(2),
            management_url: "https://portal.example",
        };
        assert!(reminder.subject().ends_with("expired 2 days ago"));
    }

    #[test]
    fn the_html_escapes_what_people_typed() {
        let e = expiring("<script>alert(1)</script>");
        let reminder = Reminder {
            expiring: &e,
            now: e.secret.expires_at - Duration::days(7),
            management_url: "https://portal.example/?a=\"b\"",
        };
        let html = reminder.html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("a=\"b\""));
    }
}
