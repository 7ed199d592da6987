//! What a run writes into `OUT/<machine>/`: results.csv, log.gz, manifest.json, status.json.
//! docs/output-format.md is the user-facing contract.

mod atomic;
pub(crate) mod balance;
pub(crate) mod cancel_request;
pub(crate) mod claim;
pub(crate) mod fence;
mod fsx;
mod gzip;
pub(crate) mod layout;
pub(crate) mod log;
mod log_repair;
pub(crate) mod log_thread;
pub(crate) mod manifest;
pub(crate) mod results;

pub(crate) use atomic::sync_dir;
pub(crate) use atomic::write_atomic;
pub(crate) use fsx::{
    create_temp, open_output, refuse_link, refuse_output_links, remove_stale_temps,
};
pub(crate) use log_repair::complete_prefix as complete_gzip_prefix;

use std::time::SystemTime;

/// A time as RFC 3339 UTC with microseconds, fixed width: `2026-11-23T05:01:02.123456Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(&f).unwrap_or_default()
}

/// Formats times as [`rfc3339`] does, fast: the date and the second are formatted once per
/// second and kept, so a time in the same second as the last costs six digits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stamper {
    /// The second (since the Unix epoch) `head` holds, if any.
    second: Option<u64>,
    /// `YYYY-MM-DDTHH:MM:SS.` of that second.
    head: [u8; 20],
}

/// The length of a time as [`rfc3339`] writes it.
pub(crate) const STAMP_LEN: usize = 27;

impl Stamper {
    /// `t` as `2026-11-23T05:01:02.123456Z`. Times before 1970 or after 9999 take the slow
    /// path (and are then as wide as [`rfc3339`] writes them; none is, in practice).
    pub(crate) fn format(&mut self, t: SystemTime, out: &mut Vec<u8>) {
        let Some(d) = t
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .filter(|d| d.as_secs() < 253_402_300_800)
        else {
            out.extend_from_slice(rfc3339(t).as_bytes());
            return;
        };
        let second = d.as_secs();
        if self.second != Some(second) {
            self.head = civil_head(second);
            self.second = Some(second);
        }
        let mut stamp = [0u8; STAMP_LEN];
        stamp[..20].copy_from_slice(&self.head);
        let mut us = d.subsec_micros();
        for b in stamp[20..26].iter_mut().rev() {
            *b = b'0' + (us % 10) as u8;
            us /= 10;
        }
        stamp[26] = b'Z';
        out.extend_from_slice(&stamp);
    }
}

/// `YYYY-MM-DDTHH:MM:SS.` of a second since the Unix epoch (before year 10000), after
/// H. Hinnant's civil_from_days.
fn civil_head(second: u64) -> [u8; 20] {
    let days = (second / 86_400) as i64;
    let rest = second % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut head = *b"0000-00-00T00:00:00.";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for b in head[at..at + width].iter_mut().rev() {
            *b = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u64);
    put(5, 2, month as u64);
    put(8, 2, day as u64);
    put(11, 2, rest / 3600);
    put(14, 2, rest / 60 % 60);
    put(17, 2, rest % 60);
    head
}

/// Parses a time written by [`rfc3339`] (or any RFC 3339 time).
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
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
    fn the_stamper_agrees_with_rfc3339() {
        let mut stamper = Stamper::default();
        let mut us: u64 = 0;
        // Every day boundary of 400 years (leap rules included) and seconds around them, then
        // steps of odd sizes.
        let mut times: Vec<u64> = (0..146_097u64 + 3000)
            .flat_map(|d| [d * 86_400_000_000, d * 86_400_000_000 + 86_399_999_999])
            .collect();
        while us < 9_000_000_000_000_000 {
            times.push(us);
            us = us * 3 / 2 + 7_654_321;
        }
        times.push(253_402_300_799_999_999);
        let mut out = Vec::new();
        for us in times {
            let t = UNIX_EPOCH + Duration::from_micros(us);
            out.clear();
            stamper.format(t, &mut out);
            assert_eq!(std::str::from_utf8(&out).unwrap(), rfc3339(t), "{us}");
        }
        let before = UNIX_EPOCH - Duration::from_secs(1);
        out.clear();
        stamper.format(before, &mut out);
        assert_eq!(std::str::from_utf8(&out).unwrap(), rfc3339(before));
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
