//! The row format of results.csv: the fixed columns, how a result field is named as a column,
//! the header check and the check of a row's fixed cells. The reader and the writer both use
//! these, so a format rule lives here once.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::model::Status;
use crate::output::Stamper;

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
    FixedCells::default().cells(row).map(str::to_owned)
}

/// Formats the fixed cells of rows (the one rule of how they are written, for
/// [`fixed_cells`] too) into a buffer kept from row to row: the writer formats one row per
/// attempt, on the jobs' path, without an allocation.
#[derive(Debug, Default)]
pub(crate) struct FixedCells {
    stamper: Stamper,
    stamp: Vec<u8>,
    /// The cells that are not the row's own strings, one after another.
    text: String,
}

impl FixedCells {
    /// The fixed cells of `row`: index, key, machine, status, exit code, attempt, start
    /// (RFC 3339, microseconds), duration (seconds, six decimals), error (on one line).
    pub(crate) fn cells<'a>(&'a mut self, row: &'a ResultRow) -> [&'a str; 9] {
        use std::fmt::Write as _;
        let text = &mut self.text;
        text.clear();
        let mut number = itoa::Buffer::new();
        text.push_str(number.format(row.index));
        let index = text.len();
        if let Some(code) = row.exit_code {
            text.push_str(number.format(code));
        }
        let exit_code = text.len();
        text.push_str(number.format(row.attempt));
        let attempt = text.len();
        self.stamp.clear();
        self.stamper.format(row.started_at, &mut self.stamp);
        text.push_str(std::str::from_utf8(&self.stamp).unwrap_or_default());
        let started_at = text.len();
        let _ = write!(text, "{:.6}", row.duration.as_secs_f64());
        let duration = text.len();
        let error = row.error.as_deref().unwrap_or_default();
        let error = if error.contains(['\n', '\r']) {
            for c in error.chars() {
                text.push(if matches!(c, '\n' | '\r') { ' ' } else { c });
            }
            &text[duration..]
        } else {
            error
        };
        [
            &text[..index],
            &row.key,
            &row.machine,
            row.status.as_str(),
            &text[index..exit_code],
            &text[exit_code..attempt],
            &text[attempt..started_at],
            &text[started_at..duration],
            error,
        ]
    }
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
    fn fixed_cells_are_written_as_before() {
        // How the cells were made before `FixedCells`: the bytes of every row must not move.
        fn before(row: &ResultRow) -> [String; 9] {
            [
                row.index.to_string(),
                row.key.clone(),
                row.machine.clone(),
                row.status.as_str().to_owned(),
                row.exit_code.map(|c| c.to_string()).unwrap_or_default(),
                row.attempt.to_string(),
                crate::output::rfc3339(row.started_at),
                format!("{:.6}", row.duration.as_secs_f64()),
                row.error
                    .as_deref()
                    .map(|s| s.replace(['\n', '\r'], " "))
                    .unwrap_or_default(),
            ]
        }
        let row = |exit_code, error: Option<&str>, us: u64, ns: u32, took: Duration| ResultRow {
            index: 18_446_744_073_709_551_615,
            key: "0123456789abcdef".into(),
            machine: "m,1".into(),
            status: Status::Failed,
            exit_code,
            attempt: 3,
            started_at: UNIX_EPOCH + Duration::from_micros(us) + Duration::from_nanos(ns.into()),
            duration: took,
            error: error.map(str::to_owned),
            inputs: Vec::new(),
            command: None,
            fields: Vec::new(),
        };
        let rows = [
            row(None, None, 0, 0, Duration::ZERO),
            row(
                Some(-1),
                Some("a\nb\r\nc é"),
                1_795_000_000_123_456,
                999,
                Duration::new(3, 5),
            ),
            row(
                Some(255),
                Some("plain"),
                1_795_000_001_000_000,
                1,
                Duration::new(0, 999_999_500),
            ),
            row(
                Some(0),
                Some(""),
                253_402_300_799_999_999,
                0,
                Duration::new(1 << 40, 1_500),
            ),
        ];
        let mut cells = FixedCells::default();
        for r in &rows {
            assert_eq!(cells.cells(r), before(r).each_ref().map(String::as_str));
            assert_eq!(fixed_cells(r), before(r));
        }
        let early = ResultRow {
            started_at: UNIX_EPOCH - Duration::from_secs(1),
            ..rows[0].clone()
        };
        assert_eq!(
            cells.cells(&early),
            before(&early).each_ref().map(String::as_str)
        );
    }

    #[test]
    fn micros_read_back() {
        assert_eq!(micros_to_time(-1), UNIX_EPOCH - Duration::from_micros(1));
        assert_eq!(micros_to_time(5), UNIX_EPOCH + Duration::from_micros(5));
    }
}
