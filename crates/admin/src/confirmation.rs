//! Waiting for a credential change to reach every replica before it is
//! answered: the rule of [`tessera_core::replica`], applied by polling the
//! replica rows until every live replica has applied the change or the
//! bounded wait is over.

use std::time::Duration;
use tessera_core::ids::ReplicaId;
use tessera_core::replica::{Confirmation, Progress};
use tokio::time::Instant;

use crate::Admin;

/// How a credential change's answer waits for the replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmationPolicy {
    /// Longest wait for every live replica to confirm.
    pub wait: Duration,
    /// A replica whose last heartbeat is this old is not waited for.
    pub lapse: Duration,
    /// The replica of this process, if it serves: its cache is told of the
    /// change directly, before the wait, so it confirms at once.
    pub own: Option<ReplicaId>,
}

impl Default for ConfirmationPolicy {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(3),
            lapse: Duration::from_secs(2),
            own: None,
        }
    }
}

/// Pause between two readings of the replica rows while waiting.
const POLL: Duration = Duration::from_millis(2);

impl Admin {
    /// The same use cases, waiting for replicas as `policy` says.
    pub fn confirming(mut self, policy: ConfirmationPolicy) -> Self {
        self.confirmation = policy;
        self
    }

    /// Waits until every live replica has applied the latest credential
    /// change (the one just committed, or a later one), at most
    /// `policy.wait`, and says which did not.
    pub(crate) async fn confirm(&self) -> Confirmation {
        let policy = self.confirmation;
        let unknown = Confirmation {
            unknown: true,
            ..Confirmation::default()
        };
        let seq = match self.store.latest_credential_change().await {
            Ok(seq) => seq,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the change log to confirm a change");
                return unknown;
            }
        };
        let lapse = time::Duration::try_from(policy.lapse).unwrap_or(time::Duration::MAX);
        let deadline = Instant::now() + policy.wait;
        let mut last: Option<Progress> = None;
        loop {
            match self.store.replicas().await {
                Ok(replicas) => {
                    let progress = replicas.progress(seq, policy.own, lapse);
                    if progress.waiting.is_empty() {
                        return Confirmation::from_progress(progress);
                    }
                    last = Some(progress);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the replicas to confirm a change")
                }
            }
            if Instant::now() >= deadline {
                return last.map_or(unknown, Confirmation::from_progress);
            }
            tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }
}
