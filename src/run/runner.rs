//! The runner: takes this machine's share, skips what an earlier run finished, and runs the rest
//! through the [scheduler](super::scheduler) in its [run directory](super::rundir).

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::cancel::Cancel;
use super::events::Event;
use super::executor::{Control, Executor};
use super::job_source::{JobSource, ListSource};
use super::pending::ToRun;
use super::rerun::JobSet;
use super::rundir::{Resume, RunDir};
use super::running::Running;
use super::scheduler::{Settings, Shared};
use super::status_loop::{status_loop, Done, StatusSource};
use super::steal::{StealOptions, Stealing};
use crate::engine::Shard;
use crate::error::{Error, Result};
use crate::model::Tally;
use crate::plan::Plan;
use crate::Work;

/// Local settings of a run (not part of the plan).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// This machine's output directory (`OUT/<machine>`).
    pub dir: PathBuf,
    /// Worker threads.
    pub threads: usize,
    /// Per-attempt time limit.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Extra attempts after a failure or timeout.
    pub retries: u32,
    /// Also write `logs/<index>.log.gz` per job.
    pub job_logs: bool,
    /// fsync results.csv after every row.
    pub fsync: bool,
    /// What to do with an earlier run in `dir`.
    pub resume: Resume,
    /// How often `status.json` is refreshed.
    pub status_interval: Duration,
    /// The shard this run is, when it runs as one task of an engine.
    pub shard: Option<Shard>,
    /// Jobs of the share to run again although they are ok or cancelled (`--rerun`); every
    /// one must be in the share.
    pub rerun: JobSet,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Jobs in the share.
    pub share: u64,
    /// Final outcomes; `not_run`: jobs never started (the run was interrupted first).
    pub counts: Tally,
    /// Wall time.
    pub wall: Duration,
    /// Sum of attempt durations.
    pub busy: Duration,
    /// True if the run was interrupted.
    pub interrupted: bool,
    /// Where the old directory went, if `Resume::Fresh` moved one aside.
    pub moved_aside: Option<PathBuf>,
}

impl RunSummary {
    /// True when every job of the share is ok (now or earlier) or was cancelled by the user
    /// (`jobsplit cancel`: their choice, not a failure).
    pub fn all_ok(&self) -> bool {
        self.counts.all_ok(self.share)
    }
}

/// Runs one machine's share of a plan: the one entry point for command jobs, library jobs and
/// a `Splitter`'s closures alike.
///
/// # Examples
/// ```no_run
/// # fn demo(work: &jobsplit::Work, plan: &jobsplit::Plan, opts: &jobsplit::testing::RunOptions,
/// #         executor: &dyn jobsplit::testing::Executor) -> jobsplit::Result<()> {
/// use jobsplit::testing::{Cancel, Runner};
///
/// let cancel = Cancel::new(); // `stop()` or `kill()` it from another thread to end the run
/// let summary = Runner::new(work, plan, 0, opts)
///     .cancel(&cancel)
///     .events(&|e| eprintln!("{e:?}"))
///     .run(executor)?;
/// assert!(summary.all_ok());
/// # Ok(()) }
/// ```
pub struct Runner<'r> {
    work: &'r Work,
    plan: &'r Plan,
    machine: usize,
    opts: &'r RunOptions,
    cancel: &'r Cancel,
    events: &'r (dyn Fn(&Event<'_>) + Sync),
    /// Set once [`Runner::check`] passed, so `run` does not read the directory again.
    checked: OnceLock<()>,
    /// `Some` for a stealing run (`--steal`).
    steal: Option<Stealing>,
}

/// The cancellation of a runner nobody can cancel.
static NEVER_CANCELLED: Cancel = Cancel::new();

impl<'r> Runner<'r> {
    /// A runner of machine `machine`'s share of `plan` over `work`, with `opts`.
    pub fn new(work: &'r Work, plan: &'r Plan, machine: usize, opts: &'r RunOptions) -> Self {
        Runner {
            work,
            plan,
            machine,
            opts,
            cancel: &NEVER_CANCELLED,
            events: &|_| {},
            checked: OnceLock::new(),
            steal: None,
        }
    }

