//! Sessions of people signed in to the management API, and the rules of
//! signing in: TOTP steps, lockout after repeated failures, and how long a
//! session lives.
//!
//! A session token is 256 random bits handed to the user once; storage
//! keeps only its SHA-256. A token that random cannot be guessed, so a fast
//! hash is enough (argon2 protects low-entropy passwords, not this).

use crate::ids::{SessionId, UserId};
use crate::user::{Email, TotpSecret};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

/// Random bytes in a session token (256 bits).
pub const SESSION_TOKEN_BYTES: usize = 32;
/// Length of a TOTP time step, in seconds (RFC 6238's default).
pub const TOTP_STEP_SECONDS: i64 = 30;
/// Shortest password a user may choose.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (argon2 cost grows with length).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A session token in plain form: redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct SessionToken(SecretString);

impl SessionToken {
    /// A new token of 256 random bits from the OS CSPRNG, URL-safe base64.
    pub fn generate() -> Self {
        let mut bytes = zeroize::Zeroizing::new([0u8; SESSION_TOKEN_BYTES]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// Wraps a token a client presented.
    pub fn presented(s: &str) -> Self {
        Self(SecretString::from(s.to_owned()))
    }

    /// The token's text; call only to hand it to its owner.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The SHA-256 of the token, which is all that storage keeps.
    pub fn hash(&self) -> SessionTokenHash {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.expose().as_bytes());
        SessionTokenHash(URL_SAFE_NO_PAD.encode(digest.as_ref()))
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([REDACTED])")
    }
}

/// SHA-256 of a session token, base64url: the key sessions are found by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionTokenHash(String);

impl SessionTokenHash {
    /// Rebuilds a hash read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The hash as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signed-in user's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Identifier (not the token).
    pub id: SessionId,
    /// Who signed in.
    pub user_id: UserId,
    /// When the user signed in.
    pub created_at: OffsetDateTime,
    /// The last request made with it.
    pub last_seen_at: OffsetDateTime,
}

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout: Duration,
}

impl SessionPolicy {
    /// When `session` ends if it is not used again.
    pub fn expires_at(&self, session: &Session) -> OffsetDateTime {
        (session.last_seen_at + self.idle_timeout).min(session.created_at + self.absolute_timeout)
    }

    /// Whether `session` is still usable at `now`.
    pub fn is_live(&self, session: &Session, now: OffsetDateTime) -> bool {
        now < self.expires_at(session)
    }
}

/// When repeated failed sign-ins lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Consecutive failures that lock the account.
    pub max_failed_attempts: u32,
    /// How long the lock lasts.
    pub lockout: Duration,
}

/// What a sign-in attempt may do, as reserved before its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Counted; `last` when it is the last before the lock, so the account
    /// stays locked unless it succeeds.
    Reserved {
        /// The attempt that reached the limit.
        last: bool,
    },
    /// The account is locked: refused unchecked, not counted.
    Locked,
}

/// A user's sign-in state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginState {
    /// Consecutive failed sign-ins since the last success or lock.
    pub failed_attempts: u32,
    /// Locked until this instant, if locked.
    pub locked_until: Option<OffsetDateTime>,
}

