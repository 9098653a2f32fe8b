//! Turning rows back into domain types. Every stored value is parsed again:
//! a row that no longer parses is reported as corrupt, never trusted.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use std::str::FromStr;
use tessera_core::actor::{ActorKind, ActorRecord};
use tessera_core::application::{ApiCode, Application, ApplicationKind, ApplicationName};
use tessera_core::organisation::{CountryCode, Organisation, OrganisationName};
use tessera_core::password::PhcHash;
use tessera_core::secret::{SecretName, SecretRecord, StoredSecret};
use tessera_core::store::{SigningKeyRecord, StoreError};
use tessera_core::user::{Email, Role, User, UserStatus};
use time::OffsetDateTime;

use crate::error::db;

pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(col).map_err(db)
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    row.try_get::<Option<String>, _>(col).map_err(db)
}

fn parse<T: FromStr>(row: &AnyRow, col: &str) -> Result<T, StoreError> {
    let s = text(row, col)?;
    s.parse().map_err(|_| StoreError::Corrupt(col.to_owned()))
}

pub(crate) fn instant(row: &AnyRow, col: &str) -> Result<OffsetDateTime, StoreError> {
    let secs: i64 = row.try_get(col).map_err(db)?;
    from_epoch(secs)
}

fn opt_instant(row: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    let secs: Option<i64> = row.try_get(col).map_err(db)?;
    secs.map(from_epoch).transpose()
}

fn from_epoch(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| StoreError::Corrupt("timestamp".into()))
}

pub(crate) fn organisation(row: &AnyRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: parse(row, "id")?,
        name: OrganisationName::parse(&text(row, "name")?)
            .map_err(|_| StoreError::Corrupt("organisation name".into()))?,
        country: CountryCode::parse(&text(row, "country")?)
            .map_err(|_| StoreError::Corrupt("country".into()))?,
        created_at: instant(row, "created_at")?,
    })
}

/// An application row, without its permissions (the caller adds them).
pub(crate) fn application(row: &AnyRow) -> Result<Application, StoreError> {
    Ok(Application {
        client_id: parse(row, "client_id")?,
        name: ApplicationName::from_stored(text(row, "name")?),
        organisation_id: parse(row, "organisation_id")?,
        kind: ApplicationKind::parse(&text(row, "kind")?)
            .map_err(|_| StoreError::Corrupt("application kind".into()))?,
        api: ApiCode::parse(&text(row, "api")?).map_err(|_| StoreError::Corrupt("api".into()))?,
        permissions: Default::default(),
        created_at: instant(row, "created_at")?,
    })
}

pub(crate) fn secret_record(row: &AnyRow) -> Result<SecretRecord, StoreError> {
    Ok(SecretRecord {
        id: parse(row, "id")?,
        client_id: parse(row, "client_id")?,
        name: SecretName::from_stored(text(row, "name")?),
        hint: text(row, "hint")?,
        created_at: instant(row, "created_at")?,
        created_by: actor(row, "created_by_kind", "created_by_user_id", "created_by")?,
        expires_at: instant(row, "expires_at")?,
        last_used_at: opt_instant(row, "last_used_at")?,
    })
}

pub(crate) fn stored_secret(row: &AnyRow) -> Result<StoredSecret, StoreError> {
    Ok(StoredSecret {
        id: parse(row, "id")?,
        hint: text(row, "hint")?,
        hash: PhcHash::from_stored(text(row, "hash")?),
        expires_at: instant(row, "expires_at")?,
    })
}

pub(crate) fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: parse(row, "id")?,
        email: Email::from_stored(text(row, "email")?),
        role: Role::parse(&text(row, "role")?).map_err(|_| StoreError::Corrupt("role".into()))?,
        organisation_id: opt_text(row, "organisation_id")?
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Corrupt("organisation_id".into()))
            })
            .transpose()?,
        status: UserStatus::parse(&text(row, "status")?)
            .ok_or_else(|| StoreError::Corrupt("user status".into()))?,
        created_at: instant(row, "created_at")?,
    })
}

pub(crate) fn signing_key(row: &AnyRow) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        kid: text(row, "kid")?,
        alg: text(row, "alg")?,
        created_at: instant(row, "created_at")?,
        activated_at: opt_instant(row, "activated_at")?,
        activation_seq: row
            .try_get::<Option<i64>, _>("activation_seq")
            .map_err(db)?,
    })
}

/// A typed actor from its three columns: the kind, the user's id, and the
/// label (a user's or stranger's email, or the kind for the others).
pub(crate) fn actor(
    row: &AnyRow,
    kind: &str,
    user_id: &str,
    label: &str,
) -> Result<ActorRecord, StoreError> {
    let corrupt = || StoreError::Corrupt(kind.to_owned());
    let kind = ActorKind::parse(&text(row, kind)?).ok_or_else(corrupt)?;
    let user_id = opt_text(row, user_id)?
        .map(|id| id.parse().map_err(|_| corrupt()))
        .transpose()?;
    ActorRecord::from_parts(kind, user_id, Some(text(row, label)?)).ok_or_else(corrupt)
}
