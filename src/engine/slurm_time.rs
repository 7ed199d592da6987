//! Slurm time limits (`sbatch --time`): Slurm's own forms pass unchanged, a duration with a
//! unit (`90m`, `2h30m`, `1d`) becomes Slurm's `D-HH:MM:SS`, and a bare number is refused.
//!
//! It also turns `--stop-before` into the lead of `--signal=B:TERM@SECONDS`.
//!
//! A bare number is refused because it means two things: Slurm reads `--time 90` as 90
//! minutes, jobsplit's `--timeout 90` as 90 seconds. Writing `90m` or `01:30:00` says which.

use std::time::Duration;

use crate::{Error, Result};

/// The default of [`SlurmScriptOptions::stop_before`](super::SlurmScriptOptions::stop_before): two minutes, time for jobsplit's
/// grace (10 s by default) and Slurm's one-minute resolution of `--signal`.
pub(crate) const DEFAULT_STOP_BEFORE: Duration = Duration::from_secs(120);

/// Slurm's largest `--signal` lead time, in seconds.
const MAX_SIGNAL_SECONDS: u64 = 65_535;

/// A time limit as sbatch reads it, with its length when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SlurmTime {
    /// The value for `#SBATCH --time=`.
    pub(super) text: String,
    /// Its length in seconds; `None` for `INFINITE` / `UNLIMITED`.
    pub(super) seconds: Option<u64>,
}

/// The `--signal` lead time in seconds: `None` for none; refused when it is not shorter
/// than the time limit (jobsplit would be told to stop as it starts) or beyond Slurm's.
pub(super) fn signal_seconds(
    stop_before: Option<Duration>,
    time: Option<&SlurmTime>,
) -> Result<Option<u64>> {
    let limit = time.and_then(|t| t.seconds);
    let Some(lead) = stop_before else {
        let default = DEFAULT_STOP_BEFORE.as_secs();
        return Ok(Some(limit.map_or(default, |l| default.min(l / 2)).max(1)));
    };
    if lead.is_zero() {
        return Ok(None);
    }
    let seconds = lead.as_secs() + u64::from(lead.subsec_nanos() > 0);
    let given = humantime::format_duration(lead);
    if seconds > MAX_SIGNAL_SECONDS {
        return Err(Error::usage(format!(
            "--stop-before {given}: Slurm signals at most {MAX_SIGNAL_SECONDS} s before the \
             time limit; give a shorter --stop-before"
        )));
    }
    if let Some(limit) = limit {
        if seconds >= limit {
            return Err(Error::usage(format!(
                "--stop-before {given} is not shorter than --time {}: jobsplit would be told \
                 to stop as it starts; give a shorter --stop-before (or 0 for none) or a longer \
                 --time",
                time.map_or("", |t| t.text.as_str())
            )));
        }
    }
    Ok(Some(seconds))
}

/// `text` as an sbatch `--time` value (see the module's rules); `option` names the flag in
/// the message.
///
/// # Errors
///
/// A usage error naming `option` and a form to write instead, for a bare number, a zero or
/// an unreadable time.
#[cfg(test)]
pub(crate) fn slurm_time(option: &str, text: &str) -> Result<String> {
    parse(option, text).map(|t| t.text)
}

pub(super) fn parse(option: &str, text: &str) -> Result<SlurmTime> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("infinite") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(SlurmTime {
            text: t.to_owned(),
            seconds: None,
        });
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::usage(format!(
            "{option} {t}: a bare number is minutes to Slurm but seconds to jobsplit's \
             --timeout, so it is refused; write {t}m or {} for {t} minutes",
            t.parse::<u64>()
                .ok()
                .and_then(|m| m.checked_mul(60))
                .map_or_else(|| "HH:MM:SS".to_owned(), clock)
        )));
    }
    let found = if t.contains(':') || t.contains('-') {
        slurm_form(t)
    } else {
        with_unit(t)
    };
    match found {
        Some(SlurmTime {
            seconds: Some(0), ..
        }) => Err(Error::usage(format!(
            "{option} {t}: a zero time limit means none to Slurm; leave {option} out for the \
             partition's default, or give a positive time such as 30m"
        ))),
        Some(time) => Ok(time),
        None => Err(Error::usage(format!(
            "{option} {text:?} is not a time: write a duration such as 90m, 2h30m or 1d, or \
             Slurm's MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
        ))),
    }
}

