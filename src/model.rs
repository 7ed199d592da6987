//! The shared vocabulary of a run: how an attempt ended ([`Status`]), where a log line came from
//! ([`Stream`]), what state a run is in ([`RunState`]) and how a study is balanced
//! ([`Balance`]). `run`, `output` and `merge` all
//! import these; each has exactly one spelling on disk, given here. Outcomes are counted by
//! [`Tally`]. (The shard a run is lives
//! in [`crate::engine::Shard`].)

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub(crate) mod tally;
pub(crate) use tally::Progress;
pub use tally::Tally;

/// How an attempt ended: the `status` column of results.csv.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It succeeded.
    #[default]
    Ok,
    /// It failed (a non-zero exit, a signal, an `Err` or a panic).
    Failed,
    /// It ran past its time limit and was stopped.
    Timeout,
    /// The run was interrupted while it ran.
    Interrupted,
    /// The user cancelled it (`jobsplit cancel`): not retried, not resumed; `run --rerun` runs
    /// it again.
    Cancelled,
}

impl Status {
    /// Every status, in the order of [`Status::code`].
    pub const ALL: [Status; 5] = [
        Status::Ok,
        Status::Failed,
        Status::Timeout,
        Status::Interrupted,
        Status::Cancelled,
    ];

    /// The lowercase name written to results.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Interrupted => "interrupted",
            Status::Cancelled => "cancelled",
        }
    }

    /// The status a results.csv cell names, if it names one.
    pub fn from_bytes(cell: &[u8]) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str().as_bytes() == cell)
    }

    /// A three-bit code for compact tables (0 ok, 1 failed, 2 timeout, 3 interrupted,
    /// 4 cancelled).
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The status of a [`Status::code`] (only its three low bits count; an unused code is
    /// [`Status::Cancelled`]).
    pub fn from_code(code: u32) -> Status {
        Status::ALL[((code & 7) as usize).min(Status::ALL.len() - 1)]
    }

    /// True for [`Status::Ok`].
    pub fn is_ok(self) -> bool {
        self == Status::Ok
    }

    /// True when a job whose last status this is needs nothing more: ok, or cancelled by the
    /// user. Any other status leaves it missing (merge's missing.txt, `report`'s Failures).
    pub fn is_settled(self) -> bool {
        matches!(self, Status::Ok | Status::Cancelled)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Status, String> {
        Status::from_bytes(s.as_bytes()).ok_or_else(|| {
            format!("unknown status `{s}` (ok, failed, timeout, interrupted, cancelled)")
        })
    }
}

/// Where a line of log.gz came from: its `STREAM` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The job's standard output.
    Out,
    /// The job's standard error.
    Err,
    /// A library job's logger.
    Log,
    /// The runner's own events.
    Event,
}

impl Stream {
    /// Every stream.
    pub const ALL: [Stream; 4] = [Stream::Out, Stream::Err, Stream::Log, Stream::Event];

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

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stream {
    type Err = String;
    fn from_str(s: &str) -> Result<Stream, String> {
        Stream::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown stream `{s}` (out, err, log, event)"))
    }
}

/// The state of a machine's run: the `state` of manifest.json and status.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Running now, or killed without a chance to say so (`status` tells them apart by age).
    Running,
    /// Every job of the share was tried.
    Finished,
    /// Stopped early (a signal, or an error after jobs ran); a rerun resumes.
    Interrupted,
}

impl RunState {
    /// The name written to manifest.json.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a study's jobs are balanced across its hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Balance {
    /// Each host runs its own share (the default).
    #[default]
    Static,
    /// Hosts claim blocks and steal the tails of slower shares.
    Steal,
}

impl FromStr for Balance {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Balance, crate::error::Error> {
        match s {
            "static" => Ok(Balance::Static),
            "steal" => Ok(Balance::Steal),
            _ => Err(crate::error::Error::usage(format!(
                "unknown balance `{s}`: use static or steal"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(Status::from_code(s.code()), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        for s in Stream::ALL {
            assert_eq!(s.as_str().parse::<Stream>(), Ok(s));
        }
        for s in [RunState::Running, RunState::Finished, RunState::Interrupted] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("OK".parse::<Status>().is_err());
        assert_eq!(Status::from_bytes(b"okay"), None);
    }
}
