//! What one attempt at a job produced, whoever ran it.

use std::time::{Duration, SystemTime};

use super::nonfinite;
use super::supervisor::Exit;
use crate::model::Status;

/// The record of one attempt. It carries how its process ended and why it failed typed; the
/// words (`exit code 1: invalid sample count -5`) are rendered by [`Attempt::error`] where the
/// attempt is written or shown.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// How it ended.
    pub outcome: Status,
    /// How the process that ran it ended, when one did: a command job's shell, or the worker
    /// that held it when it ended or was stopped (not one that answered).
    pub exit: Option<Exit>,
    /// Why it did not succeed, besides `exit`.
    pub reason: Option<Reason>,
    /// Result columns, in the job's order.
    pub fields: Vec<(String, String)>,
    /// The shell command it ran (a command job's `command` column).
    pub command: Option<String>,
    /// When it started.
    pub started_at: SystemTime,
    /// How long it took.
    pub duration: Duration,
}

/// Why an attempt did not succeed, besides its process's [`Exit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Its last words (a command job's last non-empty stderr line, escaped and cut): they
    /// follow the exit, `exit code 1: invalid sample count -5`.
    Said(String),
    /// The worker holding it ended by itself: before it said hello, or while it ran the job.
    WorkerEnded {
        /// True if it never said hello.
        before_hello: bool,
    },
    /// The whole message: the job's own (a worker's or library job's error) or jobsplit's (a
    /// command that cannot start, a broken protocol, a bad result file).
    Message(String),
}

impl Attempt {
    /// The process's exit code, when it exited by itself (the `exit_code` column).
    pub fn exit_code(&self) -> Option<i32> {
        self.exit.and_then(Exit::code)
    }

    /// Why it did not succeed, in one line (the `error` column, the log's event line, the
    /// reporters): `None` for an attempt that did.
    pub fn error(&self) -> Option<String> {
        let exit = self.exit.filter(|e| !e.success());
        match (&self.reason, exit) {
            (Some(Reason::Message(m)), _) => Some(m.clone()),
            (Some(Reason::Said(said)), Some(e)) => Some(format!("{e}: {said}")),
            (Some(Reason::Said(said)), None) => Some(said.clone()),
            (Some(Reason::WorkerEnded { before_hello }), _) => {
                let how = self.exit.unwrap_or(Exit::Unknown);
                Some(if *before_hello {
                    format!("the worker exited before saying hello ({how}): check the worker command and its stderr in log.gz")
                } else {
                    format!("the worker crashed while running this job ({how})")
                })
            }
            (None, e) => e.map(|e| e.to_string()),
        }
    }
}

/// The most characters of a job's own words kept in an `error` (its last stderr line, a
/// worker's error answer); longer words are cut and end with `…`.
pub(crate) const MAX_REASON: usize = 200;

/// `text` cut after [`MAX_REASON`] characters (then ending with `…`).
pub(crate) fn cut_reason(text: &str) -> String {
    match text.char_indices().nth(MAX_REASON) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// Turns a JSON result value into result columns: an object's fields in order (strings as is,
/// other values as compact JSON), anything else as one `result` column. A NaN or infinity read
/// from a result (docs/workers.md) is written `NaN`, `Inf` or `-Inf`.
pub(crate) fn fields_of(value: &serde_json::Value) -> Vec<(String, String)> {
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
