//! What one attempt at a job produced, whoever ran it.

use std::time::{Duration, SystemTime};

use super::nonfinite;
use crate::model::Status;

/// The record of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// How it ended.
    pub outcome: Status,
    /// The process's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// A one-line reason when it did not succeed.
    pub error: Option<String>,
    /// Result columns, in the job's order.
    pub fields: Vec<(String, String)>,
    /// The shell command it ran (a command job's `command` column).
    pub command: Option<String>,
    /// When it started.
    pub started_at: SystemTime,
    /// How long it took.
    pub duration: Duration,
}

/// Turns a JSON result value into result columns: an object's fields in order (strings as is,
/// other values as compact JSON), anything else as one `result` column. A NaN or infinity read
/// from a result (docs/workers.md) is written `NaN`, `Inf` or `-Inf`.
pub fn fields_of(value: &serde_json::Value) -> Vec<(String, String)> {
    let text = |v: &serde_json::Value| match (nonfinite::cell(v), v) {
        (Some(cell), _) => cell.to_owned(),
        (None, serde_json::Value::String(s)) => s.clone(),
        (None, serde_json::Value::Null) => String::new(),
        (None, other) => nonfinite::compact(other),
    };
    match value {
        serde_json::Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![("result".to_owned(), text(other))],
    }
}
