//! The one tally of outcomes: jobs counted by their final [`Status`], with the jobs an earlier
//! run ended (`skipped`) and the jobs with no outcome (`not_run`), and the folds every view
//! shows (ok + skipped, failed + timeout, done). The scheduler counts into an `AtomicTally`;
//! the manifest, the run's summary, status.json, `status`, merge's summary.json and the
//! reporters all read a [`Tally`] or its [`Progress`], so a fold is written here once.

use std::ops::{Add, AddAssign};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::Status;

/// Jobs counted by final status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Ended ok.
    pub ok: u64,
    /// Failed (after every attempt).
    pub failed: u64,
    /// Timed out on the last attempt.
    pub timeout: u64,
    /// Stopped by an interruption: not ended for good, a rerun resumes them.
    pub interrupted: u64,
    /// Cancelled by the user (`jobsplit cancel`): ended, not failed; `run --rerun` runs them
    /// again.
    pub cancelled: u64,
    /// Ok from an earlier run of the same share, so not run again (a run's tally; 0 in a
    /// merge, where an earlier run's ok row is simply ok).
    pub skipped: u64,
    /// No outcome at all: never started (a run interrupted first) or no row (a merge).
    pub not_run: u64,
}

impl Tally {
    /// Counts one job that ended with `status`.
    pub fn add(&mut self, status: Status) {
        *self.slot(status) += 1;
    }

    /// The jobs that ended with `status`.
    pub fn get(&self, status: Status) -> u64 {
        match status {
            Status::Ok => self.ok,
            Status::Failed => self.failed,
            Status::Timeout => self.timeout,
            Status::Interrupted => self.interrupted,
            Status::Cancelled => self.cancelled,
        }
    }

    fn slot(&mut self, status: Status) -> &mut u64 {
        match status {
            Status::Ok => &mut self.ok,
            Status::Failed => &mut self.failed,
            Status::Timeout => &mut self.timeout,
            Status::Interrupted => &mut self.interrupted,
            Status::Cancelled => &mut self.cancelled,
        }
    }

    /// Ok now or in an earlier run: the `ok` of status.json and `status`.
    pub fn ok_or_skipped(&self) -> u64 {
        self.ok + self.skipped
    }

    /// Failed or timed out: the `failed` of status.json, `status` and the progress line.
    pub fn failed_or_timeout(&self) -> u64 {
        self.failed + self.timeout
    }

    /// Ended for good: ok (now or earlier), failed, timed out or cancelled. Interrupted jobs
    /// are not done: a rerun resumes them.
    pub fn done(&self) -> u64 {
        self.ok_or_skipped() + self.failed_or_timeout() + self.cancelled
    }

    /// Attempts of this run that ended by running (ok, failed, timeout, interrupted): what a
    /// rate in jobs per second counts.
    pub fn ran(&self) -> u64 {
        self.ok + self.failed + self.timeout + self.interrupted
    }

    /// Every job with a status (skipped and not-run ones aside).
    pub fn with_status(&self) -> u64 {
        Status::ALL.iter().map(|&s| self.get(s)).sum()
    }

    /// True when every job of `share` is ok (now or earlier) or was cancelled by the user.
    pub fn all_ok(&self, share: u64) -> bool {
        self.ok_or_skipped() + self.cancelled == share
    }

    /// The folded view status.json and `status` show.
    pub fn progress(&self) -> Progress {
        Progress {
            done: self.done(),
            ok: self.ok_or_skipped(),
            failed: self.failed_or_timeout(),
            cancelled: self.cancelled,
        }
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.ok += o.ok;
        self.failed += o.failed;
        self.timeout += o.timeout;
        self.interrupted += o.interrupted;
        self.cancelled += o.cancelled;
        self.skipped += o.skipped;
        self.not_run += o.not_run;
    }
}

/// The folds of a [`Tally`] that status.json and `status` show (a host's status.json keeps
/// only these, so `status` adds hosts up in this shape).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Jobs ended for good (ok, failed after all attempts, cancelled, skipped).
    pub done: u64,
    /// Jobs ok (including skipped ones).
    pub ok: u64,
    /// Jobs failed or timed out.
    pub failed: u64,
    /// Jobs cancelled by the user (`jobsplit cancel`); counted in `done`. Absent (0) in files
    /// of older versions.
    #[serde(default)]
    pub cancelled: u64,
}

impl Add for Progress {
    type Output = Progress;
    fn add(self, o: Progress) -> Progress {
        Progress {
            done: self.done + o.done,
            ok: self.ok + o.ok,
            failed: self.failed + o.failed,
            cancelled: self.cancelled + o.cancelled,
        }
    }
}

impl std::iter::Sum for Progress {
    fn sum<I: Iterator<Item = Progress>>(iter: I) -> Progress {
        iter.fold(Progress::default(), Add::add)
    }
}

/// A [`Tally`] the scheduler's workers count into without a lock.
#[derive(Debug, Default)]
pub(crate) struct AtomicTally([AtomicU64; Status::ALL.len()]);

