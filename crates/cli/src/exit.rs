//! How a failed command ends: one message on stderr and an exit code a
//! script can branch on. A use case's refusal is mapped here, once.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | failed (configuration, files, anything else) |
//! | 2 | the command line itself is wrong (clap) |
//! | 3 | no such organisation, application or secret |
//! | 4 | refused by a rule: an invalid value, a name taken, five secrets already |
//! | 5 | the database is unavailable: retry later |

use std::process::ExitCode;
use tessera_admin::{AdminError, Field};

/// The option of this command line that a field is given with.
fn option(field: Field) -> &'static str {
    match field {
        Field::Name => "--name",
        Field::Country => "--country",
        Field::OrganisationId => "--org",
        Field::Api => "--api",
        Field::Kind => "--kind",
        Field::Permissions => "--permission",
        Field::ExpiresAt => "--expires-at",
        Field::Email => "--email",
        Field::Role => "--role",
        Field::CurrentPassword | Field::NewPassword | Field::Limit => field.as_str(),
    }
}

/// Prints `error` on stderr and answers the exit code of its kind.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let Some(refused) = error.chain().find_map(|e| e.downcast_ref::<AdminError>()) else {
        eprintln!("error: {error:#}");
        return ExitCode::FAILURE;
    };
    let code = match refused {
        AdminError::NotFound(_) => 3,
        AdminError::Invalid(invalid) => {
            eprintln!("error: {}: {invalid}", option(invalid.field()));
            return ExitCode::from(4);
        }
        AdminError::Forbidden | AdminError::Conflict(_) | AdminError::TooManyAttempts { .. } => 4,
        AdminError::Unavailable(_) => 5,
        AdminError::Internal(_) => 1,
    };
    match refused {
        // The cause is for the operator at the host: show it.
        AdminError::Unavailable(cause) | AdminError::Internal(cause) => {
            eprintln!("error: {refused}: {cause}");
        }
        _ => eprintln!("error: {refused}"),
    }
    ExitCode::from(code)
}
