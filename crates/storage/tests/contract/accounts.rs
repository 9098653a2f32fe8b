//! [`AccountStore`]: sign-in state, sessions and the audit log; each
//! change with exactly its audit event, or not at all.
//!
//! [`AccountStore`]: tessera_core::store::AccountStore

use std::net::IpAddr;

use tessera_core::audit::{
    ActorRecord, AuditAction, AuditEvent, AuditOutcome, AuditQuery, NewAuditEvent,
};
use tessera_core::ids::{OrganisationId, SessionId, UserId};
use tessera_core::session::{LoginAttempt, Session};
use tessera_core::store::StoreError;
use tessera_core::store::prelude::*;
use tessera_core::user::{Email, TotpSecret, User};
use time::{Duration, OffsetDateTime};

use crate::{T0, TestStore, fixtures, race};

#[tokio::test]
async fn a_user_is_found_with_the_hashes_sign_in_checks() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let user = fixtures::new_user("ann@acme.example", Some(&org));
    let totp = TotpSecret::generate();
    store
        .create_user(
            &user,
            &fixtures::hash("ann"),
            &totp,
            &fixtures::event(AuditAction::UserCreated),
        )
        .await
        .unwrap();

    let found = store.user_credentials(&user.email).await.unwrap().unwrap();

    assert_eq!(found.user, user);
    assert_eq!(found.password_hash, fixtures::hash("ann"));
    assert_eq!(found.totp.expose_base32(), totp.expose_base32());
    assert_eq!(store.user(user.id).await.unwrap(), Some(user));
}

#[tokio::test]
async fn an_unknown_user_is_none_and_has_no_sign_in_state() {
    let store = TestStore::new().await;
    fixtures::user(&store, "ann@acme.example", None).await;

    let email = Email::parse("nobody@acme.example").unwrap();
    assert!(store.user_credentials(&email).await.unwrap().is_none());
    assert_eq!(store.user(UserId::generate()).await.unwrap(), None);
    let state = store.login_state(UserId::generate()).await;
    assert!(matches!(state, Err(StoreError::NotFound)), "{state:?}");
}

/// The event of `user`'s own act `action`, from a browser at 192.0.2.7.
fn by(user: &User, action: AuditAction) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: T0,
        actor: ActorRecord::User {
            id: user.id,
            email: user.email.as_ref().to_owned(),
        },
        organisation_id: user.organisation_id,
        action,
        target: Some(user.email.as_ref().to_owned()),
        client_address: Some(IpAddr::from([192, 0, 2, 7])),
        outcome: AuditOutcome::Success,
    }
}

/// What `record_login_failure` records for `user`: the failure, and the
/// lock Tessera itself makes.
fn failure_events(user: &User) -> (NewAuditEvent, NewAuditEvent) {
    let failure = NewAuditEvent {
        outcome: AuditOutcome::Failure,
        ..by(user, AuditAction::SessionFailed)
    };
    let locked = NewAuditEvent {
        actor: ActorRecord::System,
        client_address: None,
        ..by(user, AuditAction::AccountLocked)
    };
    (failure, locked)
}

/// One failed sign-in of `user` at [`T0`] with at most `max` failures
/// before a lock until `lock_until`: reserved, then recorded as failed.
/// Answers whether it locked the account (`None` if it was refused as
/// locked, uncounted).
async fn fail(
    store: &TestStore,
    user: &User,
    max: u32,
    lock_until: OffsetDateTime,
) -> Option<bool> {
    let (failure, locked) = failure_events(user);
    match store
        .reserve_login_attempt(user.id, max, T0, lock_until)
        .await
        .unwrap()
    {
        LoginAttempt::Locked => None,
        LoginAttempt::Reserved { last } => {
            store
                .record_login_failure(user.id, &failure, last.then_some((lock_until, &locked)))
                .await
                .unwrap();
            Some(last)
        }
    }
}

/// A session of `user` made at [`T0`], not yet stored.
fn new_session(user: &User) -> Session {
    Session {
        id: SessionId::generate(),
        user_id: user.id,
        created_at: T0,
        last_seen_at: T0,
    }
}

