//! Times on the wire and in the store: RFC 3339, UTC, fixed microsecond precision.
//!
//! One fixed-width form means the strings sort as the instants do, so DynamoDB sort keys over
//! them order by time, and clients (the OCM Go SDK among them) parse them with any RFC 3339 parser.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

const STORED_FORM: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Earliest and latest years accepted from a client: anything else is a typo or an attack on sorting.
pub const YEARS_ACCEPTED: std::ops::RangeInclusive<i32> = 1970..=9999;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimestampError {
    #[error("'{0}' is not an RFC 3339 time such as 2025-01-31T12:00:00.000Z")]
    NotRfc3339(String),
    #[error("'{0}' is outside the years 1970 to 9999")]
    OutOfRange(String),
}

/// Parses a client's RFC 3339 time (any offset, any precision) into UTC.
pub fn parse(text: &str) -> Result<OffsetDateTime, TimestampError> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| TimestampError::NotRfc3339(text.to_owned()))?
        .to_offset(UtcOffset::UTC);
    if YEARS_ACCEPTED.contains(&parsed.year()) {
        Ok(parsed)
    } else {
        Err(TimestampError::OutOfRange(text.to_owned()))
    }
}

/// The one textual form of an instant in this service: `2025-01-31T12:00:00.000000Z`.
pub fn format(instant: OffsetDateTime) -> String {
    instant
        .to_offset(UtcOffset::UTC)
        .format(STORED_FORM)
        // Formatting a valid UTC date-time with a fixed description cannot fail for years 0..=9999;
        // the RFC 3339 fallback keeps this total without a panic path.
        .or_else(|_| instant.format(&Rfc3339))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset_and_precision_becomes_utc_microseconds() -> Result<(), Box<dyn std::error::Error>>
    {
        let parsed = parse("2025-01-31T14:00:00.5+02:00")?;
        assert_eq!(format(parsed), "2025-01-31T12:00:00.500000Z");
        Ok(())
    }

    #[test]
    fn stored_form_sorts_like_time() -> Result<(), Box<dyn std::error::Error>> {
        let earlier = format(parse("2025-01-31T12:00:00Z")?);
        let later = format(parse("2025-01-31T12:00:00.000001Z")?);
        assert!(earlier < later);
        Ok(())
    }

    #[test]
    fn rejects_non_rfc3339_and_absurd_years() {
        assert!(matches!(
            parse("yesterday"),
            Err(TimestampError::NotRfc3339(_))
        ));
        assert!(matches!(parse(""), Err(TimestampError::NotRfc3339(_))));
        assert!(matches!(
            parse("1900-01-01T00:00:00Z"),
            Err(TimestampError::OutOfRange(_))
        ));
    }
}
