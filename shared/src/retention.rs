//! How long logs are kept: a number of days per kind, turned into the `expires_at` TTL attribute
//! that DynamoDB deletes items by.
//!
//! A log expires at the end of its creation period (UTC days, a tenth of the retention rounded up,
//! at least one day) plus the retention, not to the millisecond. So all logs of a period expire at
//! the same instant, and their counts can live in one item that carries the same `expires_at`: the
//! count expires with the logs it counts, no process has to follow DynamoDB's deletions, and there
//! are at most about eleven live count items per (source, instance) whatever the retention. A log
//! is kept at least the retention and at most a tenth longer (see docs/data-model.md, "Retention").
//! DynamoDB deletes expired items within a few days, so readers treat `expires_at <= now` as gone.

use time::OffsetDateTime;

/// The TTL attribute of both tables (template.yaml's `TimeToLiveSpecification`).
pub const EXPIRES_AT: &str = "expires_at";
/// Retention of system logs in days; `0` keeps them until deleted.
pub const SYSTEM_LOGS_RETENTION_VAR: &str = "SYSTEM_LOGS_RETENTION_DAYS";
/// Retention of cluster logs in days; `0` keeps them until deleted.
pub const CLUSTER_LOGS_RETENTION_VAR: &str = "CLUSTER_LOGS_RETENTION_DAYS";
const DAY_SECONDS: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// `None`: kept until deleted.
    days: Option<u32>,
}

impl Retention {
    pub const FOREVER: Retention = Retention { days: None };

    pub fn days(days: u32) -> Self {
        Retention {
            days: (days > 0).then_some(days),
        }
    }

    /// From the environment; absent, empty or `0` keeps logs forever. A value that is not a number
    /// is a configuration error, reported at cold start rather than guessed.
    pub fn from_env(variable: &str) -> Result<Self, crate::dynamo::StoreError> {
        match std::env::var(variable) {
            Ok(text) if !text.trim().is_empty() => text
                .trim()
                .parse::<u32>()
                .map(Retention::days)
                .map_err(|_| {
                    crate::dynamo::StoreError::Misconfigured(format!(
                        "{variable} must be a whole number of days, not '{text}'"
                    ))
                }),
            _ => Ok(Retention::FOREVER),
        }
    }

    /// The `expires_at` (seconds since the epoch) of a log created at `created`.
    pub fn expires_at(&self, created: OffsetDateTime) -> Option<i64> {
        let days = i64::from(self.days?);
        let period = (days + 9) / 10 * DAY_SECONDS;
        let period_end = (created.unix_timestamp().div_euclid(period) + 1) * period;
        Some(period_end + days * DAY_SECONDS)
    }
}

/// The time readers and writers compare expiries with: the system clock, or in tests, the
/// system clock moved ahead, to see what a later day will see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    ahead_seconds: i64,
}

impl Clock {
    pub fn ahead(by: time::Duration) -> Self {
        Clock {
            ahead_seconds: by.whole_seconds(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.ahead_seconds)
    }
}

/// How long a store keeps its logs, and the time it compares their expiries with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifetime {
    pub retention: Retention,
    pub clock: Clock,
}

impl Lifetime {
    /// The retention from `variable` (see [`Retention::from_env`]), on the system clock.
    pub fn from_env(variable: &str) -> Result<Self, crate::dynamo::StoreError> {
        Ok(Lifetime {
            retention: Retention::from_env(variable)?,
            clock: Clock::default(),
        })
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn expires_at(&self, created: OffsetDateTime) -> Option<i64> {
        self.retention.expires_at(created)
    }
}

/// True while an item with this `expires_at` (if any) is still kept.
pub fn is_live(expires_at: Option<i64>, now: OffsetDateTime) -> bool {
    expires_at.is_none_or(|at| at > now.unix_timestamp())
}

/// The name of a count bucket: every log expiring at the same instant shares one.
pub fn bucket_name(expires_at: Option<i64>) -> String {
    expires_at.map_or_else(|| "forever".to_owned(), |at| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn logs_of_one_day_expire_together_at_the_end_of_the_retention() {
        let retention = Retention::days(7);
        let morning = retention.expires_at(datetime!(2026-11-01 00:00:01 UTC));
        let night = retention.expires_at(datetime!(2026-11-01 23:59:59 UTC));
        assert_eq!(morning, night);
        assert_eq!(
            morning,
            Some(datetime!(2026-11-09 00:00:00 UTC).unix_timestamp())
        );
    }

    #[test]
    fn long_retentions_expire_logs_in_periods_of_a_tenth() {
        let retention = Retention::days(90);
        let created = datetime!(2026-11-01 12:00 UTC);
        let expires = retention.expires_at(created).unwrap_or_default();
        let kept = expires - created.unix_timestamp();
        assert!(
            (90 * DAY_SECONDS..=99 * DAY_SECONDS).contains(&kept),
            "{kept}"
        );
        let buckets: std::collections::BTreeSet<_> = (0..90)
            .filter_map(|day| retention.expires_at(created + time::Duration::days(day)))
            .collect();
        assert!(buckets.len() <= 11, "{} buckets", buckets.len());
    }

    #[test]
    fn zero_days_keeps_logs_forever() {
        assert_eq!(
            Retention::days(0).expires_at(datetime!(2026-11-01 12:00 UTC)),
            None
        );
        assert!(is_live(None, datetime!(2100-01-01 0:00 UTC)));
    }

    #[test]
    fn an_item_is_gone_once_its_expiry_has_come() {
        let now = datetime!(2026-11-01 12:00 UTC);
        assert!(is_live(Some(now.unix_timestamp() + 1), now));
        assert!(!is_live(Some(now.unix_timestamp()), now));
    }
}