#[tokio::test]
async fn a_password_change_replaces_the_hash() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "ann-1", T0, T0).await;

    store
        .change_password(
            user.id,
            &fixtures::hash("new"),
            session.id,
            &by(&user, AuditAction::PasswordChanged),
        )
        .await
        .unwrap();

    let found = store.user_credentials(&user.email).await.unwrap().unwrap();
    assert_eq!(found.password_hash, fixtures::hash("new"));
}

#[tokio::test]
async fn failures_below_the_maximum_are_counted_without_locking() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let lock_until = T0 + Duration::minutes(15);

    for _ in 0..2 {
        assert_eq!(fail(&store, &user, 3, lock_until).await, Some(false));
    }

    let state = store.login_state(user.id).await.unwrap();
    assert_eq!(state.failed_attempts, 2);
    assert_eq!(state.locked_until, None);
}

#[tokio::test]
async fn the_failure_reaching_the_maximum_locks_the_account_and_restarts_the_count() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let lock_until = T0 + Duration::minutes(15);
    for _ in 0..2 {
        fail(&store, &user, 3, lock_until).await;
    }

    let locked = fail(&store, &user, 3, lock_until).await;

    assert_eq!(locked, Some(true));
    let state = store.login_state(user.id).await.unwrap();
    assert_eq!(state.locked_until, Some(lock_until));
    assert_eq!(state.failed_attempts, 0);
    // While locked, attempts are refused uncounted.
    assert_eq!(fail(&store, &user, 3, lock_until).await, None);
    assert_eq!(store.login_state(user.id).await.unwrap().failed_attempts, 0);
    // After the lock, the count starts again.
    let later = store
        .reserve_login_attempt(user.id, 3, lock_until, lock_until + Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(later, LoginAttempt::Reserved { last: false });
    assert_eq!(store.login_state(user.id).await.unwrap().failed_attempts, 1);
}

#[tokio::test]
async fn a_sign_in_resets_the_failure_count_and_the_lock_of_that_user_only() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let other = fixtures::user(&store, "bob@acme.example", None).await;
    let lock_until = T0 + Duration::minutes(15);
    fail(&store, &user, 1, lock_until).await;
    fail(&store, &user, 5, lock_until).await;
    fail(&store, &other, 5, lock_until).await;

    store
        .record_sign_in(
            &new_session(&user),
            &fixtures::token("ann-1"),
            &by(&user, AuditAction::SessionCreated),
        )
        .await
        .unwrap();

    let state = store.login_state(user.id).await.unwrap();
    assert_eq!((state.failed_attempts, state.locked_until), (0, None));
    assert_eq!(
        store.login_state(other.id).await.unwrap().failed_attempts,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_fifty_concurrent_attempts_exactly_the_maximum_are_reserved_and_one_is_the_last() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let lock_until = T0 + Duration::minutes(15);

    let attempts = race(&store, 50, |store, _| async move {
        store
            .reserve_login_attempt(user.id, 5, T0, lock_until)
            .await
            .unwrap()
    })
    .await;

    let reserved = attempts
        .iter()
        .filter(|a| matches!(a, LoginAttempt::Reserved { .. }))
        .count();
    let last = attempts
        .iter()
        .filter(|a| **a == LoginAttempt::Reserved { last: true })
        .count();
    assert_eq!((reserved, last), (5, 1), "{attempts:?}");
    // The last attempt holds the lock while it is checked.
    let state = store.login_state(user.id).await.unwrap();
    assert_eq!(state.locked_until, Some(lock_until));
}