/// Slurm's `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`, kept as written.
fn slurm_form(t: &str) -> Option<SlurmTime> {
    let (days, clock) = match t.split_once('-') {
        Some((d, rest)) => (Some(number(d)?), rest),
        None => (None, t),
    };
    let parts = clock.split(':').map(number).collect::<Option<Vec<u64>>>()?;
    // Slurm itself takes 04:75:00 or 1-30 (and adds up the fields), so they pass too.
    let seconds = match (days, parts.as_slice()) {
        (None, &[m, s]) => m.checked_mul(60)?.checked_add(s)?,
        (None, &[h, m, s]) => h.checked_mul(3600)?.checked_add(m * 60 + s)?,
        (Some(d), &[h]) => d.checked_mul(86_400)?.checked_add(h * 3600)?,
        (Some(d), &[h, m]) => d.checked_mul(86_400)?.checked_add(h * 3600 + m * 60)?,
        (Some(d), &[h, m, s]) => d.checked_mul(86_400)?.checked_add(h * 3600 + m * 60 + s)?,
        _ => return None,
    };
    Some(SlurmTime {
        text: t.to_owned(),
        seconds: Some(seconds),
    })
}

/// A duration with units (`45s`, `90m`, `2h30m`, `1d`), as `HH:MM:SS` or `D-HH:MM:SS`.
fn with_unit(t: &str) -> Option<SlurmTime> {
    let d: Duration = humantime::parse_duration(t).ok()?;
    // Slurm counts whole seconds (and rounds up to a minute): never shorten the limit.
    let seconds = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Some(SlurmTime {
        text: clock(seconds),
        seconds: Some(seconds),
    })
}

/// `seconds` as Slurm writes a time: `HH:MM:SS`, or `D-HH:MM:SS` from a day on.
fn clock(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if days > 0 {
        format!("{days}-{hms}")
    } else {
        hms
    }
}

fn number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> String {
        slurm_time("--time", text).unwrap()
    }

    fn refused(text: &str) -> String {
        let e = slurm_time("--time", text).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Usage, "{e}");
        e.to_string()
    }

    #[test]
    fn slurm_forms_pass_unchanged() {
        for t in [
            "30:00",
            "90:00",
            "04:00:00",
            "100:00:00",
            "1-12",
            "1-12:30",
            "2-00:00:00",
            "04:75:00",
            "1-30",
            "INFINITE",
            "unlimited",
        ] {
            assert_eq!(ok(t), t);
        }
        assert_eq!(parse("--time", "1-12:30").unwrap().seconds, Some(131_400));
        assert_eq!(parse("--time", "90:30").unwrap().seconds, Some(5430));
    }

    #[test]
    fn durations_with_units_convert() {
        assert_eq!(ok("1h"), "01:00:00");
        assert_eq!(ok("90m"), "01:30:00");
        assert_eq!(ok("2h30m"), "02:30:00");
        assert_eq!(ok("45s"), "00:00:45");
        assert_eq!(ok("1d"), "1-00:00:00");
        assert_eq!(ok("1d 2h"), "1-02:00:00");
        assert_eq!(ok("36h"), "1-12:00:00");
        assert_eq!(ok("1500ms"), "00:00:02");
        assert_eq!(ok("1.5h"), "01:30:00");
    }

    #[test]
    fn bare_numbers_are_refused_with_both_spellings() {
        let message = refused("90");
        assert!(message.contains("--time 90: a bare number"), "{message}");
        assert!(message.contains("write 90m or 01:30:00"), "{message}");
    }

    #[test]
    fn the_rest_is_refused_in_one_line() {
        for t in [
            "", "4 x", "1h-", "a:b", "1:2:3:4", "1-2-3", "1:", ":30", "1-", "-5", "1.5.5h",
        ] {
            let message = refused(t);
            assert!(message.starts_with("--time "), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
        assert!(refused("0s").contains("zero time limit"));
        assert!(refused("00:00").contains("zero time limit"));
    }
}
