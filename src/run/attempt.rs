//! What one attempt at a job produced, whoever ran it.

use std::time::{Duration, SystemTime};

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed (non-zero exit, killed by a signal, an `Err` or a panic).
    Failed,
    /// It ran past its time limit and was stopped.
    Timeout,
    /// The run was interrupted while it ran.
    Interrupted,
}

impl Outcome {
    /// The lowercase name written to results.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// The record of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// How it ended.
    pub outcome: Outcome,
    /// The process's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// A one-line reason when it did not succeed.
    pub error: Option<String>,
    /// Result columns, in the job's order.
    pub fields: Vec<(String, String)>,
    /// When it started.
    pub started_at: SystemTime,
    /// How long it took.
    pub duration: Duration,
}

/// Where a job's output lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
    /// A library job's logger.
    Log,
    /// The runner's own events.
    Event,
}

impl Stream {
    /// The name used in log files.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
            Stream::Log => "log",
            Stream::Event => "event",
        }
    }
}

/// Turns a JSON result value into result columns: an object's fields in order (strings as is,
/// other values as compact JSON), anything else as one `result` column.
pub fn fields_of(value: &serde_json::Value) -> Vec<(String, String)> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    match value {
        serde_json::Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![("result".to_owned(), text(other))],
    }
}
