//! The runner: takes this machine's share, skips what an earlier run finished, and runs the rest
//! through the [scheduler](super::scheduler) in its [run directory](super::rundir).

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;

use super::cancel::Cancel;
use super::events::Event;
use super::executor::{Control, Executor};
use super::rundir::{Resume, RunDir};
use super::running::Running;
use super::scheduler::{Pending, Settings, Shared};
use crate::engine::Shard;
use crate::error::{Error, Result};
use crate::model::{RunState, Stream};
use crate::output::log::LogWriter;
pub use crate::output::manifest::Counts;
use crate::output::manifest::{Manifest, PlannedMachine};
use crate::output::results::ResultsWriter;
use crate::plan::{JobKey, Plan, ALGORITHM};
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
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Jobs in the share.
    pub share: u64,
    /// Final outcomes.
    pub counts: Counts,
    /// Jobs never started (the run was interrupted first).
    pub not_started: u64,
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
    /// True when every job of the share is ok (now or earlier).
    pub fn all_ok(&self) -> bool {
        self.counts.ok + self.counts.skipped == self.share
    }
}

/// Runs one machine's share of a plan: the one entry point for command jobs, library jobs and
/// a `Splitter`'s closures alike.
///
/// # Examples
/// ```no_run
/// # fn demo(work: &jobsplit::Work, plan: &jobsplit::plan::Plan, opts: &jobsplit::run::RunOptions,
/// #         executor: &dyn jobsplit::run::Executor) -> jobsplit::Result<()> {
/// use jobsplit::run::{Cancel, Runner};
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
        }
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
        RunDir::check(&opts.dir, self.plan, opts.resume, opts.job_logs)?;
        let _ = self.checked.set(());
        Ok(())
    }

    /// Worker threads: as asked, but never more than the share has jobs (idle pool threads
    /// are not free: 4096 of them for 2 jobs spun for minutes on 2 cores).
    fn threads(&self) -> usize {
        let share = self.plan.share(self.machine).len();
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
                Error::usage(format!(
                    "cannot start {} worker threads ({e}): the machine's process limit is lower; pass fewer --threads",
                    opts.threads
                ))
            })?;
        self.check()?;
        let dir = RunDir::take(&opts.dir, self.plan, opts.resume)?;
        // From here on the directory has been written: an error says so.
        self.run_in(dir, &pool, executor)
            .map_err(|e| e.stopped(&opts.dir))
    }

    fn run_in(
        &self,
        dir: RunDir,
        pool: &rayon::ThreadPool,
        executor: &dyn Executor,
    ) -> Result<RunSummary> {
        let (work, plan, opts, events) = (self.work, self.plan, self.opts, self.events);
        let clock = Instant::now();
        let m = &plan.machines()[self.machine];
        let share = plan.share(self.machine);
        if dir.orphans() > 0 {
            events(&Event::Warning(&format!(
                "ended {} still running from an earlier run of {} that was killed; {} again",
                match dir.orphans() {
                    1 => "1 job".to_owned(),
                    n => format!("{n} jobs"),
                },
                opts.dir.display(),
                if dir.orphans() == 1 {
                    "it runs"
                } else {
                    "they run"
                }
            )));
        }
        let (results, existing) = ResultsWriter::open(&dir.path().join("results.csv"), opts.fsync)?;
        if existing.repaired_bytes > 0 {
            events(&Event::Warning(&format!(
                "{}: cut {} bytes of a row torn by a crash; that job runs again",
                dir.path().join("results.csv").display(),
                existing.repaired_bytes
            )));
        }
        let keyer = work.keyer();
        let keys: Vec<JobKey> = pool.install(|| {
            share
                .par_iter()
                .map(|&i| keyer.key(i, &work.jobs().job_bytes(i)))
                .collect()
        });
        let pending: Vec<Pending> = share
            .iter()
            .zip(&keys)
            .filter(|(_, k)| !existing.ok_keys.contains(&k.id()))
            .map(|(&i, k)| (i, *k, existing.attempts.get(&k.id()).copied().unwrap_or(0)))
            .collect();
        let skipped = (share.len() - pending.len()) as u64;
        drop(keys);

        let mut manifest = Manifest {
            algorithm: ALGORITHM.to_owned(),
            work_digest: plan.work_digest().hex(),
            plan_digest: plan.plan_digest().hex(),
            machine: m.name.clone(),
            weight: m.weight_f64(),
            cores: m.cores,
            threads: self.threads() as u64,
            share: share.len() as u64,
            jobs_total: plan.jobs(),
            excluded: plan.excluded(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            hostname: hostname(),
            started_at: crate::output::rfc3339(SystemTime::now()),
            ended_at: None,
            state: RunState::Running,
            counts: Counts {
                skipped,
                ..Counts::default()
            },
            busy_s: 0.0,
            shard: opts.shard,
            first_key: Some(keyer.key(0, &work.jobs().job_bytes(0)).id()),
            planned: (0..plan.machines().len())
                .map(|j| PlannedMachine {
                    machine: plan.machines()[j].name.clone(),
                    share: plan.share(j).len() as u64,
                })
                .collect(),
        };
        let (mut log, log_warning) = LogWriter::open(&dir.path().join("log.gz"))?;
        if let Some(w) = log_warning {
            events(&Event::Warning(&w));
        }
        log.line(
            SystemTime::now(),
            None,
            Stream::Event,
            &format!(
                "run started: machine {} plan {} share {} pending {} threads {}",
                m.name,
                plan.plan_digest().short(),
                share.len(),
                pending.len(),
                self.threads()
            ),
        )?;
        log.end_member()?;
        dir.write_manifest(&manifest)?;
        events(&Event::Started {
            machine: &m.name,
            share: share.len() as u64,
            skipped,
            threads: self.threads(),
        });

        let state = Shared::new(results, log, &pending)?;
        let control = Control {
            cancel: self.cancel,
            timeout: opts.timeout,
            grace: opts.grace,
        };
        let job_logs = dir.path().join("logs");
        let settings = Settings {
            machine: &m.name,
            retries: opts.retries,
            job_logs: opts.job_logs.then_some(job_logs.as_path()),
        };
        let done = (Mutex::new(false), Condvar::new());
        // The attempts running, for status.json, kept from the run's own events.
        let running = Running::default();
        let tracked = |e: &Event<'_>| {
            running.observe(e);
            events(e);
        };
        let events: &(dyn Fn(&Event<'_>) + Sync) = &tracked;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                status_loop(
                    &state,
                    &dir,
                    &manifest,
                    &running,
                    &done,
                    opts.status_interval,
                    skipped,
                    clock,
                )
            });
            // Ends the status loop however the workers end, a panic included: the scope would
            // otherwise wait for it forever, holding the directory's lock.
            let _done = Done(&done);
            pool.scope(|s| {
                for _ in 0..self.threads() {
                    s.spawn(|_| state.worker(executor, &control, &settings, events));
                }
            });
        });

        let interrupted = control.cancelled();
        let counts = state.tally.counts(skipped);
        let finished = counts.ok + counts.failed + counts.timeout + counts.interrupted;
        let not_started = pending.len() as u64 - finished;
        let busy = Duration::from_micros(state.tally.busy_us());
        let fatal = state.take_fatal();

        let end_line = format!(
            "run {}: ok {} failed {} timeout {} interrupted {} skipped {} not started {}",
            if interrupted {
                "interrupted"
            } else {
                "finished"
            },
            counts.ok,
            counts.failed,
            counts.timeout,
            counts.interrupted,
            skipped,
            not_started
        );
        let log_result = state.finish_log(&end_line);

        let end_state = if interrupted || fatal.is_some() {
            RunState::Interrupted
        } else {
            RunState::Finished
        };
        manifest.busy_s = busy.as_secs_f64();
        let moved_aside = dir.moved_aside().map(PathBuf::from);
        let finished = dir.finish(
            &mut manifest,
            end_state,
            counts,
            clock,
            opts.status_interval,
        );
        // The error that stopped the run comes first: on a full disk, writing status.json at
        // the end fails too, but it is not why the run stopped.
        if let Some(e) = fatal {
            return Err(e);
        }
        finished?;
        log_result?;
        Ok(RunSummary {
            share: share.len() as u64,
            counts,
            not_started,
            wall: clock.elapsed(),
            busy,
            interrupted,
            moved_aside,
        })
    }
}

/// Sets the flag the status loop waits on when dropped.
struct Done<'a>(&'a (Mutex<bool>, Condvar));

impl Drop for Done<'_> {
    fn drop(&mut self) {
        *self.0 .0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.0 .1.notify_all();
    }
}

#[allow(clippy::too_many_arguments)]
/// Refreshes status.json every `interval` until `done` is set (the log ends its members by
/// itself).
fn status_loop(
    state: &Shared<'_>,
    dir: &RunDir,
    manifest: &Manifest,
    running: &Running,
    done: &(Mutex<bool>, Condvar),
    interval: Duration,
    skipped: u64,
    clock: Instant,
) {
    let mut finished = done.0.lock().unwrap_or_else(|p| p.into_inner());
    while !*finished {
        let (guard, _) = done
            .1
            .wait_timeout(finished, interval)
            .unwrap_or_else(|p| p.into_inner());
        finished = guard;
        if *finished {
            return;
        }
        let live = (running.snapshot(), interval);
        if let Err(e) = dir.write_status(manifest, state.tally.counts(skipped), clock, live) {
            state.fail(e);
        }
    }
}

/// This host's name (empty if the system will not say).
pub fn hostname() -> String {
    crate::sys::hostname()
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
