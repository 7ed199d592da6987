//! Values with a documented range, from the config's `[run]` table and from flags alike:
//! durations (at most [`MAX_DURATION`]) and whole numbers (threads, retries, nice). Outside its
//! range a value is refused with the range, never clamped or wrapped.

use std::time::Duration;

use crate::error::{Error, Result};

/// The longest duration accepted (`timeout`, `grace`, `progress_interval`): 365 days.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// The shortest progress interval accepted: 0.1 s.
pub(crate) const MIN_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// The status.json refresh interval accepted (`status_interval`): 0.1 s to 1 hour.
pub(crate) const STATUS_INTERVAL: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(3600));
/// The most worker threads accepted (`threads`, `--threads`).
pub(crate) const MAX_THREADS: u64 = 4096;
/// The most extra attempts accepted (`retries`, `--retries`).
pub(crate) const MAX_RETRIES: u64 = 1000;
/// The politest scheduling priority (`nice`, `--nice` take 0 to this). A negative nice would
/// raise the jobs' priority when run as root, so it is refused.
pub(crate) const MAX_NICE: u64 = 19;
/// The most jobs a stealing block may have (`--steal-block`, `[run] steal_block`).
pub(crate) const MAX_BLOCK: u64 = 1_000_000_000;

pub(super) mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    use super::{MAX_DURATION, MIN_PROGRESS_INTERVAL, STATUS_INTERVAL};

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(crate) enum Raw {
        Seconds(f64),
        Text(String),
    }

    const FORMS: &str = "write seconds (90, 0.5) or \"90s\", \"10m\", \"2h\", \"3d\"";

    pub(crate) fn from_raw(raw: Raw) -> Result<Duration, String> {
        let (shown, seconds) = match raw {
            Raw::Seconds(s) if s.is_finite() && s >= 0.0 && s >= 1e9 => (format!("{s:e}"), s),
            Raw::Seconds(s) if s.is_finite() && s >= 0.0 => (s.to_string(), s),
            Raw::Seconds(s) => return Err(format!("{s} is not a duration: {FORMS}")),
            Raw::Text(t) => match humantime::parse_duration(&t) {
                Ok(d) => (format!("`{t}`"), d.as_secs_f64()),
                Err(humantime::DurationError::NumberOverflow) => (format!("`{t}`"), f64::INFINITY),
                Err(e) => return Err(format!("`{t}` is not a duration ({e}): {FORMS}")),
            },
        };
        if seconds > MAX_DURATION.as_secs_f64() {
            return Err(format!(
                "{shown} is too long: a duration is at most 365 days (\"365d\", {} seconds)",
                MAX_DURATION.as_secs()
            ));
        }
        Duration::try_from_secs_f64(seconds).map_err(|e| format!("{shown}: {e}: {FORMS}"))
    }

    /// A progress interval: a duration of at least [`MIN_PROGRESS_INTERVAL`].
    pub(crate) fn check_progress_interval(d: Duration) -> Result<Duration, String> {
        if d < MIN_PROGRESS_INTERVAL {
            return Err(format!(
                "a progress interval of {d:?} is too short: use at least 0.1 seconds"
            ));
        }
        Ok(d)
    }

    /// A status interval: a duration within [`STATUS_INTERVAL`].
    pub(crate) fn check_status_interval(d: Duration) -> Result<Duration, String> {
        let (lo, hi) = STATUS_INTERVAL;
        if d < lo || d > hi {
            return Err(format!(
                "a status interval of {d:?} is out of range: use 0.1 seconds to 1 hour (\"1h\")"
            ));
        }
        Ok(d)
    }

    pub(crate) fn status_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_raw(Raw::deserialize(d)?)
            .and_then(check_status_interval)
            .map_err(|m| serde::de::Error::custom(format!("status_interval: {m}")))
    }

    pub(crate) fn grace<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_raw(Raw::deserialize(d)?).map_err(|m| serde::de::Error::custom(format!("grace: {m}")))
    }

    pub(crate) fn progress_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_raw(Raw::deserialize(d)?)
            .and_then(check_progress_interval)
            .map_err(|m| serde::de::Error::custom(format!("progress_interval: {m}")))
    }
}

pub(super) mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        match Option::<super::duration::Raw>::deserialize(d)? {
            None => Ok(None),
            Some(raw) => super::duration::from_raw(raw)
                .map(|t| (!t.is_zero()).then_some(t))
                .map_err(|m| serde::de::Error::custom(format!("timeout: {m}"))),
        }
    }
}

