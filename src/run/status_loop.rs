//! The thread that keeps status.json fresh while a run's workers run, and the guard that ends
//! it however they end.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::rundir::RunDir;
use super::running::Running;
use super::scheduler::Shared;
use crate::output::balance::StealStatus;
use crate::output::manifest::Manifest;

/// The flag the status loop waits on, with its condition variable.
pub(crate) type DoneFlag = (Mutex<bool>, Condvar);

/// Sets the flag the status loop waits on when dropped: the loop ends however the workers end, a
/// panic included (the thread scope would otherwise wait for it forever, holding the
/// directory's lock).
pub(crate) struct Done<'a>(pub(crate) &'a DoneFlag);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        *self.0 .0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.0 .1.notify_all();
    }
}

/// What the status loop reports from.
pub(crate) struct StatusSource<'a> {
    pub(crate) state: &'a Shared<'a>,
    pub(crate) dir: &'a RunDir,
    pub(crate) manifest: &'a Manifest,
    pub(crate) running: &'a Running,
    /// Jobs an earlier run finished, and those it left cancelled.
    pub(crate) before: (u64, u64),
    /// When the run started.
    pub(crate) clock: Instant,
    pub(crate) steal: &'a (dyn Fn() -> Option<StealStatus> + Sync),
}

/// Writes status.json as the run starts (a launcher watching sees it running at once, not the
/// last run's end), then refreshes it every `interval` until `done` is set (the log ends its
/// members by itself). A write that fails stops the run (a full disk).
pub(crate) fn status_loop(from: &StatusSource<'_>, done: &DoneFlag, interval: Duration) {
    let mut finished = done.0.lock().unwrap_or_else(|p| p.into_inner());
    let mut first = true;
    while !*finished {
        if !std::mem::take(&mut first) {
            let (guard, _) = done
                .1
                .wait_timeout(finished, interval)
                .unwrap_or_else(|p| p.into_inner());
            finished = guard;
            if *finished {
                return;
            }
        }
        let live = (from.running.snapshot(), interval);
        let counts = from.state.tally(from.before);
        if let Err(e) =
            from.dir
                .write_status(from.manifest, counts, from.clock, (from.steal)(), live)
        {
            from.state.fail(e);
        }
        if let Err(e) = from.state.fold_results_if_due() {
            from.state.fail(e);
        }
    }
}