impl AtomicTally {
    /// Counts one job that ended with `status`.
    pub(crate) fn add(&self, status: Status) {
        self.0[status.code() as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far (`skipped` and `not_run` 0).
    pub(crate) fn snapshot(&self) -> Tally {
        let mut t = Tally::default();
        for s in Status::ALL {
            *t.slot(s) = self.0[s.code() as usize].load(Ordering::Relaxed);
        }
        t
    }
}

/// A run's tally as manifest.json spells it: `ok`, `failed`, `timeout`, `interrupted`,
/// `skipped`, `cancelled` (`not_run` is not kept there).
pub(crate) mod share_json {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        ok: u64,
        failed: u64,
        timeout: u64,
        interrupted: u64,
        skipped: u64,
        /// Absent (0) in files of older versions.
        #[serde(default)]
        cancelled: u64,
    }

    /// Writes `t` in the manifest's spelling.
    ///
    /// # Errors
    /// The serializer's.
    pub(crate) fn serialize<S: serde::Serializer>(t: &Tally, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            ok: t.ok,
            failed: t.failed,
            timeout: t.timeout,
            interrupted: t.interrupted,
            skipped: t.skipped,
            cancelled: t.cancelled,
        }
        .serialize(s)
    }

    /// Reads a tally in the manifest's spelling.
    ///
    /// # Errors
    /// A missing field or a value that is not a count.
    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tally, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(Tally {
            ok: w.ok,
            failed: w.failed,
            timeout: w.timeout,
            interrupted: w.interrupted,
            cancelled: w.cancelled,
            skipped: w.skipped,
            not_run: 0,
        })
    }
}

/// A merge's tally as summary.json spells it: `ok`, `failed`, `timeout`, `interrupted`,
/// `cancelled`, `not_run` (a merge skips nothing).
pub(crate) mod merge_json {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        ok: u64,
        failed: u64,
        timeout: u64,
        interrupted: u64,
        /// Absent (0) in summaries of older versions.
        #[serde(default)]
        cancelled: u64,
        not_run: u64,
    }

    /// Writes `t` in summary.json's spelling.
    ///
    /// # Errors
    /// The serializer's.
    pub(crate) fn serialize<S: serde::Serializer>(t: &Tally, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            ok: t.ok,
            failed: t.failed,
            timeout: t.timeout,
            interrupted: t.interrupted,
            cancelled: t.cancelled,
            not_run: t.not_run,
        }
        .serialize(s)
    }

    /// Reads a tally in summary.json's spelling.
    ///
    /// # Errors
    /// A missing field or a value that is not a count.
    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tally, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(Tally {
            ok: w.ok,
            failed: w.failed,
            timeout: w.timeout,
            interrupted: w.interrupted,
            cancelled: w.cancelled,
            skipped: 0,
            not_run: w.not_run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tally {
        let mut t = Tally::default();
        for (s, n) in Status::ALL.into_iter().zip(1..) {
            for _ in 0..n {
                t.add(s);
            }
        }
        t.skipped = 10;
        t.not_run = 20;
        t
    }

    #[test]
    fn keyed_by_status_with_its_folds() {
        let t = sample();
        assert_eq!(
            Status::ALL.map(|s| t.get(s)),
            [1, 2, 3, 4, 5],
            "ok failed timeout interrupted cancelled"
        );
        assert_eq!(t.ok_or_skipped(), 11);
        assert_eq!(t.failed_or_timeout(), 5);
        assert_eq!(
            t.done(),
            11 + 5 + 5,
            "interrupted and not-run jobs are not done"
        );
        assert_eq!(t.ran(), 1 + 2 + 3 + 4);
        assert_eq!(t.with_status(), 15);
        let p = t.progress();
        assert_eq!((p.done, p.ok, p.failed, p.cancelled), (21, 11, 5, 5));
        assert_eq!([p, p].into_iter().sum::<Progress>().done, 42);
        assert!(
            t.all_ok(16) && !t.all_ok(17),
            "ok, skipped and cancelled jobs are all ok"
        );
        let a = AtomicTally::default();
        for s in Status::ALL {
            a.add(s);
        }
        assert_eq!(a.snapshot().with_status(), 5);
    }

    #[test]
    fn spelled_as_the_manifest_and_the_summary_spell_it() {
        #[derive(Serialize, Deserialize)]
        struct M {
            #[serde(with = "share_json")]
            counts: Tally,
        }
        #[derive(Serialize, Deserialize)]
        struct S {
            jobs: u64,
            #[serde(flatten, with = "merge_json")]
            counts: Tally,
        }
        let t = sample();
        let m = serde_json::to_string(&M { counts: t }).unwrap();
        assert_eq!(
            m,
            r#"{"counts":{"ok":1,"failed":2,"timeout":3,"interrupted":4,"skipped":10,"cancelled":5}}"#
        );
        let back: M = serde_json::from_str(&m).unwrap();
        assert_eq!(back.counts, Tally { not_run: 0, ..t });
        let s = serde_json::to_string(&S { jobs: 7, counts: t }).unwrap();
        assert_eq!(
            s,
            r#"{"jobs":7,"ok":1,"failed":2,"timeout":3,"interrupted":4,"cancelled":5,"not_run":20}"#
        );
        let back: S = serde_json::from_str(&s).unwrap();
        assert_eq!(back.counts, Tally { skipped: 0, ..t });
        // Older files have no `cancelled`.
        let old: M = serde_json::from_str(
            r#"{"counts":{"ok":1,"failed":0,"timeout":0,"interrupted":0,"skipped":2}}"#,
        )
        .unwrap();
        assert_eq!(
            (old.counts.ok, old.counts.skipped, old.counts.cancelled),
            (1, 2, 0)
        );
    }
}
