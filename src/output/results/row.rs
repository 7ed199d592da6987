//! The row format of results.csv: the fixed columns, how a result field is named as a column,
//! the header check and the check of a row's fixed cells. The reader and the writer both use
//! these, so a format rule lives here once.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::model::Status;

/// The fixed columns, in order.
pub(crate) const FIXED: [&str; 9] = [
    "index",
    "key",
    "machine",
    "status",
    "exit_code",
    "attempt",
    "started_at",
    "duration_s",
    "error",
];

/// One attempt, as the runner records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The job's index.
    pub index: u64,
    /// The job key's 16 hex digits.
    pub key: String,
    /// The machine that ran it.
    pub machine: String,
    /// How it ended.
    pub status: Status,
    /// The exit code, if the process exited by itself.
    pub exit_code: Option<i32>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started.
    pub started_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// The job's inputs, by column name (`input`, `input_<field>`; see `input_column`).
    pub inputs: Vec<(String, String)>,
    /// The shell command the attempt ran, for a command job.
    pub command: Option<String>,
    /// Result fields, by field name (written under [`super::column_name`]).
    pub fields: Vec<(String, String)>,
}

/// The fixed cells of a row, as written.
pub(crate) fn fixed_cells(row: &ResultRow) -> [String; 9] {
    [
        row.index.to_string(),
        row.key.clone(),
        row.machine.clone(),
        row.status.as_str().to_owned(),
        row.exit_code.map(|c| c.to_string()).unwrap_or_default(),
        row.attempt.to_string(),
        super::super::rfc3339(row.started_at),
        format!("{:.6}", row.duration.as_secs_f64()),
        row.error.as_deref().map(one_line).unwrap_or_default(),
    ]
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Checks a header's column names: the fixed ones first.
///
/// # Errors
/// A header that does not start with [`FIXED`]; `fix` ends the message.
pub(crate) fn check_header(path: &Path, names: &[String], fix: &str) -> Result<()> {
    if names.len() < FIXED.len() || names[..FIXED.len()] != FIXED {
        return Err(Error::damaged(
            Some(path),
            Some(1),
            format!(
                "not a jobsplit results file (the header must start with {}): {fix}",
                FIXED.join(",")
            ),
        ));
    }
    Ok(())
}

/// The fixed cells of a row, parsed and checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    pub(crate) index: u64,
    pub(crate) key: u64,
    pub(crate) status: Status,
    pub(crate) attempt: u32,
    pub(crate) started_us: i64,
    pub(crate) duration_s: f64,
}

/// Parses and checks the fixed cells of a row `width` cells wide (the header's width).
pub(crate) fn facts(r: &csv::ByteRecord, width: usize) -> std::result::Result<Facts, String> {
    if r.len() != width {
        return Err(format!(
            "this row has {} fields but the header has {width}",
            r.len()
        ));
    }
    let text = |i: usize| std::str::from_utf8(&r[i]).unwrap_or("");
    let index = text(0)
        .parse::<u64>()
        .map_err(|_| format!("`{}` is not a job index", text(0)))?;
    let key = &r[1];
    if key.len() != 16 || !key.iter().all(u8::is_ascii_hexdigit) {
        return Err(format!("`{}` is not a job key", text(1)));
    }
    let key = u64::from_str_radix(text(1), 16).map_err(|_| "not a job key".to_owned())?;
    let status = text(3).parse::<Status>()?;
    let attempt = text(5)
        .parse::<u32>()
        .map_err(|_| format!("`{}` is not an attempt number", text(5)))?;
    let started_us = super::super::parse_micros(&r[6])
        .ok_or_else(|| format!("`{}` is not an RFC 3339 time", text(6)))?;
    let duration_s = text(7)
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d >= 0.0)
        .ok_or_else(|| format!("`{}` is not a duration in seconds", text(7)))?;
    Ok(Facts {
        index,
        key,
        status,
        attempt,
        started_us,
        duration_s,
    })
}

/// Microseconds since the epoch as a time.
pub(crate) fn micros_to_time(us: i64) -> SystemTime {
    if us >= 0 {
        UNIX_EPOCH + Duration::from_micros(us as u64)
    } else {
        UNIX_EPOCH - Duration::from_micros(us.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_read_back() {
        assert_eq!(micros_to_time(-1), UNIX_EPOCH - Duration::from_micros(1));
        assert_eq!(micros_to_time(5), UNIX_EPOCH + Duration::from_micros(5));
    }
}
