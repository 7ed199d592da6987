//! What a run writes into `OUT/<machine>/`: results.csv, log.gz, manifest.json, status.json.
//! docs/output-format.md is the user-facing contract.

mod atomic;
pub mod log;
pub mod manifest;
pub mod results;

pub use atomic::write_atomic;

use std::time::SystemTime;

/// A time as RFC 3339 UTC with microseconds, fixed width: `2026-11-23T05:01:02.123456Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(&f).unwrap_or_default()
}

/// Parses a time written by [`rfc3339`] (or any RFC 3339 time).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_round_trip_at_fixed_width() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_000_000_123_456);
        let s = rfc3339(t);
        assert_eq!(s.len(), 27, "{s}");
        assert!(s.ends_with(".123456Z"));
        assert_eq!(parse_rfc3339(&s), Some(t));
    }
}