#[tokio::test]
async fn a_totp_step_is_accepted_only_when_later_than_every_step_accepted_before() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let other = fixtures::user(&store, "bob@acme.example", None).await;

    assert!(store.accept_totp_step(user.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(user.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(user.id, 99).await.unwrap());
    assert!(store.accept_totp_step(user.id, 102).await.unwrap());
    assert!(!store.accept_totp_step(user.id, 101).await.unwrap());
    // Each user's steps are their own.
    assert!(store.accept_totp_step(other.id, 100).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_sign_ins_with_one_totp_step_one_is_accepted() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;

    let accepted = race(&store, 10, |store, _| async move {
        store.accept_totp_step(user.id, 1000).await.unwrap()
    })
    .await;

    assert_eq!(accepted.iter().filter(|a| **a).count(), 1, "{accepted:?}");
}

#[tokio::test]
async fn a_session_is_found_by_its_token_hash_only() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "hash-1", T0, T0).await;

    assert_eq!(
        store
            .session_by_token(&fixtures::token("hash-1"))
            .await
            .unwrap(),
        Some(session)
    );
    assert_eq!(
        store
            .session_by_token(&fixtures::token("hash-2"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn touching_a_session_records_when_it_was_last_used() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "hash-1", T0, T0).await;
    let other = fixtures::session(&store, user.id, "hash-2", T0, T0).await;

    store
        .touch_session(session.id, T0 + Duration::minutes(5))
        .await
        .unwrap();

    let touched = store
        .session_by_token(&fixtures::token("hash-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_seen_at, T0 + Duration::minutes(5));
    assert_eq!(touched.created_at, T0);
    let untouched = store
        .session_by_token(&fixtures::token("hash-2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched, other);
}

#[tokio::test]
async fn deleting_a_session_answers_whether_there_was_one() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "hash-1", T0, T0).await;

    assert!(store.delete_session(session.id).await.unwrap());
    assert!(!store.delete_session(session.id).await.unwrap());
    assert!(!store.delete_session(SessionId::generate()).await.unwrap());
    assert_eq!(
        store
            .session_by_token(&fixtures::token("hash-1"))
            .await
            .unwrap(),
        None
    );
}

/// Which of the token hashes still find a session.
async fn live(store: &TestStore, hashes: &[&str]) -> Vec<String> {
    let mut live = Vec::new();
    for hash in hashes {
        if store
            .session_by_token(&fixtures::token(hash))
            .await
            .unwrap()
            .is_some()
        {
            live.push((*hash).to_owned());
        }
    }
    live
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_of_the_user_but_the_kept_one() {
    let store = TestStore::new().await;
    let ann = fixtures::user(&store, "ann@acme.example", None).await;
    let bob = fixtures::user(&store, "bob@acme.example", None).await;
    fixtures::session(&store, ann.id, "ann-1", T0, T0).await;
    let kept = fixtures::session(&store, ann.id, "ann-2", T0, T0).await;
    fixtures::session(&store, ann.id, "ann-3", T0, T0).await;
    let bobs = fixtures::session(&store, bob.id, "bob-1", T0, T0).await;
    let all = ["ann-1", "ann-2", "ann-3", "bob-1"];
    let changed = by(&ann, AuditAction::PasswordChanged);

    store
        .change_password(ann.id, &fixtures::hash("new"), kept.id, &changed)
        .await
        .unwrap();
    assert_eq!(live(&store, &all).await, ["ann-2", "bob-1"]);

    // Keeping a session that is not the user's keeps none of theirs.
    store
        .change_password(ann.id, &fixtures::hash("newer"), bobs.id, &changed)
        .await
        .unwrap();
    assert_eq!(live(&store, &all).await, ["bob-1"]);
}

#[tokio::test]
async fn expired_sessions_are_those_idle_or_created_at_or_before_the_cutoffs() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let idle_cutoff = T0 + Duration::hours(10);
    let absolute_cutoff = T0 + Duration::hours(2);
    let late = T0 + Duration::hours(11);
    // Idle since exactly the idle cutoff.
    fixtures::session(
        &store,
        user.id,
        "idle",
        T0 + Duration::hours(5),
        idle_cutoff,
    )
    .await;
    // In use, but created at exactly the absolute cutoff.
    fixtures::session(&store, user.id, "old", absolute_cutoff, late).await;
    // A second younger and more recently used than each cutoff.
    fixtures::session(
        &store,
        user.id,
        "live",
        absolute_cutoff + Duration::seconds(1),
        idle_cutoff + Duration::seconds(1),
    )
    .await;

    let deleted = store
        .delete_expired_sessions(idle_cutoff, absolute_cutoff)
        .await
        .unwrap();

    assert_eq!(deleted, 2);
    assert_eq!(live(&store, &["idle", "old", "live"]).await, ["live"]);
}

fn event(
    minutes: i64,
    actor: ActorRecord,
    organisation_id: Option<OrganisationId>,
    action: AuditAction,
) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: T0 + Duration::minutes(minutes),
        actor,
        organisation_id,
        action,
        target: Some(format!("target-{minutes}")),
        client_address: Some(IpAddr::from([192, 0, 2, 1])),
        outcome: AuditOutcome::Success,
    }
}

async fn events(store: &TestStore, query: AuditQuery) -> Vec<AuditEvent> {
    store.audit_events(&query).await.unwrap()
}

fn query(organisation_id: Option<OrganisationId>, before: Option<i64>, limit: u32) -> AuditQuery {
    AuditQuery {
        organisation_id,
        before,
        limit,
    }
}

#[tokio::test]
async fn audit_events_come_newest_first_with_every_field_as_recorded() {
    let store = TestStore::new().await;
    let org = fixtures::organisation(&store, "Acme").await;
    let user = fixtures::user(&store, "ann@acme.example", Some(&org)).await;
    let recorded = [
        event(
            0,
            ActorRecord::User {
                id: user.id,
                email: "ann@acme.example".into(),
            },
            Some(org.id),
            AuditAction::SecretCreated,
        ),
        NewAuditEvent {
            target: None,
            client_address: None,
            outcome: AuditOutcome::Failure,
            ..event(
                1,
                ActorRecord::Anonymous {
                    email: "who@nowhere.example".into(),
                },
                None,
                AuditAction::SessionFailed,
            )
        },
        NewAuditEvent {
            client_address: Some("2001:db8::7".parse().unwrap()),
            ..event(2, ActorRecord::Cli, None, AuditAction::OrganisationCreated)
        },
        event(
            3,
            ActorRecord::System,
            Some(org.id),
            AuditAction::AccountLocked,
        ),
    ];
    // The fixtures' own writes recorded theirs before.
    let arranged = store.audit_log().await.len();
    for e in &recorded {
        store.record_audit_event(e).await.unwrap();
    }

    let listed = events(&store, query(None, None, 100)).await;

    let newest_first: Vec<_> = recorded.iter().rev().cloned().collect();
    let got: Vec<_> = listed.iter().map(|e| e.event.clone()).collect();
    assert_eq!(got[..recorded.len()], newest_first);
    assert_eq!(listed.len(), recorded.len() + arranged);
    assert!(listed.windows(2).all(|w| w[0].id > w[1].id));
}

#[tokio::test]
async fn audit_events_page_by_organisation_with_the_before_cursor_and_the_limit() {
    let store = TestStore::new().await;
    let acme = OrganisationId::generate();
    let beta = OrganisationId::generate();
    for minutes in 0..6 {
        // Acme, Beta and no organisation in turn.
        let org = [Some(acme), Some(beta), None][minutes as usize % 3];
        store
            .record_audit_event(&event(
                minutes,
                ActorRecord::Cli,
                org,
                AuditAction::ApplicationCreated,
            ))
            .await
            .unwrap();
    }
    let minutes = |events: &[AuditEvent]| -> Vec<i64> {
        events
            .iter()
            .map(|e| (e.event.occurred_at - T0).whole_minutes())
            .collect()
    };

    let first = events(&store, query(None, None, 4)).await;
    let second = events(&store, query(None, Some(first[3].id), 4)).await;
    let of_acme = events(&store, query(Some(acme), None, 100)).await;
    let acme_after = events(&store, query(Some(acme), Some(of_acme[0].id), 1)).await;
    let of_nobody = events(&store, query(Some(OrganisationId::generate()), None, 100)).await;

    assert_eq!(minutes(&first), [5, 4, 3, 2]);
    assert_eq!(minutes(&second), [1, 0]);
    assert_eq!(minutes(&of_acme), [3, 0]);
    assert_eq!(minutes(&acme_after), [0]);
    assert!(of_nobody.is_empty());
}

#[tokio::test]
async fn the_last_failure_records_the_failure_and_the_lock() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let lock_until = T0 + Duration::minutes(15);
    fail(&store, &user, 2, lock_until).await;
    let before = store.audit_log().await.len();

    assert_eq!(fail(&store, &user, 2, lock_until).await, Some(true));

    let (failure, lock) = failure_events(&user);
    assert_eq!(store.audit_log_since(before).await, [failure, lock]);
}

#[tokio::test]
async fn a_sign_in_during_the_last_attempt_lifts_the_hold_and_its_failure_does_not_lock() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let lock_until = T0 + Duration::minutes(15);
    let last = store
        .reserve_login_attempt(user.id, 1, T0, lock_until)
        .await
        .unwrap();
    assert_eq!(last, LoginAttempt::Reserved { last: true });
    store
        .record_sign_in(
            &new_session(&user),
            &fixtures::token("ann-1"),
            &by(&user, AuditAction::SessionCreated),
        )
        .await
        .unwrap();
    let before = store.audit_log().await.len();
    let (failure, lock) = failure_events(&user);

    store
        .record_login_failure(user.id, &failure, Some((lock_until, &lock)))
        .await
        .unwrap();

    assert_eq!(store.login_state(user.id).await.unwrap().locked_until, None);
    assert_eq!(store.audit_log_since(before).await, [failure]);
}

