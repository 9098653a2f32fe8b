//! Expiry reminders: the schedule under a clock the tests move, once per
//! reminder across schedulers, the message as a real SMTP server receives
//! it, and retries through an SMTP outage.

use crate::helpers::{TestApp, free_port, spawn_app, spawn_app_on, spawn_app_with};
use mail_parser::MessageParser;
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};
use tessera_admin::Acting;
use tessera_core::application::ApplicationKind;
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::user::Role;
use tessera_server::reminders::PassReport;
use tessera_server::settings::{EmailTransport, SmtpSecurity};
use time::Duration;

/// An organisation with a credential manager and an application.
struct Partner {
    organisation: OrganisationId,
    client_id: ClientId,
    manager: String,
}

async fn partner(app: &TestApp) -> Partner {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let org = app.create_org().await;
    let application = app
        .admin
        .create_application(
            &Acting::cli(),
            org,
            "SMC",
            ApplicationKind::Partner,
            &["search-match-sandbox"],
        )
        .await
        .unwrap();
    let manager = format!("manager.{suffix}@partner.example");
    app.admin
        .create_user(&Acting::cli(), &manager, Role::CredentialManager, Some(org))
        .await
        .unwrap();
    Partner {
        organisation: org,
        client_id: application.client_id,
        manager,
    }
}

