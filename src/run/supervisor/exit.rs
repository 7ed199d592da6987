//! How a supervised process ended, typed: an attempt carries it and the edges (the results row,
//! the log, the reporters, a notify event) render it in words, here and nowhere else.

use std::fmt;
use std::time::Duration;

use crate::model::Status;

/// Why jobsplit stopped a process that was still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The run was interrupted (Ctrl-C, SIGTERM, a batch system's requeue).
    Interrupted,
    /// The user cancelled this job (`jobsplit cancel`).
    Cancelled,
}

impl Stop {
    /// The status an attempt stopped so is recorded with.
    pub fn status(self) -> Status {
        match self {
            Stop::Interrupted => Status::Interrupted,
            Stop::Cancelled => Status::Cancelled,
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code (0: success).
    Code(i32),
    /// A signal killed it that jobsplit did not send (nor the run's stop).
    Signal(i32),
    /// Its time limit (this long) ran out and jobsplit ended it.
    TimedOut(Duration),
    /// jobsplit ended it, for this reason.
    Stopped(Stop),
    /// The system gave no status (it cannot be waited for).
    Unknown,
}

impl Exit {
    /// The status of an attempt whose process ended so.
    pub fn status(self) -> Status {
        match self {
            Exit::Code(0) => Status::Ok,
            Exit::Code(_) | Exit::Signal(_) | Exit::Unknown => Status::Failed,
            Exit::TimedOut(_) => Status::Timeout,
            Exit::Stopped(why) => why.status(),
        }
    }

    /// Its exit code, when it exited by itself (the `exit_code` column).
    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(c),
            _ => None,
        }
    }

    /// True for a process that exited with code 0.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl fmt::Display for Exit {
    /// `exit code 1`, `killed by signal 9 (SIGKILL)`, `timed out after 2.0s`, `interrupted`,
    /// `cancelled by jobsplit cancel`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(sig) => {
                write!(
                    f,
                    "killed by signal {sig} ({})",
                    crate::sys::signal_name(sig)
                )
            }
            Exit::TimedOut(limit) => write!(f, "timed out after {limit:.1?}"),
            Exit::Stopped(Stop::Interrupted) => f.write_str("interrupted"),
            Exit::Stopped(Stop::Cancelled) => f.write_str("cancelled by jobsplit cancel"),
            Exit::Unknown => f.write_str("ended without status"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_statuses() {
        let cases = [
            (Exit::Code(0), "exit code 0", Status::Ok),
            (Exit::Code(3), "exit code 3", Status::Failed),
            (
                Exit::Signal(9),
                "killed by signal 9 (SIGKILL)",
                Status::Failed,
            ),
            (
                Exit::TimedOut(Duration::from_secs(2)),
                "timed out after 2.0s",
                Status::Timeout,
            ),
            (
                Exit::Stopped(Stop::Interrupted),
                "interrupted",
                Status::Interrupted,
            ),
            (
                Exit::Stopped(Stop::Cancelled),
                "cancelled by jobsplit cancel",
                Status::Cancelled,
            ),
        ];
        for (exit, words, status) in cases {
            assert_eq!((exit.to_string().as_str(), exit.status()), (words, status));
        }
        assert_eq!(Exit::Code(3).code(), Some(3));
        assert_eq!(Exit::Signal(15).code(), None);
    }
}