#[tokio::test]
async fn a_failure_that_does_not_lock_records_only_the_failure() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let before = store.audit_log().await.len();

    fail(&store, &user, 3, T0 + Duration::minutes(15)).await;

    let (failure, _) = failure_events(&user);
    assert_eq!(store.audit_log_since(before).await, [failure]);
}

#[tokio::test]
async fn a_sign_in_clears_a_lock_and_stores_its_session_and_exactly_its_event() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    assert_eq!(
        fail(&store, &user, 1, T0 + Duration::minutes(15)).await,
        Some(true)
    );
    let before = store.audit_log().await.len();
    let session = new_session(&user);
    let signed_in = by(&user, AuditAction::SessionCreated);

    store
        .record_sign_in(&session, &fixtures::token("ann-1"), &signed_in)
        .await
        .unwrap();

    let state = store.login_state(user.id).await.unwrap();
    assert_eq!((state.failed_attempts, state.locked_until), (0, None));
    assert_eq!(
        store
            .session_by_token(&fixtures::token("ann-1"))
            .await
            .unwrap(),
        Some(session)
    );
    assert_eq!(store.audit_log_since(before).await, [signed_in]);
}

#[tokio::test]
async fn a_password_change_records_exactly_its_event() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "ann-1", T0, T0).await;
    let before = store.audit_log().await.len();
    let changed = by(&user, AuditAction::PasswordChanged);

    store
        .change_password(user.id, &fixtures::hash("new"), session.id, &changed)
        .await
        .unwrap();

    assert_eq!(store.audit_log_since(before).await, [changed]);
    assert_eq!(live(&store, &["ann-1"]).await, ["ann-1"]);
}