/// Whole numbers with a documented range, refused (not clamped, not wrapped) outside it.
pub(super) mod ranged {
    use serde::{Deserialize, Deserializer};

    use super::{MAX_BLOCK, MAX_NICE, MAX_RETRIES, MAX_THREADS};

    fn read<'de, D: Deserializer<'de>>(
        d: D,
        key: &str,
        lo: u64,
        hi: u64,
        hint: &str,
    ) -> Result<u64, D::Error> {
        let n = i64::deserialize(d)?;
        super::check_range(&n.to_string(), n.try_into().ok(), lo, hi)
            .map_err(|m| serde::de::Error::custom(format!("{key}: {m}{hint}")))
    }

    pub(crate) fn threads<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        // MAX_THREADS fits any usize.
        Ok(Some(read(d, "threads", 1, MAX_THREADS, "")? as usize))
    }

    pub(crate) fn retries<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        Ok(read(d, "retries", 0, MAX_RETRIES, "")? as u32)
    }

    pub(crate) fn worker_recycle<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Some(read(
            d,
            "worker_recycle",
            1,
            u64::MAX,
            "; leave it out to never restart workers",
        )?))
    }

    pub(crate) fn steal_block<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Some(read(
            d,
            "steal_block",
            1,
            MAX_BLOCK,
            "; leave it out for a block size from the plan",
        )?))
    }

    pub(crate) fn nice<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        Ok(read(d, "nice", 0, MAX_NICE, "; 19 is the politest")? as i32)
    }
}

/// `n` (written `shown`; `None` when it is negative or does not fit) if it is in `lo..=hi`, else
/// a message that gives the range.
///
/// # Errors
/// When `n` is outside the range.
pub(crate) fn check_range(
    shown: &str,
    n: Option<u64>,
    lo: u64,
    hi: u64,
) -> std::result::Result<u64, String> {
    match n {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        Some(n) if n > hi => Err(format!(
            "{shown} is too large: use at most {hi} (a whole number from {lo} to {hi})"
        )),
        _ if shown.starts_with('-') || n.is_some() => Err(format!(
            "{shown} is too small: use at least {lo} (a whole number from {lo} to {hi})"
        )),
        _ => Err(format!(
            "{shown} is too large: use at most {hi} (a whole number from {lo} to {hi})"
        )),
    }
}

/// Parses a whole number given on the command line and checks it is in `lo..=hi`.
///
/// # Errors
/// If the text is not a whole number or is outside the range.
pub(crate) fn parse_ranged(text: &str, lo: u64, hi: u64) -> Result<u64> {
    let t = text.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::usage(format!(
            "`{text}` is not a whole number: use one from {lo} to {hi}"
        )));
    }
    let n = if t.starts_with('-') {
        None
    } else {
        t.parse::<u64>().ok()
    };
    check_range(t, n, lo, hi).map_err(Error::usage)
}

/// Parses a progress interval given on the command line: a duration of at least 0.1 s.
///
/// # Errors
/// If the text is not a duration or is outside the range.
pub(crate) fn parse_progress_interval(text: &str) -> Result<Duration> {
    duration::check_progress_interval(parse_duration(text)?).map_err(Error::usage)
}

/// Parses a status interval given on the command line: 0.1 s to 1 hour.
///
/// # Errors
/// If the text is not a duration or is outside the range.
pub(crate) fn parse_status_interval(text: &str) -> Result<Duration> {
    duration::check_status_interval(parse_duration(text)?).map_err(Error::usage)
}

/// Parses a duration given on the command line: seconds, or `90s`, `10m`, `2h`, at most
/// [`MAX_DURATION`].
///
/// # Errors
/// If the text is neither, or is negative or longer than [`MAX_DURATION`].
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let raw = match text.parse::<f64>() {
        Ok(s) => duration::Raw::Seconds(s),
        Err(_) => duration::Raw::Text(text.to_owned()),
    };
    duration::from_raw(raw).map_err(Error::usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_checked_the_same_way() {
        assert!(parse_duration("1e20").is_err());
        assert!(parse_duration("18446744073709551616").is_err());
        assert!(parse_duration("NaN").is_err());
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_progress_interval("0").is_err());
        assert!(parse_status_interval("0.05").is_err());
        assert!(parse_status_interval("2h").is_err());
        assert_eq!(
            parse_status_interval("0.5").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_ranged("19", 0, 19).unwrap(), 19);
        for bad in ["-1", "20", "", "1.5", "99999999999999999999999", "+3"] {
            assert!(parse_ranged(bad, 0, 19).is_err(), "{bad}");
        }
    }
}
