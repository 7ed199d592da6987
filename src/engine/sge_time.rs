//! Grid Engine time limits (`qsub -l h_rt=`): Grid Engine's own `HH:MM:SS` (or `MM:SS`)
//! passes unchanged, a duration with a unit (`90m`, `2h30m`, `1d`) becomes `HH:MM:SS` (hours
//! past 24 as they are: `36:00:00`), and a bare number is refused.
//!
//! A bare number is refused although Grid Engine reads it as seconds, as jobsplit's
//! `--timeout` does: Slurm's `--time 90` is 90 minutes, and a study moved from one engine to
//! the other would keep its number and lose its meaning. `90s` or `90m` says which.

use std::time::Duration;

use crate::{Error, Result};

/// `text` as a Grid Engine `h_rt` value (see the module's rules); `option` names the flag in
/// the message.
///
/// # Errors
///
/// A usage error naming `option` and a form to write instead, for a bare number, Slurm's
/// day form (`1-12:00:00`), a zero or an unreadable time.
pub(crate) fn sge_time(option: &str, text: &str) -> Result<String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("infinity") {
        return Ok("INFINITY".to_owned());
    }
    if number(t).is_some() {
        return Err(Error::usage(format!(
            "{option} {t}: a bare number is seconds to Grid Engine but minutes to Slurm's \
             --time, so it is refused; write {t}s, or {t}m for minutes"
        )));
    }
    if t.contains('-') {
        return Err(Error::usage(format!(
            "{option} {t}: Grid Engine has no days form like Slurm's D-HH:MM:SS; write a \
             duration such as 36h or 1d12h, or HH:MM:SS such as 36:00:00"
        )));
    }
    let found = if t.contains(':') {
        clock_form(t)
    } else {
        with_unit(t)
    };
    match found {
        Some((_, 0)) => Err(Error::usage(format!(
            "{option} {t}: a zero time limit kills the task at once; leave {option} out for \
             the queue's default, or give a positive time such as 30m"
        ))),
        Some((text, _)) => Ok(text),
        None => Err(Error::usage(format!(
            "{option} {text:?} is not a time: write a duration such as 90m, 2h30m or 1d, or \
             Grid Engine's HH:MM:SS"
        ))),
    }
}

/// `HH:MM:SS` or `MM:SS` as written, with its length in seconds.
fn clock_form(t: &str) -> Option<(String, u64)> {
    let parts = t.split(':').map(number).collect::<Option<Vec<u64>>>()?;
    let seconds = match *parts.as_slice() {
        [m, s] => m.checked_mul(60)?.checked_add(s)?,
        [h, m, s] => h.checked_mul(3600)?.checked_add(m * 60 + s)?,
        _ => return None,
    };
    Some((t.to_owned(), seconds))
}

/// A duration with units, as `HH:MM:SS`, rounded up to a whole second (never shorter).
fn with_unit(t: &str) -> Option<(String, u64)> {
    let d: Duration = humantime::parse_duration(t).ok()?;
    let seconds = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let text = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    );
    Some((text, seconds))
}

fn number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::sge_time;

    #[test]
    fn durations_and_clocks() {
        for (given, written) in [
            ("1h", "01:00:00"),
            ("90m", "01:30:00"),
            ("2h30m", "02:30:00"),
            ("45s", "00:00:45"),
            ("1d", "24:00:00"),
            ("1d12h", "36:00:00"),
            ("500h", "500:00:00"),
            ("30:00", "30:00"),
            ("04:00:00", "04:00:00"),
            ("100:00:00", "100:00:00"),
            (" 2h ", "02:00:00"),
            ("infinity", "INFINITY"),
        ] {
            assert_eq!(sge_time("--time", given).unwrap(), written, "{given}");
        }
    }

    #[test]
    fn the_rest_is_refused_in_one_line() {
        for (given, words) in [
            ("90", "--time 90: a bare number is seconds to Grid Engine but minutes to Slurm's --time, so it is refused; write 90s, or 90m for minutes"),
            ("1-12:00:00", "Grid Engine has no days form"),
            ("0s", "a zero time limit"),
            ("00:00:00", "a zero time limit"),
            ("4 x", "--time \"4 x\" is not a time"),
            ("1:2:3:4", "is not a time"),
            ("", "is not a time"),
        ] {
            let message = sge_time("--time", given).unwrap_err().to_string();
            assert!(message.contains(words), "{message:?} lacks {words:?}");
            assert!(!message.contains('\n'));
        }
    }
}
