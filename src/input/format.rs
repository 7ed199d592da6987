//! The formats a job list is written in (lines, CSV, JSON lines), and one job of it as read.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde_json::Value;

use crate::error::{Error, Result};

/// One job as the runner sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// A line of a `lines` job list.
    Line(&'a str),
    /// A CSV record (an object of strings) or a JSON value.
    Json(Value),
}

/// How a job list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One job per line; blank lines and `#` comments are skipped.
    #[default]
    Lines,
    /// A header row, then one record of named string fields per row.
    Csv,
    /// One JSON value per non-blank line.
    Jsonl,
}

impl Format {
    /// The format a file name suggests: `.csv`, `.jsonl`/`.ndjson`, else lines.
    pub fn from_extension(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                Format::Jsonl
            }
            _ => Format::Lines,
        }
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s {
            "lines" => Ok(Format::Lines),
            "csv" => Ok(Format::Csv),
            "jsonl" => Ok(Format::Jsonl),
            _ => Err(Error::usage(format!(
                "unknown job list format `{s}`: use lines, csv or jsonl"
            ))),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Lines => "lines",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        })
    }
}