    /// Balances by stealing (docs/balance.md): blocks are claimed in the shared output
    /// directory (the parent of `opts.dir`) as the run goes, its own share first, then the
    /// tails of slower shares. With `steal.helper` the run is a pure thief of that name.
    #[must_use]
    pub fn steal(mut self, steal: &StealOptions) -> Self {
        self.steal = Some(Stealing::new(
            self.plan,
            self.machine,
            &self.opts.dir,
            steal,
        ));
        self
    }

    /// Stops the run when `cancel` is stopped (no job starts after it, running jobs are asked
    /// to stop and get the grace period) or killed (they are ended now); they are recorded
    /// `interrupted`, the summary says `interrupted` and a rerun resumes.
    #[must_use]
    pub fn cancel(mut self, cancel: &'r Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// Sends the run's [`Event`]s to `events` (from the worker threads).
    #[must_use]
    pub fn events(mut self, events: &'r (dyn Fn(&Event<'_>) + Sync)) -> Self {
        self.events = events;
        self
    }

    /// Checks, reading only, what [`Runner::run`] would refuse in the output directory (a
    /// manifest of another plan, a foreign or malformed results.csv, a log.gz that is not gzip,
    /// a file where a directory must be, a name too long for a directory), so a program can
    /// refuse before it says anything else. `run` checks unless this runner already passed the check.
    ///
    /// # Errors
    /// The first refusal, naming its file and the fix.
    pub fn check(&self) -> Result<()> {
        if self.checked.get().is_some() {
            return Ok(());
        }
        let opts = self.opts;
        match &self.steal {
            Some(s) => {
                s.check(self.plan)?;
                s.check_rerun(self.plan, &opts.rerun)?;
            }
            None => {
                crate::output::layout::check(
                    opts.dir.parent().unwrap_or(std::path::Path::new(".")),
                    self.plan,
                )?;
                opts.rerun.check_in_share(self.plan, self.machine)?;
            }
        }
        RunDir::check(&opts.dir, self.plan, opts.resume, opts.job_logs)?;
        let _ = self.checked.set(());
        Ok(())
    }

    /// Worker threads: as asked, but never more than the share has jobs (idle pool threads
    /// are not free: 4096 of them for 2 jobs spun for minutes on 2 cores).
    fn threads(&self) -> usize {
        let share = match self.steal {
            Some(_) => (self.plan.jobs() - self.plan.excluded()) as usize,
            None => self.plan.share(self.machine).len(),
        };
        self.opts.threads.clamp(1, share.max(1))
    }

    /// The work this runner runs.
    pub fn work(&self) -> &'r Work {
        self.work
    }

    /// Sends `event` where this runner sends its own (an executor's progress, say).
    pub fn emit(&self, event: &Event<'_>) {
        (self.events)(event);
    }

    /// Runs the share with `executor`.
    ///
    /// Every attempt becomes a row of `results.csv` as it ends; output lines go to `log.gz`;
    /// `manifest.json` and `status.json` describe the run.
    ///
    /// # Errors
    /// A directory holding another plan (with `Resume::Same`), an unwritable directory, a full
    /// disk. What was recorded before the error stays valid.
    pub fn run(&self, executor: &dyn Executor) -> Result<RunSummary> {
        let opts = self.opts;
        // Everything a run can refuse is refused here, before its first byte is written.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads())
            .build()
            .map_err(|e| {
                Error::system(format!(
                    "cannot start {} worker threads ({e}): the machine's process limit is lower; pass fewer --threads",
                    opts.threads
                ))
            })?;
        self.check()?;
        if let Some(s) = &self.steal {
            s.agree(self.plan)?;
        }
        // The machine's name across hosts first: a host that loses it writes nothing.
        let name_record = self.steal.as_ref().map(|s| s.take_name()).transpose()?;
        let dir = RunDir::take(&opts.dir, self.plan, opts.resume)?;
        // From here on the directory has been written: an error says so.
        let summary = self
            .run_in(dir, &pool, executor)
            .map_err(|e| e.stopped(&opts.dir));
        drop(name_record);
        summary
    }

    /// The run once its directory is taken. (About 100 lines: its phases are functions of
    /// `runner_phases.rs`; what is left builds what the worker threads, the status loop and the
    /// cancel watcher borrow together, which must live in this one frame.)
    fn run_in(
        &self,
        dir: RunDir,
        pool: &rayon::ThreadPool,
        executor: &dyn Executor,
    ) -> Result<RunSummary> {
        let (plan, opts, events) = (self.plan, self.opts, self.events);
        let clock = Instant::now();
        let steal = self.steal.as_ref();
        let share: &[u64] = match steal {
            Some(s) if s.me.is_none() => &[],
            _ => plan.share(self.machine),
        };
        let name = steal.map_or(plan.machines()[self.machine].name.as_str(), |s| {
            s.who.machine.as_str()
        });
        self.warn_orphans(&dir);
        let (results, existing) = self.open_results(&dir)?;
        let (to_run, stealer) = self.what_to_run(&dir, pool, share, existing)?;
        let ToRun {
            pending,
            skipped,
            cancelled_before,
        } = &to_run;
        let (skipped, cancelled_before) = (*skipped, *cancelled_before);
        let cancels = self.job_cancels(&dir, share, pending, stealer.as_ref())?;

        let mut manifest = self.manifest(name, share, &to_run);
        let log = self.open_log(&dir, name, share, pending.len())?;
        let dir = self.start_manifest(dir, &mut manifest, clock)?;
        events(&Event::Started {
            machine: name,
            share: share.len() as u64,
            skipped,
            threads: self.threads(),
        });

        let list = ListSource::new(pending);
        let source: &dyn JobSource = match &stealer {
            Some(s) => s,
            None => &list,
        };
        let steal_status = || {
            stealer
                .as_ref()
                .map(|s| super::steal::status(s.block(), &s.stats))
        };
        let state = Shared::new(results, log, source)?;
        let control = Control {
            cancel: self.cancel,
            timeout: opts.timeout,
            grace: opts.grace,
            job: None,
        };
        let job_logs = dir.path().join("logs");
        let settings = Settings {
            machine: name,
            retries: opts.retries,
            job_logs: opts.job_logs.then_some(job_logs.as_path()),
            cancels: Some(&cancels),
            work: self.work,
        };
        let done = (Mutex::new(false), Condvar::new());
        // The attempts running, for status.json, kept from the run's own events.
        let running = Running::default();
        let tracked = |e: &Event<'_>| {
            running.observe(e);
            events(e);
        };
        let events: &(dyn Fn(&Event<'_>) + Sync) = &tracked;
        let status = StatusSource {
            state: &state,
            dir: &dir,
            manifest: &manifest,
            running: &running,
            before: (skipped, cancelled_before),
            clock,
            steal: &steal_status,
        };
        std::thread::scope(|scope| {
            scope.spawn(|| status_loop(&status, &done, opts.status_interval));
            scope.spawn(|| cancels.watch(&done, &|w| events(&Event::Warning(w))));
            let _done = Done(&done);
            pool.scope(|s| {
                for _ in 0..self.threads() {
                    s.spawn(|_| state.worker_or_fail(executor, &control, &settings, events));
                }
            });
        });

        phases::warn_fenced(stealer.as_ref(), name, events);
        let taken = match &stealer {
            Some(s) => s.stats.claimed.load(std::sync::atomic::Ordering::Relaxed),
            None => share.len() as u64,
        };
        let ended = phases::Ended {
            interrupted: control.cancelled(),
            taken,
            before: (skipped, cancelled_before),
            clock,
            steal: steal_status(),
        };
        self.end(&state, dir, &mut manifest, &cancels, ended)
    }
}

/// This host's name (empty if the system will not say).
pub(crate) fn hostname() -> String {
    crate::sys::hostname()
}

#[path = "runner_phases.rs"]
mod phases;

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
