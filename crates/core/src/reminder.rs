//! When a secret's expiry reminders are due: 6 weeks, 3 weeks and 1 week
//! before it expires, then every day (through and past the expiry) until
//! the secret is deleted.
//!
//! Only the latest point due is ever sent: a server that was down over
//! several points sends one reminder when it returns, not a burst. Points
//! before the secret existed do not count, so a secret created 10 days
//! before its expiry first hears of it at the 1-week point.

use time::{Duration, OffsetDateTime};

/// Which reminder a due point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// 6 weeks before expiry.
    SixWeeks,
    /// 3 weeks before expiry.
    ThreeWeeks,
    /// 1 week before expiry.
    OneWeek,
    /// A daily reminder after the 1-week one; `days_before` is negative
    /// once the secret has expired.
    Daily {
        /// Whole days from this point to the expiry.
        days_before: i64,
    },
}

impl ReminderKind {
    /// A short label, for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::SixWeeks => "6_weeks",
            Self::ThreeWeeks => "3_weeks",
            Self::OneWeek => "1_week",
            Self::Daily { .. } => "daily",
        }
    }
}

/// A reminder due at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuePoint {
    /// When it is due; with the secret's id, it names the reminder.
    pub at: OffsetDateTime,
    /// Which one it is.
    pub kind: ReminderKind,
}

/// The first reminder comes this long before expiry: only secrets
/// expiring within it can have one due.
pub const FIRST_REMINDER: Duration = Duration::weeks(6);

/// The latest reminder due at `now` for a secret created at `created_at`
/// and expiring at `expires_at`, if any.
pub fn latest_due(
    expires_at: OffsetDateTime,
    created_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Option<DuePoint> {
    let daily_from = expires_at - Duration::days(6);
    let point = if now >= daily_from {
        let days = (now - daily_from).whole_days();
        let at = daily_from + Duration::days(days);
        DuePoint {
            at,
            kind: ReminderKind::Daily {
                days_before: 6 - days,
            },
        }
    } else {
        [
            (Duration::weeks(1), ReminderKind::OneWeek),
            (Duration::weeks(3), ReminderKind::ThreeWeeks),
            (FIRST_REMINDER, ReminderKind::SixWeeks),
        ]
        .into_iter()
        .map(|(before, kind)| DuePoint {
            at: expires_at - before,
            kind,
        })
        .find(|p| p.at <= now)?
    };
    (point.at >= created_at).then_some(point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const EXPIRES: OffsetDateTime = datetime!(2027-03-01 12:00 UTC);
    const CREATED: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    fn due(now: OffsetDateTime) -> Option<DuePoint> {
        latest_due(EXPIRES, CREATED, now)
    }

    #[test]
    fn nothing_is_due_before_six_weeks() {
        assert_eq!(
            due(EXPIRES - Duration::weeks(6) - Duration::seconds(1)),
            None
        );
    }

    #[test]
    fn the_weekly_points_come_at_six_three_and_one_weeks() {
        let six = due(EXPIRES - Duration::weeks(6)).unwrap();
        assert_eq!(six.kind, ReminderKind::SixWeeks);
        assert_eq!(six.at, EXPIRES - Duration::weeks(6));
        let still_six = due(EXPIRES - Duration::weeks(3) - Duration::seconds(1)).unwrap();
        assert_eq!(still_six, six);
        assert_eq!(
            due(EXPIRES - Duration::weeks(3)).unwrap().kind,
            ReminderKind::ThreeWeeks
        );
        assert_eq!(
            due(EXPIRES - Duration::days(6) - Duration::seconds(1))
                .unwrap()
                .kind,
            ReminderKind::OneWeek
        );
    }

    #[test]
    fn then_one_a_day_through_and_after_the_expiry() {
        let first = due(EXPIRES - Duration::days(6)).unwrap();
        assert_eq!(first.kind, ReminderKind::Daily { days_before: 6 });
        let on_the_day = due(EXPIRES + Duration::hours(3)).unwrap();
        assert_eq!(on_the_day.kind, ReminderKind::Daily { days_before: 0 });
        assert_eq!(on_the_day.at, EXPIRES);
        let later = due(EXPIRES + Duration::days(4) + Duration::hours(1)).unwrap();
        assert_eq!(later.kind, ReminderKind::Daily { days_before: -4 });
        assert_eq!(later.at, EXPIRES + Duration::days(4));
    }

    #[test]
    fn points_before_the_secret_existed_do_not_count() {
        let created = EXPIRES - Duration::days(10);
        assert_eq!(latest_due(EXPIRES, created, created), None);
        let week = latest_due(EXPIRES, created, EXPIRES - Duration::weeks(1)).unwrap();
        assert_eq!(week.kind, ReminderKind::OneWeek);
    }

    #[test]
    fn after_a_long_gap_only_the_latest_point_is_due() {
        // Down from before the 6-week point until 2 days before expiry.
        let p = due(EXPIRES - Duration::days(2)).unwrap();
        assert_eq!(p.kind, ReminderKind::Daily { days_before: 2 });
    }
}