#[tokio::test]
async fn ending_a_session_deletes_it_and_records_exactly_its_event() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "ann-1", T0, T0).await;
    fixtures::session(&store, user.id, "ann-2", T0, T0).await;
    let before = store.audit_log().await.len();
    let ended = by(&user, AuditAction::SessionDeleted);

    assert!(store.end_session(session.id, &ended).await.unwrap());

    assert_eq!(live(&store, &["ann-1", "ann-2"]).await, ["ann-2"]);
    assert_eq!(store.audit_log_since(before).await, [ended]);
}

#[tokio::test]
async fn ending_a_session_that_is_not_there_answers_false_and_records_no_event() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "ann-1", T0, T0).await;
    let ended = by(&user, AuditAction::SessionDeleted);
    assert!(store.end_session(session.id, &ended).await.unwrap());
    let before = store.audit_log().await;

    let again = store.end_session(session.id, &ended).await.unwrap();
    let unknown = store
        .end_session(SessionId::generate(), &ended)
        .await
        .unwrap();

    assert!(!again);
    assert!(!unknown);
    assert_eq!(store.audit_log().await, before);
}

#[tokio::test]
async fn deleting_an_expired_session_records_no_event() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "ann-1", T0, T0).await;
    let before = store.audit_log().await;

    assert!(store.delete_session(session.id).await.unwrap());

    assert_eq!(store.audit_log().await, before);
}