/// A secret of `partner` expiring `days` from the test clock's now; its
/// value is returned too, so tests can check it never appears in mail.
async fn secret(app: &TestApp, partner: &Partner, days: i64) -> (SecretId, String) {
    let created = app
        .admin
        .create_secret(
            &Acting::cli(),
            partner.client_id,
            "Secret by VM",
            Some(app.clock_now() + Duration::days(days)),
        )
        .await
        .unwrap();
    (created.record.id, created.secret.expose().to_owned())
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

fn subject_of(raw: &[u8]) -> String {
    MessageParser::default()
        .parse(raw)
        .unwrap()
        .subject()
        .unwrap()
        .to_owned()
}

async fn pass(app: &TestApp) -> PassReport {
    app.reminders.run_once().await.unwrap()
}

#[tokio::test]
async fn a_secret_expiring_in_50_days_gets_the_weekly_reminders_then_one_a_day() {
    let app = spawn_app().await;
    let partner = partner(&app).await;
    let (secret_id, _) = secret(&app, &partner, 50).await;

    // One pass a day (two on some days) for sixty days.
    let mut sent_on = Vec::new();
    for day in 1..=60 {
        app.clock.advance(Duration::days(1));
        let report = pass(&app).await;
        assert_eq!(report.failed, 0);
        if report.sent > 0 {
            assert_eq!(report.sent, 1, "day {day}");
            sent_on.push(day);
        }
        assert_eq!(
            pass(&app).await.sent,
            0,
            "a second pass on day {day} sends nothing"
        );
        if day == 55 {
            app.admin
                .delete_secret(&Acting::cli(), partner.client_id, secret_id)
                .await
                .unwrap();
        }
    }

    // 6 weeks, 3 weeks, 1 week before; daily from 6 days before through
    // the expiry day and after it, until the deletion on day 55.
    let mut expected = vec![8, 29, 43];
    expected.extend(44..=55);
    assert_eq!(sent_on, expected);
    let subjects: Vec<String> = eml_files(&app.outbox)
        .iter()
        .map(|f| subject_of(&std::fs::read(f).unwrap()))
        .collect();
    assert_eq!(subjects.len(), expected.len());
    for phrase in [
        "expires in 42 days",
        "expires in 21 days",
        "expires in 7 days",
        "expired today",
        "expired 5 days ago",
    ] {
        assert!(
            subjects.iter().any(|s| s.ends_with(phrase)),
            "no reminder saying {phrase:?} in {subjects:?}"
        );
    }
    assert_eq!(
        app.metric("tessera_reminders_total", &[("result", "sent")])
            .await,
        expected.len() as f64
    );
}

#[tokio::test]
async fn after_a_long_silence_only_the_latest_reminder_is_sent() {
    let app = spawn_app().await;
    let partner = partner(&app).await;
    secret(&app, &partner, 50).await;

    app.clock.advance(Duration::days(45));
    let report = pass(&app).await;

    assert_eq!(report.sent, 1);
    let files = eml_files(&app.outbox);
    assert_eq!(files.len(), 1);
    assert!(subject_of(&std::fs::read(&files[0]).unwrap()).ends_with("expires in 5 days"));
}

#[tokio::test]
async fn the_outbox_message_is_complete_and_never_holds_the_secret() {
    let app = spawn_app().await;
    let partner = partner(&app).await;
    let (_, value) = secret(&app, &partner, 20).await;
    // The 1-week point.
    app.clock.advance(Duration::days(13));
    assert_eq!(pass(&app).await.sent, 1);

    let raw = std::fs::read(&eml_files(&app.outbox)[0]).unwrap();
    check_message(&raw, &partner, &value, "expires in 7 days");
}

#[tokio::test]
async fn each_manager_gets_a_message_of_their_own_naming_no_one_else() {
    let app = spawn_app().await;
    let partner = partner(&app).await;
    let second = format!(
        "second.{}@partner.example",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    app.admin
        .create_user(
            &Acting::cli(),
            &second,
            Role::CredentialManager,
            Some(partner.organisation),
        )
        .await
        .unwrap();
    secret(&app, &partner, 20).await;
    app.clock.advance(Duration::days(13));

    assert_eq!(pass(&app).await.sent, 1, "one reminder");

    let mut recipients: Vec<Vec<String>> = eml_files(&app.outbox)
        .iter()
        .map(|file| {
            let raw = std::fs::read(file).unwrap();
            let message = MessageParser::default().parse(&raw[..]).unwrap();
            let mut named: Vec<String> = [message.to(), message.cc(), message.bcc()]
                .into_iter()
                .flatten()
                .flat_map(|addresses| addresses.iter())
                .filter_map(|a| a.address().map(str::to_owned))
                .collect();
            named.sort();
            named
        })
        .collect();
    recipients.sort();
    let mut expected = vec![vec![partner.manager.clone()], vec![second]];
    expected.sort();
    assert_eq!(
        recipients, expected,
        "one message per person, naming only them"
    );
}

/// Checks a reminder as delivered: headers, both alternatives, content.
fn check_message(raw: &[u8], partner: &Partner, secret_value: &str, when: &str) {
    assert!(
        !String::from_utf8_lossy(raw).contains(secret_value),
        "the secret value is in the message"
    );
    let message = MessageParser::default().parse(raw).unwrap();
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.address().unwrap(), partner.manager);
    assert_eq!(
        message.from().unwrap().first().unwrap().address().unwrap(),
        "no-reply@registry.example"
    );
    assert!(message.subject().unwrap().ends_with(when));
    let text = message.body_text(0).unwrap();
    let html = message.body_html(0).unwrap();
    for body in [&text, &html] {
        assert!(!body.contains(secret_value));
        assert!(body.contains(&partner.client_id.to_string()), "{body}");
        assert!(body.contains("Secret by VM"));
        assert!(body.contains("UTC"));
        assert!(body.contains("Partner-NL-Org"));
    }
    assert!(text.contains("1. Create a new secret"));
    assert!(text.contains("4. Delete the old secret"));
    assert!(html.contains("<ol>"));
}

#[tokio::test]
async fn two_schedulers_at_once_send_each_reminder_once() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a).await;
    let partner = partner(&a).await;
    for _ in 0..5 {
        secret(&a, &partner, 10).await;
    }
    a.clock.advance(Duration::days(3));
    b.clock.set(a.clock_now());

    let (ra, rb) = tokio::join!(a.reminders.run_once(), b.reminders.run_once());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());

    assert_eq!(ra.sent + rb.sent, 5, "{ra:?} {rb:?}");
    assert_eq!(eml_files(&a.outbox).len() + eml_files(&b.outbox).len(), 5);
    let (ra, rb) = tokio::join!(a.reminders.run_once(), b.reminders.run_once());
    assert_eq!(ra.unwrap().sent + rb.unwrap().sent, 0);
    let _ = partner.organisation;
}

