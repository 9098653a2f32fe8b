//! Identifiers: random UUID v4 values with a type per kind of thing, so a
//! secret id can never be passed where a client id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The input was not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a UUID")]
pub struct InvalidId(pub String);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random (v4) identifier.
            pub fn generate() -> Self {
                Self(Uuid::new_v4())
            }

            /// The identifier as a UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| InvalidId(s.chars().take(64).collect()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An application's OAuth `client_id`: permanent, generated, never reused.
    ClientId
);
uuid_id!(
    /// An organisation's identifier.
    OrganisationId
);
uuid_id!(
    /// A client secret's identifier (not the secret).
    SecretId
);
uuid_id!(
    /// A user's identifier.
    UserId
);
uuid_id!(
    /// A management session's identifier (not its token).
    SessionId
);
uuid_id!(
    /// A running `serve` process's identifier, drawn at each start.
    ReplicaId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_round_trips_through_its_text_form() {
        let id = ClientId::generate();
        assert_eq!(id.to_string().parse::<ClientId>().unwrap(), id);
        assert_eq!(id.as_uuid().get_version_num(), 4);
    }

    #[test]
    fn client_id_refuses_what_is_not_a_uuid() {
        assert!("not-a-uuid".parse::<ClientId>().is_err());
        assert!("".parse::<ClientId>().is_err());
    }
}