#[tokio::test]
async fn a_stranger_who_typed_a_kind_of_actor_is_recorded_as_a_stranger() {
    let store = TestStore::new().await;
    let recorded: Vec<_> = ["cli", "system", "user"]
        .into_iter()
        .map(|typed| NewAuditEvent {
            outcome: AuditOutcome::Failure,
            ..event(
                0,
                ActorRecord::anonymous(typed),
                None,
                AuditAction::SessionFailed,
            )
        })
        .collect();
    for e in &recorded {
        store.record_audit_event(e).await.unwrap();
    }

    assert_eq!(store.audit_log().await, recorded);
}

#[tokio::test]
async fn a_failed_sign_in_records_nothing_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    fail(&store, &user, 5, T0 + Duration::minutes(15)).await;
    let (failure, _) = failure_events(&user);

    store
        .assert_refused_without_trace(store.record_login_failure(user.id, &failure, None))
        .await;
}

#[tokio::test]
async fn the_last_failure_does_not_confirm_the_lock_when_its_events_cannot_be_recorded() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let lock_until = T0 + Duration::minutes(15);
    let held = T0 + Duration::minutes(5);
    store
        .reserve_login_attempt(user.id, 1, T0, held)
        .await
        .unwrap();
    let (failure, locked) = failure_events(&user);

    store
        .assert_refused_without_trace(store.record_login_failure(
            user.id,
            &failure,
            Some((lock_until, &locked)),
        ))
        .await;

    assert_eq!(
        store.login_state(user.id).await.unwrap().locked_until,
        Some(held)
    );
}

#[tokio::test]
async fn a_sign_in_stores_no_session_and_keeps_the_lock_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    fixtures::session(&store, user.id, "ann-1", T0, T0).await;
    // Locked.
    assert_eq!(
        fail(&store, &user, 1, T0 + Duration::minutes(15)).await,
        Some(true)
    );

    store
        .assert_refused_without_trace(store.record_sign_in(
            &new_session(&user),
            &fixtures::token("ann-2"),
            &by(&user, AuditAction::SessionCreated),
        ))
        .await;

    assert_eq!(live(&store, &["ann-1", "ann-2"]).await, ["ann-1"]);
}

#[tokio::test]
async fn a_password_is_not_changed_nor_sessions_ended_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let kept = fixtures::session(&store, user.id, "ann-1", T0, T0).await;
    fixtures::session(&store, user.id, "ann-2", T0, T0).await;
    let old = store
        .user_credentials(&user.email)
        .await
        .unwrap()
        .unwrap()
        .password_hash;

    store
        .assert_refused_without_trace(store.change_password(
            user.id,
            &fixtures::hash("new"),
            kept.id,
            &by(&user, AuditAction::PasswordChanged),
        ))
        .await;

    let found = store.user_credentials(&user.email).await.unwrap().unwrap();
    assert_eq!(found.password_hash, old);
    assert_eq!(live(&store, &["ann-1", "ann-2"]).await, ["ann-1", "ann-2"]);
}

#[tokio::test]
async fn a_session_is_not_ended_when_its_event_cannot_be_recorded() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;
    let session = fixtures::session(&store, user.id, "ann-1", T0, T0).await;

    store
        .assert_refused_without_trace(
            store.end_session(session.id, &by(&user, AuditAction::SessionDeleted)),
        )
        .await;

    assert_eq!(live(&store, &["ann-1"]).await, ["ann-1"]);
}

#[tokio::test]
async fn an_event_with_no_other_change_fails_when_it_cannot_be_recorded() {
    let store = TestStore::new().await;
    let user = fixtures::user(&store, "ann@acme.example", None).await;

    store
        .assert_refused_without_trace(
            store.record_audit_event(&by(&user, AuditAction::SessionFailed)),
        )
        .await;
}
