//! [`ReminderStore`]: secrets close to expiry, and the claims that make each
//! reminder go out once whatever the number of servers.
//!
//! [`ReminderStore`]: tessera_core::store::ReminderStore

use tessera_core::audit::{ActorRecord, AuditAction, AuditOutcome, NewAuditEvent};
use tessera_core::ids::{OrganisationId, SecretId};
use tessera_core::store::ReminderOutcome;
use tessera_core::store::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::{T0, TestStore, fixtures, race};

/// A stored secret to remind of, and the instant its reminder is due.
async fn due_reminder(store: &TestStore) -> (SecretId, OffsetDateTime) {
    let app = fixtures::some_application(store).await;
    let secret = fixtures::secret(store, app.client_id, T0 + Duration::days(7)).await;
    (secret.record.id, T0)
}

/// A claim made at `now` and held for a minute.
async fn claim(
    store: &TestStore,
    (secret, due_at): (SecretId, OffsetDateTime),
    holder: &str,
    now: OffsetDateTime,
) -> bool {
    store
        .claim_reminder(secret, due_at, holder, now, now + Duration::minutes(1))
        .await
        .unwrap()
}

async fn finish(
    store: &TestStore,
    (secret, due_at): (SecretId, OffsetDateTime),
    holder: &str,
    outcome: ReminderOutcome,
    now: OffsetDateTime,
) {
    store
        .finish_reminder(secret, due_at, holder, outcome, now, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn secrets_expiring_before_an_instant_come_soonest_first_with_their_application() {
    let store = TestStore::new().await;
    let acme = fixtures::organisation(&store, "Acme").await;
    let beta = fixtures::organisation(&store, "Beta").await;
    let smc = fixtures::application(&store, &acme, "SMC", &[]).await;
    let dm = fixtures::application(&store, &beta, "DM", &[]).await;
    let before = T0 + Duration::days(30);
    let later = fixtures::secret(&store, smc.client_id, T0 + Duration::days(20)).await;
    let expired = fixtures::secret(&store, dm.client_id, T0 - Duration::days(1)).await;
    let sooner = fixtures::secret(&store, dm.client_id, T0 + Duration::days(3)).await;
    // Expiring at the instant itself, or after it: not listed.
    fixtures::secret(&store, smc.client_id, before).await;
    fixtures::secret(&store, smc.client_id, T0 + Duration::days(365)).await;

    let expiring = store.secrets_expiring_before(before).await.unwrap();

    let secrets: Vec<_> = expiring.iter().map(|e| e.secret.clone()).collect();
    assert_eq!(secrets, [expired.record, sooner.record, later.record]);
    let owners: Vec<_> = expiring
        .iter()
        .map(|e| (e.application_name.clone(), e.organisation_id))
        .collect();
    assert_eq!(
        owners,
        [
            (dm.name.clone(), beta.id),
            (dm.name.clone(), beta.id),
            (smc.name.clone(), acme.id)
        ]
    );
}

#[tokio::test]
async fn a_claimed_reminder_is_refused_to_another_server_while_the_claim_holds() {
    let store = TestStore::new().await;
    let reminder = due_reminder(&store).await;

    assert!(claim(&store, reminder, "a", T0).await);
    assert!(!claim(&store, reminder, "b", T0 + Duration::seconds(59)).await);
    // Not even the holder claims it twice.
    assert!(!claim(&store, reminder, "a", T0 + Duration::seconds(1)).await);
}

#[tokio::test]
async fn each_due_point_of_a_secret_is_a_reminder_of_its_own() {
    let store = TestStore::new().await;
    let (secret, due_at) = due_reminder(&store).await;
    assert!(claim(&store, (secret, due_at), "a", T0).await);

    let next = (secret, due_at + Duration::days(6));

    assert!(claim(&store, next, "b", T0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_servers_claiming_a_reminder_at_once_exactly_one_wins() {
    let store = TestStore::new().await;
    let (secret, due_at) = due_reminder(&store).await;

    let claims = race(&store, 10, |store, i| async move {
        store
            .claim_reminder(
                secret,
                due_at,
                &format!("server-{i}"),
                T0,
                T0 + Duration::minutes(1),
            )
            .await
            .unwrap()
    })
    .await;

    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
}

#[tokio::test]
async fn a_lapsed_claim_can_be_claimed_again() {
    let store = TestStore::new().await;
    let reminder = due_reminder(&store).await;
    assert!(claim(&store, reminder, "a", T0).await);

    // The claim lapses at its `until`, a minute on.
    assert!(claim(&store, reminder, "b", T0 + Duration::minutes(1)).await);
    assert!(!claim(&store, reminder, "c", T0 + Duration::minutes(1)).await);
}

#[tokio::test]
async fn a_failed_reminder_can_be_claimed_again() {
    let store = TestStore::new().await;
    let reminder = due_reminder(&store).await;
    assert!(claim(&store, reminder, "a", T0).await);
    finish(&store, reminder, "a", ReminderOutcome::Failed, T0).await;

    // The next run, well inside the first claim's minute.
    assert!(claim(&store, reminder, "b", T0 + Duration::seconds(10)).await);
    assert!(!claim(&store, reminder, "c", T0 + Duration::seconds(20)).await);
}

#[tokio::test]
async fn a_sent_reminder_or_one_with_nobody_to_tell_is_never_claimed_again() {
    let store = TestStore::new().await;
    let sent = due_reminder(&store).await;
    let (secret, due_at) = sent;
    let nobody = (secret, due_at + Duration::days(6));
    for (reminder, outcome) in [
        (sent, ReminderOutcome::Sent),
        (nobody, ReminderOutcome::NoRecipients),
    ] {
        assert!(claim(&store, reminder, "a", T0).await);
        finish(&store, reminder, "a", outcome, T0).await;
    }

    let much_later = T0 + Duration::days(1);
    assert!(!claim(&store, sent, "b", much_later).await);
    assert!(!claim(&store, nobody, "b", much_later).await);
}

#[tokio::test]
async fn a_server_whose_claim_was_taken_over_cannot_finish_the_reminder() {
    let store = TestStore::new().await;
    let reminder = due_reminder(&store).await;
    assert!(claim(&store, reminder, "a", T0).await);
    let b_claims_at = T0 + Duration::minutes(2);
    assert!(claim(&store, reminder, "b", b_claims_at).await);

    // `a` wakes up and reports a failure for the reminder `b` now sends.
    finish(&store, reminder, "a", ReminderOutcome::Failed, b_claims_at).await;

    assert!(
        !claim(&store, reminder, "c", b_claims_at + Duration::seconds(1)).await,
        "b's claim must still hold"
    );
    finish(&store, reminder, "b", ReminderOutcome::Sent, b_claims_at).await;
    assert!(!claim(&store, reminder, "c", T0 + Duration::days(1)).await);
}

/// What Tessera records when the reminder of `secret` ended with `action`.
fn reminder_event(secret: SecretId, action: AuditAction, outcome: AuditOutcome) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: T0,
        actor: ActorRecord::System,
        organisation_id: Some(OrganisationId::generate()),
        action,
        target: Some(secret.to_string()),
        client_address: None,
        outcome,
    }
}

#[tokio::test]
async fn finishing_a_reminder_with_an_event_records_exactly_that_event() {
    let store = TestStore::new().await;
    let reminder = due_reminder(&store).await;
    assert!(claim(&store, reminder, "a", T0).await);
    let before = store.audit_log().await.len();
    let sent = reminder_event(reminder.0, AuditAction::ReminderSent, AuditOutcome::Success);

    store
        .finish_reminder(
            reminder.0,
            reminder.1,
            "a",
            ReminderOutcome::Sent,
            T0,
            Some(&sent),
        )
        .await
        .unwrap();

    assert_eq!(store.audit_log_since(before).await, [sent]);
    assert!(!claim(&store, reminder, "b", T0 + Duration::days(1)).await);
}

#[tokio::test]
async fn finishing_a_reminder_without_an_event_records_none() {
    let store = TestStore::new().await;
    let reminder = due_reminder(&store).await;
    assert!(claim(&store, reminder, "a", T0).await);
    let before = store.audit_log().await;

    finish(&store, reminder, "a", ReminderOutcome::NoRecipients, T0).await;

    assert_eq!(store.audit_log().await, before);
    assert!(!claim(&store, reminder, "b", T0 + Duration::days(1)).await);
}

#[tokio::test]
async fn a_reminder_is_not_finished_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let reminder = due_reminder(&store).await;
    assert!(claim(&store, reminder, "a", T0).await);
    let sent = reminder_event(reminder.0, AuditAction::ReminderSent, AuditOutcome::Success);

    store
        .assert_refused_without_trace(store.finish_reminder(
            reminder.0,
            reminder.1,
            "a",
            ReminderOutcome::Sent,
            T0,
            Some(&sent),
        ))
        .await;

    // Not recorded as sent: once the claim lapses, another server sends it.
    assert!(!claim(&store, reminder, "b", T0 + Duration::seconds(59)).await);
    assert!(claim(&store, reminder, "b", T0 + Duration::minutes(1)).await);
}

#[tokio::test]
async fn reminder_recipients_are_the_credential_managers_of_the_organisation_by_email() {
    let store = TestStore::new().await;
    let acme = fixtures::organisation(&store, "Acme").await;
    let beta = fixtures::organisation(&store, "Beta").await;
    let zoe = fixtures::user(&store, "zoe@acme.example", Some(&acme)).await;
    fixtures::user(&store, "admin@example.org", None).await;
    fixtures::user(&store, "bob@beta.example", Some(&beta)).await;
    let ann = fixtures::user(&store, "ann@acme.example", Some(&acme)).await;

    let of_acme = store.reminder_recipients(acme.id, false).await.unwrap();
    let of_nobody = store
        .reminder_recipients(OrganisationId::generate(), false)
        .await
        .unwrap();

    assert_eq!(of_acme, [ann, zoe]);
    assert!(of_nobody.is_empty());
}

#[tokio::test]
async fn every_admin_is_a_reminder_recipient_only_when_asked() {
    let store = TestStore::new().await;
    let acme = fixtures::organisation(&store, "Acme").await;
    let beta = fixtures::organisation(&store, "Beta").await;
    let zoe = fixtures::user(&store, "zoe@acme.example", Some(&acme)).await;
    let root = fixtures::user(&store, "root@example.org", None).await;
    fixtures::user(&store, "bob@beta.example", Some(&beta)).await;
    let admin = fixtures::user(&store, "admin@example.org", None).await;

    let without = store.reminder_recipients(acme.id, false).await.unwrap();
    let with = store.reminder_recipients(acme.id, true).await.unwrap();
    let only_admins = store
        .reminder_recipients(OrganisationId::generate(), true)
        .await
        .unwrap();

    assert_eq!(without, std::slice::from_ref(&zoe));
    assert_eq!(with, [admin.clone(), root.clone(), zoe]);
    assert_eq!(only_admins, [admin, root]);
}
