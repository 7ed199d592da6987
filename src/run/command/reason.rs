//! The reason a command job failed, taken from what it said last: its last non-empty stderr
//! line, added to the attempt's `error` (`exit code 1: invalid sample count -5`) so that
//! results.csv says why without a look at the log.

use crate::model::Status;
use crate::run::attempt::{cut_reason, Reason, MAX_REASON};
use crate::text;

/// The last non-empty stderr line of one attempt, kept short as it is read.
#[derive(Default)]
pub(super) struct LastErrLine {
    line: String,
}

impl LastErrLine {
    /// Remembers `line` if it holds more than white space. Only its start is kept: a job's
    /// megabyte-long line costs no more than a short one.
    pub(super) fn see(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        self.line.clear();
        // Escaping at most quadruples a character's width (`\u{1b}`), so this keeps enough to
        // fill MAX_REASON and to know whether the line was longer.
        let keep = line
            .char_indices()
            .nth(MAX_REASON + 1)
            .map_or(line.len(), |(at, _)| at);
        self.line.push_str(line[..keep].trim());
    }

    /// The remembered line, escaped and cut, as the reason of an attempt that failed or timed
    /// out; none for other outcomes (an interrupted run) or a job that wrote nothing to stderr.
    pub(super) fn reason(&self, outcome: Status) -> Option<Reason> {
        if self.line.is_empty() || !matches!(outcome, Status::Failed | Status::Timeout) {
            return None;
        }
        Some(Reason::Said(cut_reason(&text::escape(&self.line))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(lines: &[&str], outcome: Status) -> String {
        let mut last = LastErrLine::default();
        lines.iter().for_each(|l| last.see(l));
        let attempt = crate::run::Attempt {
            outcome,
            exit: Some(crate::run::Exit::Code(1)),
            reason: last.reason(outcome),
            fields: Vec::new(),
            command: None,
            started_at: std::time::SystemTime::now(),
            duration: std::time::Duration::ZERO,
        };
        attempt.error().unwrap()
    }

    #[test]
    fn keeps_the_last_non_empty_line() {
        assert_eq!(
            reason(&["first", "  why  ", " \t"], Status::Failed),
            "exit code 1: why"
        );
        assert_eq!(reason(&[], Status::Failed), "exit code 1");
        assert_eq!(reason(&["why"], Status::Interrupted), "exit code 1");
    }

    #[test]
    fn escapes_and_caps_the_line() {
        let long = format!("\x1b[1m{}", "é".repeat(1000));
        let got = reason(&[&long], Status::Timeout);
        assert!(got.starts_with("exit code 1: \\u{1b}[1méé"), "{got}");
        assert!(got.ends_with('…'));
        assert_eq!(got.chars().count(), "exit code 1: ".len() + MAX_REASON + 1);
        assert!(!got.chars().any(char::is_control));
    }
}