impl LoginState {
    /// Whether the account is locked at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

/// The TOTP time step (RFC 6238 `T`) that `code` matches at `now`, trying
/// the current step and one on either side for clock skew. The caller must
/// still refuse a step at or before the last one accepted, so that a code
/// works once only.
pub fn matching_totp_step(
    secret: &TotpSecret,
    account: &Email,
    code: &str,
    now: OffsetDateTime,
) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = secret.totp(account).ok()?;
    let current = now.unix_timestamp().div_euclid(TOTP_STEP_SECONDS);
    [current - 1, current, current + 1]
        .into_iter()
        .filter(|step| *step >= 0)
        .find(|step| {
            let at = u64::try_from(step * TOTP_STEP_SECONDS).unwrap_or(0);
            // Compare in constant time: the code is a credential.
            constant_time_eq(totp.generate(at).as_bytes(), code.as_bytes())
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Too short.
    #[error("new_password must be at least 12 characters")]
    TooShort,
    /// Too long.
    #[error("new_password must be at most 256 characters")]
    TooLong,
    /// The same as the current one.
    #[error("new_password must differ from the current password")]
    Unchanged,
    /// Among the passwords most often used, which are guessed first.
    #[error("new_password is one of the most commonly used passwords; choose another")]
    Common,
    /// The account's own email, or the part before its `@`.
    #[error("new_password must not be your email address")]
    Email,
}

/// The most common passwords of at least [`MIN_PASSWORD_CHARS`] characters,
/// in lower case, sorted: those of the "10 million passwords" list's top
/// million long enough to pass the length rule (see `data/README.md`).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// [`COMMON_PASSWORDS`] as a sorted list, made on first use.
static COMMON_PASSWORD_LIST: std::sync::LazyLock<Vec<&str>> =
    std::sync::LazyLock::new(|| COMMON_PASSWORDS.lines().collect());

/// Whether `password`, in any case, is on the list of common passwords.
fn is_common(password: &str) -> bool {
    COMMON_PASSWORD_LIST
        .binary_search(&password.to_lowercase().as_str())
        .is_ok()
}

/// Checks a new password against the policy (NIST SP 800-63B: a length
/// rule, no composition rules, and a refusal of common passwords and of
/// the account's own name), for the account `email`.
pub fn check_new_password(
    current: &str,
    new: &str,
    email: &Email,
) -> Result<(), PasswordPolicyError> {
    let len = new.chars().count();
    if len < MIN_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooShort);
    }
    if len > MAX_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooLong);
    }
    let email = email.as_ref();
    let local_part = email.split('@').next().unwrap_or(email);
    if new.eq_ignore_ascii_case(email) || new.eq_ignore_ascii_case(local_part) {
        return Err(PasswordPolicyError::Email);
    }
    if is_common(new) {
        return Err(PasswordPolicyError::Common);
    }
    if current == new {
        return Err(PasswordPolicyError::Unchanged);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn session_tokens_are_256_bits_and_hash_stably() {
        let token = SessionToken::generate();
        assert_eq!(token.expose().len(), 43);
        assert_eq!(token.hash(), SessionToken::presented(token.expose()).hash());
        assert_ne!(token.hash(), SessionToken::generate().hash());
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn session_ends_at_idle_or_absolute_timeout_whichever_first() {
        let policy = SessionPolicy {
            idle_timeout: Duration::minutes(30),
            absolute_timeout: Duration::hours(12),
        };
        let start = datetime!(2026-01-01 8:00 UTC);
        let mut session = Session {
            id: SessionId::generate(),
            user_id: UserId::generate(),
            created_at: start,
            last_seen_at: start,
        };
        assert_eq!(policy.expires_at(&session), start + Duration::minutes(30));
        session.last_seen_at = start + Duration::hours(11) + Duration::minutes(50);
        assert_eq!(policy.expires_at(&session), start + Duration::hours(12));
        assert!(!policy.is_live(&session, start + Duration::hours(12)));
    }

    #[test]
    fn totp_accepts_one_step_of_skew_but_not_two() {
        let email = Email::parse("vm@example.org").unwrap();
        let secret = TotpSecret::generate();
        let totp = secret.totp(&email).unwrap();
        let now = datetime!(2026-01-01 8:00:15 UTC);
        let step = now.unix_timestamp() / 30;
        let code_at = |s: i64| totp.generate(u64::try_from(s * 30).unwrap());
        assert_eq!(
            matching_totp_step(&secret, &email, &code_at(step), now),
            Some(step)
        );
        assert_eq!(
            matching_totp_step(&secret, &email, &code_at(step - 1), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_totp_step(&secret, &email, &code_at(step + 1), now),
            Some(step + 1)
        );
        for far in [step - 2, step + 2] {
            let code = code_at(far);
            // A far code could collide with a near one by chance (1 in 10^6).
            if [step - 1, step, step + 1]
                .iter()
                .all(|s| code_at(*s) != code)
            {
                assert_eq!(matching_totp_step(&secret, &email, &code, now), None);
            }
        }
        assert_eq!(matching_totp_step(&secret, &email, "12345", now), None);
        assert_eq!(matching_totp_step(&secret, &email, "abcdef", now), None);
    }

    #[test]
    fn new_passwords_need_twelve_characters_and_a_change() {
        let ann = Email::parse("ann.smith@acme.example").unwrap();
        assert_eq!(
            check_new_password("old", "short", &ann),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_new_password("same-password-1", "same-password-1", &ann),
            Err(PasswordPolicyError::Unchanged)
        );
        assert!(check_new_password("old", "a long enough one", &ann).is_ok());
    }

    #[test]
    fn common_passwords_and_the_email_are_refused_in_any_case() {
        let ann = Email::parse("ann.smith@acme.example").unwrap();
        for common in [
            "qwerty123456",
            "QWERTY123456",
            "1qaz2wsx3edc",
            "iloveyou1234",
        ] {
            assert_eq!(
                check_new_password("old", common, &ann),
                Err(PasswordPolicyError::Common),
                "{common}"
            );
        }
        for own in ["ann.smith@acme.example", "ANN.SMITH@acme.example"] {
            assert_eq!(
                check_new_password("old", own, &ann),
                Err(PasswordPolicyError::Email)
            );
        }
        let list: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(list.len() > 40_000);
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "sorted, for binary search"
        );
        assert!(list.iter().all(|p| p.chars().count() >= MIN_PASSWORD_CHARS));
    }

    #[test]
    fn account_is_locked_until_the_instant_passes() {
        let now = datetime!(2026-01-01 8:00 UTC);
        let state = LoginState {
            failed_attempts: 0,
            locked_until: Some(now + Duration::minutes(15)),
        };
        assert!(state.is_locked(now));
        assert!(!state.is_locked(now + Duration::minutes(15)));
        assert!(!LoginState::default().is_locked(now));
    }
}
