//! What a run writes into `OUT/<machine>/`: results.csv, log.gz, manifest.json, status.json.
//! docs/output-format.md is the user-facing contract.

mod atomic;
mod fsx;
pub mod log;
mod log_repair;
pub mod manifest;
pub mod results;

pub(crate) use atomic::sync_dir;
pub use atomic::write_atomic;
pub(crate) use fsx::{
    create_temp, open_output, refuse_link, refuse_output_links, remove_stale_temps,
};

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

/// Parses a time written by [`rfc3339`] into microseconds since the Unix epoch: a fast path for
/// the fixed-width form, any RFC 3339 time otherwise.
pub(crate) fn parse_micros(s: &[u8]) -> Option<i64> {
    if let Some(us) = parse_fixed_micros(s) {
        return Some(us);
    }
    let t = time::OffsetDateTime::parse(
        std::str::from_utf8(s).ok()?,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` without a general parser.
fn parse_fixed_micros(s: &[u8]) -> Option<i64> {
    if s.len() != 27 || s[4] != b'-' || s[7] != b'-' || s[10] != b'T' || s[13] != b':' {
        return None;
    }
    if s[16] != b':' || s[19] != b'.' || s[26] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        s[from..to].iter().try_fold(0i64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec, us) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 26)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    // Days from 1970-01-01 to y-mo-d (proleptic Gregorian), after H. Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000_000 + sec * 1_000_000 + us)
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

    #[test]
    fn fast_micros_agree_with_the_general_parser() {
        for us in [
            0i64,
            951_782_400_000_001,
            1_795_000_000_123_456,
            4_107_542_399_999_999,
            1_709_164_800_000_000,
        ] {
            let t = UNIX_EPOCH + Duration::from_micros(us as u64);
            let s = rfc3339(t);
            assert_eq!(parse_fixed_micros(s.as_bytes()), Some(us), "{s}");
        }
        assert_eq!(
            parse_micros(b"2026-11-23T06:01:02.5+01:00"),
            Some(parse_micros(b"2026-11-23T05:01:02.500000Z").unwrap())
        );
        assert_eq!(parse_micros(b"2026-13-23T05:01:02.500000Z"), None);
        assert_eq!(parse_micros(b"yesterday"), None);
    }
}
