//! Logging a background task's failures as a change of state, not as a
//! stream: while the database is down, a task retrying every few hundred
//! milliseconds would otherwise write the same warning thousands of times.
//!
//! The first failure is logged at once, then again after pauses that
//! double from one minute up to an hour (each with the number of failures
//! since), and the recovery once.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// First pause before a failure that lasts is logged again.
const FIRST_REPEAT: Duration = Duration::from_secs(60);
/// Longest pause between two reports of one failure.
const LONGEST_REPEAT: Duration = Duration::from_secs(60 * 60);

/// The failure state of one recurring task, such as "reading the change
/// log".
#[derive(Debug)]
pub struct FailureLog {
    task: &'static str,
    failing: Option<Failing>,
}

#[derive(Debug)]
struct Failing {
    since: Instant,
    next_report: Instant,
    pause: Duration,
    unreported: u64,
}

impl FailureLog {
    /// The log of `task`, which completes the sentence "could not …".
    pub const fn new(task: &'static str) -> Self {
        Self {
            task,
            failing: None,
        }
    }

    /// Whether the last attempt failed.
    pub fn is_failing(&self) -> bool {
        self.failing.is_some()
    }

    /// The task failed with `error`: logged if it is a change of state or
    /// the pause since the last report is over.
    pub fn failed(&mut self, error: &dyn Display) {
        let now = Instant::now();
        let task = self.task;
        match &mut self.failing {
            None => {
                tracing::warn!(error = %error, "could not {task}; retrying, and reporting again only if it lasts");
                self.failing = Some(Failing {
                    since: now,
                    next_report: now + FIRST_REPEAT,
                    pause: FIRST_REPEAT,
                    unreported: 0,
                });
            }
            Some(failing) if now >= failing.next_report => {
                tracing::warn!(
                    error = %error,
                    seconds = failing.since.elapsed().as_secs(),
                    failures = failing.unreported + 1,
                    "still could not {task}"
                );
                failing.pause = (failing.pause * 2).min(LONGEST_REPEAT);
                failing.next_report = now + failing.pause;
                failing.unreported = 0;
            }
            Some(failing) => failing.unreported += 1,
        }
    }

    /// The task succeeded: a recovery is logged once.
    pub fn succeeded(&mut self) {
        if let Some(failing) = self.failing.take() {
            let task = self.task;
            tracing::info!(
                seconds = failing.since.elapsed().as_secs(),
                "can {task} again"
            );
        }
    }

    /// Records `result`'s success or failure.
    pub fn record<T, E: Display>(&mut self, result: &Result<T, E>) {
        match result {
            Ok(_) => self.succeeded(),
            Err(e) => self.failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lasting_failure_is_reported_once_until_its_pause_ends_and_recovery_once() {
        let mut log = FailureLog::new("read the change log");
        assert!(!log.is_failing());
        for _ in 0..1_000 {
            log.failed(&"connection refused");
        }
        let failing = log.failing.as_ref().unwrap();
        assert_eq!(
            failing.unreported, 999,
            "one report for a thousand failures"
        );
        assert_eq!(failing.pause, FIRST_REPEAT);
        log.succeeded();
        assert!(!log.is_failing());
    }

    #[test]
    fn pauses_double_up_to_an_hour() {
        let mut log = FailureLog::new("reload keys");
        log.failed(&"down");
        for _ in 0..10 {
            let failing = log.failing.as_mut().unwrap();
            failing.next_report = Instant::now();
            log.failed(&"down");
        }
        assert_eq!(log.failing.unwrap().pause, LONGEST_REPEAT);
    }
}