#[tokio::test]
async fn two_remind_processes_at_once_send_each_reminder_once() {
    let app = spawn_app().await;
    let partner = partner(&app).await;
    // Created ten days ago, expiring in three days: a daily reminder is due
    // by the wall clock the processes read.
    let now = app.clock_now();
    app.clock.set(now - Duration::days(10));
    for _ in 0..3 {
        secret(&app, &partner, 13).await;
    }
    app.clock.set(now);
    let outbox = app.dir.path().join("shared-outbox");

    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["--json", "remind", "--once"])
            .current_dir(app.dir.path())
            .env("TESSERA_DATABASE_URL", app.database.url())
            .env("TESSERA_KEYS_DIR", &app.keys_dir)
            .env("TESSERA_EMAIL__OUTBOX_DIR", &outbox)
            .env("TESSERA_LOG__LEVEL", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let mut sent = 0;
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        sent += report["sent"].as_u64().unwrap();
    }
    assert_eq!(sent, 3);
    assert_eq!(eml_files(&outbox).len(), 3);
}

/// A real SMTP server on loopback (aiosmtpd), storing what it receives in a
/// maildir.
struct SmtpServer {
    child: std::process::Child,
    maildir: PathBuf,
}

impl SmtpServer {
    /// Starts one on `port`, or `None` (with a note) when aiosmtpd is not
    /// installed (`pip install aiosmtpd`; `.ci/run` installs it).
    async fn start(port: u16, dir: &Path) -> Option<Self> {
        let available = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var_os("TESSERA_TEST_REQUIRE_SMTP").is_none(),
                "TESSERA_TEST_REQUIRE_SMTP is set but aiosmtpd is not installed"
            );
            eprintln!("note: aiosmtpd is not installed (pip install aiosmtpd): SMTP test skipped");
            return None;
        }
        let maildir = dir.join("maildir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < StdDuration::from_secs(10),
                "aiosmtpd did not start"
            );
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        Some(Self { child, maildir })
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        eml_like(&self.maildir.join("new"))
    }
}

fn eml_like(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp_app(port: u16) -> TestApp {
    spawn_app_with(|s| {
        s.email.transport = EmailTransport::Smtp;
        s.email.smtp.host = "127.0.0.1".into();
        s.email.smtp.port = port;
        s.email.smtp.security = SmtpSecurity::None;
        s.email.smtp.timeout_seconds = 2;
        s.reminders.max_attempts = 3;
    })
    .await
}

#[tokio::test]
async fn a_real_smtp_server_receives_the_reminder() {
    let port = free_port();
    let app = smtp_app(port).await;
    let Some(smtp) = SmtpServer::start(port, app.dir.path()).await else {
        return;
    };
    let partner = partner(&app).await;
    let (_, value) = secret(&app, &partner, 30).await;
    app.clock.advance(Duration::days(9));

    assert_eq!(pass(&app).await.sent, 1);

    let received = smtp.messages();
    assert_eq!(received.len(), 1);
    check_message(&received[0], &partner, &value, "expires in 21 days");
}

#[tokio::test]
async fn an_smtp_outage_is_retried_recorded_as_failed_and_sent_after_recovery() {
    let port = free_port();
    let app = smtp_app(port).await;
    let partner = partner(&app).await;
    secret(&app, &partner, 30).await;
    app.clock.advance(Duration::days(9));

    // Nothing listens on the port.
    let report = pass(&app).await;
    assert_eq!((report.sent, report.failed), (0, 1));
    assert_eq!(
        app.metric("tessera_reminders_total", &[("result", "failed")])
            .await,
        1.0
    );
    assert_eq!(app.metric("tessera_reminders_due", &[]).await, 1.0);
    let failed = audit_actions(&app).await;
    assert_eq!(failed, vec!["reminder.failed"]);

    let Some(smtp) = SmtpServer::start(port, app.dir.path()).await else {
        return;
    };
    app.clock.advance(Duration::minutes(1));
    let report = pass(&app).await;
    assert_eq!((report.sent, report.failed), (1, 0));
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(app.metric("tessera_reminders_due", &[]).await, 0.0);
    assert_eq!(pass(&app).await.sent, 0, "sent once");
    assert_eq!(
        audit_actions(&app).await,
        vec!["reminder.sent", "reminder.failed"]
    );
}

/// The reminder events of the audit log, newest first, as an admin reads them.
async fn audit_actions(app: &TestApp) -> Vec<String> {
    let admin = app.create_user(Role::Admin, None).await;
    let session = app.login(&admin).await;
    let events: serde_json::Value = app
        .api_get("/api/v1/audit-events", Some(&session))
        .await
        .json()
        .await
        .unwrap();
    events["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{events}"))
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("reminder."))
        .map(str::to_owned)
        .collect()
}
