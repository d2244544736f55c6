//! Time as Brook stores it (microseconds since the Unix epoch) and shows it (RFC 3339 UTC).

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// RFC 3339 UTC with millisecond precision, e.g. `2026-11-22T03:00:00.123Z`.
pub fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The UTC day (`YYYY-MM-DD`) quotas are counted in.
pub fn utc_day(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Microseconds until the next UTC midnight, for `Retry-After` on a spent quota.
pub fn micros_until_midnight(micros: i64) -> i64 {
    const DAY: i64 = 86_400_000_000;
    DAY - micros.rem_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_day(86_400_000_000), "1970-01-02");
        assert_eq!(micros_until_midnight(86_399_000_000), 1_000_000);
    }
}
