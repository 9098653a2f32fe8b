//! Replicas: the `serve` processes sharing one database, and the rule that
//! decides when a credential change has reached all of them.
//!
//! Each replica keeps a row: when it started, when it last beat (in the
//! database's time, so replicas on different hosts compare alike), the
//! change-log position it has applied, and the instant until which its
//! cache trusts what it holds without reading the log again. A change is
//! confirmed when every live replica has applied its position. A replica
//! whose heartbeat lapsed is not waited for: it is named, with the instant
//! its trust window ends, because until then it may still answer from
//! memory.

use crate::ids::ReplicaId;
use time::{Duration, OffsetDateTime};

/// One replica's row, as the change feed writes it at every beat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaBeat {
    /// The replica.
    pub id: ReplicaId,
    /// Where it listens (`host:port`), to name it to people.
    pub address: String,
    /// When the process started.
    pub started_at: OffsetDateTime,
    /// The change-log sequence number up to which it has applied every
    /// change.
    pub applied_seq: i64,
    /// The latest instant at which it stops trusting its cache on its own
    /// if it beats no more.
    pub trusted_until: OffsetDateTime,
}

/// A replica as stored, with its last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// What it last wrote.
    pub beat: ReplicaBeat,
    /// When it last wrote it, in the database's time.
    pub heartbeat_at: OffsetDateTime,
}

/// Every replica row, read at `now` in the database's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replicas {
    /// The database's time when the rows were read.
    pub now: OffsetDateTime,
    /// The rows.
    pub replicas: Vec<Replica>,
}

/// A replica that has not confirmed a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfirmed {
    /// The replica.
    pub id: ReplicaId,
    /// Where it listens.
    pub address: String,
    /// The latest instant at which it stops honouring what was changed:
    /// the end of its trust window.
    pub stops_by: OffsetDateTime,
    /// Its heartbeat lapsed, so it was not waited for.
    pub heartbeat_lapsed: bool,
}

/// Where a change stands among the replicas at one reading.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    /// Live replicas that have applied it (this process's own included).
    pub confirmed: usize,
    /// Live replicas that have not applied it yet: worth waiting for.
    pub waiting: Vec<Unconfirmed>,
    /// Replicas whose heartbeat lapsed and whose trust window has not
    /// ended: not waited for, but they may answer from memory until then.
    pub lapsed: Vec<Unconfirmed>,
}

impl Replicas {
    /// Where the change at `seq` stands. `own` is the replica of the process
    /// that made the change: it applied it before asking (its cache was told
    /// directly), so it counts as confirmed. A replica is live while its
    /// last heartbeat is less than `lapse` old; one whose trust window has
    /// ended refuses everything it held and is left out.
    pub fn progress(&self, seq: i64, own: Option<ReplicaId>, lapse: Duration) -> Progress {
        let mut progress = Progress::default();
        for replica in &self.replicas {
            let beat = &replica.beat;
            let live = self.now - replica.heartbeat_at < lapse;
            if Some(beat.id) == own || (live && beat.applied_seq >= seq) {
                progress.confirmed += 1;
                continue;
            }
            if beat.trusted_until <= self.now {
                continue;
            }
            let unconfirmed = Unconfirmed {
                id: beat.id,
                address: beat.address.clone(),
                stops_by: beat.trusted_until,
                heartbeat_lapsed: !live,
            };
            if live {
                progress.waiting.push(unconfirmed);
            } else {
                progress.lapsed.push(unconfirmed);
            }
        }
        progress
    }
}

/// How a credential change's answer waited for the replicas.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Confirmation {
    /// Replicas that applied the change before the answer.
    pub confirmed: usize,
    /// Replicas that did not, each with the instant it stops on its own.
    pub unconfirmed: Vec<Unconfirmed>,
    /// The replica list could not be read: nothing is known beyond this
    /// process, and every other replica stops by its own trust window.
    pub unknown: bool,
}

impl Confirmation {
    /// Every replica that could still honour the change has stopped.
    pub fn is_complete(&self) -> bool {
        self.unconfirmed.is_empty() && !self.unknown
    }

    /// The answer once waiting is over: the replicas still waited for and
    /// the lapsed ones, the soonest to stop first.
    pub fn from_progress(progress: Progress) -> Self {
        let mut unconfirmed = progress.waiting;
        unconfirmed.extend(progress.lapsed);
        unconfirmed.sort_by_key(|u| (u.stops_by, u.id));
        Self {
            confirmed: progress.confirmed,
            unconfirmed,
            unknown: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAPSE: Duration = Duration::seconds(2);

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    fn replica(applied_seq: i64, heartbeat: i64, trusted_until: i64) -> Replica {
        Replica {
            beat: ReplicaBeat {
                id: ReplicaId::generate(),
                address: "127.0.0.1:8080".into(),
                started_at: at(0),
                applied_seq,
                trusted_until: at(trusted_until),
            },
            heartbeat_at: at(heartbeat),
        }
    }

    fn replicas(rows: Vec<Replica>) -> Replicas {
        Replicas {
            now: at(100),
            replicas: rows,
        }
    }

    #[test]
    fn a_live_replica_that_applied_the_change_confirms_it() {
        let progress = replicas(vec![replica(7, 99, 400)]).progress(7, None, LAPSE);
        assert_eq!(progress.confirmed, 1);
        assert!(progress.waiting.is_empty() && progress.lapsed.is_empty());
    }

    #[test]
    fn a_live_replica_behind_the_change_is_waited_for() {
        let progress = replicas(vec![replica(6, 99, 400)]).progress(7, None, LAPSE);
        assert_eq!(progress.confirmed, 0);
        assert_eq!(progress.waiting.len(), 1);
        assert_eq!(progress.waiting[0].stops_by, at(400));
        assert!(!progress.waiting[0].heartbeat_lapsed);
    }

    #[test]
    fn a_lapsed_replica_is_named_but_not_waited_for() {
        let stale = replica(7, 98, 400);
        let progress = replicas(vec![stale]).progress(7, None, LAPSE);
        assert_eq!(progress.confirmed, 0, "a lapsed replica confirms nothing");
        assert!(progress.waiting.is_empty());
        assert_eq!(progress.lapsed.len(), 1);
        assert!(progress.lapsed[0].heartbeat_lapsed);
    }

    #[test]
    fn a_replica_past_its_trust_window_is_left_out() {
        let progress = replicas(vec![replica(1, 10, 100)]).progress(7, None, LAPSE);
        assert_eq!(progress, Progress::default());
    }

    #[test]
    fn the_process_that_made_the_change_confirms_it_itself() {
        let own = replica(1, 99, 400);
        let id = own.beat.id;
        let progress = replicas(vec![own, replica(1, 99, 400)]).progress(7, Some(id), LAPSE);
        assert_eq!(progress.confirmed, 1);
        assert_eq!(progress.waiting.len(), 1);
    }

    #[test]
    fn the_answer_names_the_soonest_to_stop_first_and_is_incomplete() {
        let progress =
            replicas(vec![replica(1, 99, 500), replica(1, 10, 300)]).progress(7, None, LAPSE);
        let confirmation = Confirmation::from_progress(progress);
        assert!(!confirmation.is_complete());
        let stops: Vec<_> = confirmation
            .unconfirmed
            .iter()
            .map(|u| u.stops_by)
            .collect();
        assert_eq!(stops, vec![at(300), at(500)]);
        assert!(Confirmation::default().is_complete());
    }
}
