//! The scheduler: takes this machine's share, skips what an earlier run finished, runs the rest
//! on a local pool in share order with retries, and records every attempt as it ends.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;

use super::attempt::{Attempt, Outcome, Stream};
use super::events::Event;
use super::executor::{Control, Executor, JobSpec};
use super::guard::{end_orphans, prepare_dir, DirLock};
use crate::error::{Error, Result};
use crate::output::log::{job_log, LogWriter};
pub use crate::output::manifest::Counts;
use crate::output::manifest::{Manifest, StatusFile};
use crate::output::results::{ResultRow, ResultsWriter, Status};
use crate::plan::{JobKey, Plan, ALGORITHM};
use crate::Work;

/// What to do when the output directory holds an earlier run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resume {
    /// Resume the same plan; refuse a different one.
    #[default]
    Same,
    /// Move the old directory aside (never deleted) and start over.
    Fresh,
    /// Whatever the old plan, skip jobs whose key already has an ok row.
    KeepDone,
}

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
    pub shard: Option<(u64, u64)>,
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

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    timeout: AtomicU64,
    interrupted: AtomicU64,
    busy_us: AtomicU64,
}

impl Tally {
    fn add(&self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => &self.ok,
            Outcome::Failed => &self.failed,
            Outcome::Timeout => &self.timeout,
            Outcome::Interrupted => &self.interrupted,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self, skipped: u64) -> Counts {
        Counts {
            ok: self.ok.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            timeout: self.timeout.load(Ordering::Relaxed),
            interrupted: self.interrupted.load(Ordering::Relaxed),
            skipped,
        }
    }
}

/// Runs machine `machine`'s share of `plan` over `work` with `executor`.
///
/// Every attempt becomes a row of `results.csv` as it ends; output lines go to `log.gz`;
/// `manifest.json` and `status.json` describe the run. Setting `cancel` stops starting jobs and
/// stops the running ones; the summary then says `interrupted`, and a rerun resumes.
///
/// # Errors
/// A directory holding another plan (with `Resume::Same`), an unwritable directory, a full
/// disk. What was recorded before the error stays valid.
pub fn run_share(
    work: &Work,
    plan: &Plan,
    machine: usize,
    executor: &dyn Executor,
    opts: &RunOptions,
    cancel: &AtomicBool,
    events: &(dyn Fn(&Event<'_>) + Sync),
) -> Result<RunSummary> {
    let clock = Instant::now();
    let m = &plan.machines()[machine];
    let share = plan.share(machine);
    // Never write through a link: refuse before touching anything.
    crate::output::refuse_output_links(&opts.dir)?;
    // One run per directory: refuse before touching anything (even before --fresh moves it).
    let mut lock = match opts.dir.is_dir() {
        true => Some(DirLock::take(&opts.dir)?),
        false => None,
    };
    let moved_aside = prepare_dir(&opts.dir, plan, opts.resume)?;
    for sub in ["tmp", "jobs"] {
        std::fs::create_dir_all(opts.dir.join(sub)).map_err(|e| Error::io(&opts.dir, e))?;
    }
    if lock.is_none() || moved_aside.is_some() {
        lock = Some(DirLock::take(&opts.dir)?);
    }
    let _lock = lock;
    crate::output::remove_stale_temps(&opts.dir, &["manifest.json", "status.json"]);
    let orphans = end_orphans(&opts.dir);
    if orphans > 0 {
        events(&Event::Warning(&format!(
            "ended {orphans} jobs still running from an earlier run of {} that was killed; they run again",
            opts.dir.display()
        )));
    }

    let (results, existing) = ResultsWriter::open(&opts.dir.join("results.csv"), opts.fsync)?;
    if existing.repaired_bytes > 0 {
        events(&Event::Warning(&format!(
            "{}: cut {} bytes of a row torn by a crash; that job runs again",
            opts.dir.join("results.csv").display(),
            existing.repaired_bytes
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .build()
        .map_err(|e| Error::usage(format!("cannot start {} worker threads: {e}", opts.threads)))?;
    let keyer = work.keyer();
    let keys: Vec<JobKey> = pool.install(|| {
        share
            .par_iter()
            .map(|&i| keyer.key(i, &work.jobs().job_bytes(i)))
            .collect()
    });
    let pending: Vec<(u64, JobKey, u32)> = share
        .iter()
        .zip(&keys)
        .filter(|(_, k)| !existing.ok_keys.contains(&k.id()))
        .map(|(&i, k)| (i, *k, existing.attempts.get(&k.id()).copied().unwrap_or(0)))
        .collect();
    let skipped = (share.len() - pending.len()) as u64;
    drop(keys);

    let started_at = SystemTime::now();
    let mut manifest = Manifest {
        algorithm: ALGORITHM.to_owned(),
        work_digest: plan.work_digest().hex(),
        plan_digest: plan.plan_digest().hex(),
        machine: m.name.clone(),
        weight: m.weight_f64(),
        cores: m.cores,
        threads: opts.threads as u64,
        share: share.len() as u64,
        jobs_total: plan.jobs(),
        excluded: plan.excluded(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        hostname: hostname(),
        started_at: crate::output::rfc3339(started_at),
        ended_at: None,
        state: "running".to_owned(),
        counts: Counts {
            skipped,
            ..Counts::default()
        },
        busy_s: 0.0,
        shard: opts
            .shard
            .map(|(index, count)| crate::output::manifest::Shard { index, count }),
        first_key: Some(keyer.key(0, &work.jobs().job_bytes(0)).id()),
    };
    manifest.write_atomic(&opts.dir)?;

    let log = Mutex::new(LogWriter::open(&opts.dir.join("log.gz"))?);
    log_event(
        &log,
        None,
        &format!(
            "run started: machine {} plan {} share {} pending {} threads {}",
            m.name,
            plan.plan_digest().short(),
            share.len(),
            pending.len(),
            opts.threads
        ),
    )?;
    events(&Event::Started {
        machine: &m.name,
        share: share.len() as u64,
        skipped,
        threads: opts.threads,
    });

    let state = Shared {
        results: Mutex::new(results),
        log,
        tally: Tally::default(),
        next: AtomicUsize::new(0),
        fatal: Mutex::new(None),
        stop: AtomicBool::new(false),
    };
    let control = Control {
        cancel,
        timeout: opts.timeout,
        grace: opts.grace,
    };
    let done = (Mutex::new(false), Condvar::new());
    std::thread::scope(|scope| {
        scope.spawn(|| status_loop(&state, &manifest, &done, opts, skipped, clock));
        pool.scope(|s| {
            for _ in 0..opts.threads.max(1) {
                s.spawn(|_| {
                    worker(
                        &state,
                        &pending,
                        executor,
                        &control,
                        opts,
                        m.name.as_str(),
                        events,
                    )
                });
            }
        });
        *done.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        done.1.notify_all();
    });

    let interrupted = cancel.load(Ordering::Relaxed);
    let counts = state.tally.counts(skipped);
    let finished = counts.ok + counts.failed + counts.timeout + counts.interrupted;
    let not_started = pending.len() as u64 - finished;
    let busy = Duration::from_micros(state.tally.busy_us.load(Ordering::Relaxed));
    let fatal = state.fatal.into_inner().unwrap_or_else(|p| p.into_inner());

    let mut log = state.log.into_inner().unwrap_or_else(|p| p.into_inner());
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
    let log_result = log
        .line(SystemTime::now(), None, Stream::Event, &end_line)
        .and_then(|()| log.finish());

    manifest.ended_at = Some(crate::output::rfc3339(SystemTime::now()));
    manifest.state = if interrupted || fatal.is_some() {
        "interrupted"
    } else {
        "finished"
    }
    .to_owned();
    manifest.counts = Counts {
        ok: counts.ok,
        failed: counts.failed,
        timeout: counts.timeout,
        interrupted: counts.interrupted,
        skipped,
    };
    manifest.busy_s = busy.as_secs_f64();
    write_status(&opts.dir, &manifest, &state.tally, skipped, clock)?;
    manifest.write_atomic(&opts.dir)?;
    let _ = std::fs::remove_dir(opts.dir.join("tmp"));
    let _ = std::fs::remove_dir(opts.dir.join("jobs"));
    if let Some(e) = fatal {
        return Err(e);
    }
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

struct Shared {
    results: Mutex<ResultsWriter>,
    log: Mutex<LogWriter>,
    tally: Tally,
    next: AtomicUsize,
    fatal: Mutex<Option<Error>>,
    stop: AtomicBool,
}

impl Shared {
    fn fail(&self, e: Error) {
        self.stop.store(true, Ordering::Relaxed);
        let mut slot = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }
}

fn log_event(log: &Mutex<LogWriter>, job: Option<u64>, text: &str) -> Result<()> {
    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
    log.line(SystemTime::now(), job, Stream::Event, text)?;
    log.end_member()
}

fn worker(
    state: &Shared,
    pending: &[(u64, JobKey, u32)],
    executor: &dyn Executor,
    control: &Control<'_>,
    opts: &RunOptions,
    machine: &str,
    events: &(dyn Fn(&Event<'_>) + Sync),
) {
    loop {
        if control.cancelled() || state.stop.load(Ordering::Relaxed) {
            return;
        }
        let n = state.next.fetch_add(1, Ordering::Relaxed);
        let Some(&(index, key, done_attempts)) = pending.get(n) else {
            return;
        };
        let mut job_log_slot: Option<Result<LogWriter>> = None;
        let mut attempt = done_attempts;
        let last_attempt = done_attempts + 1 + opts.retries;
        loop {
            attempt += 1;
            events(&Event::JobStarted { index, attempt });
            let spec = JobSpec {
                index,
                key,
                attempt,
            };
            let mut wrote = false;
            let mut log_error = None;
            let result = executor.execute(&spec, control, &mut |stream, text| {
                wrote = true;
                // The time is read under the lock, so log.gz lines are in time order (merge
                // relies on it).
                let mut log = state.log.lock().unwrap_or_else(|p| p.into_inner());
                let now = SystemTime::now();
                if let Err(e) = log.line(now, Some(index), stream, text) {
                    log_error.get_or_insert(e);
                }
                drop(log);
                if opts.job_logs {
                    let log =
                        job_log_slot.get_or_insert_with(|| job_log(&opts.dir.join("logs"), index));
                    if let Ok(log) = log {
                        let _ = log.line(now, Some(index), stream, text);
                    }
                }
            });
            let retrying = matches!(result.outcome, Outcome::Failed | Outcome::Timeout)
                && attempt < last_attempt
                && !control.cancelled();
            if let Err(e) = record(
                state,
                &result,
                index,
                key,
                attempt,
                machine,
                wrote || result.error.is_some(),
                log_error,
            ) {
                state.fail(e);
                return;
            }
            events(&Event::JobFinished {
                index,
                attempt,
                outcome: result.outcome,
                duration: result.duration,
                error: result.error.as_deref(),
                retrying,
            });
            if !retrying {
                state.tally.add(result.outcome);
                break;
            }
        }
        if let Some(Ok(log)) = job_log_slot {
            if let Err(e) = log.finish() {
                state.fail(e);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    state: &Shared,
    attempt: &Attempt,
    index: u64,
    key: JobKey,
    number: u32,
    machine: &str,
    flush_log: bool,
    log_error: Option<Error>,
) -> Result<()> {
    state
        .tally
        .busy_us
        .fetch_add(attempt.duration.as_micros() as u64, Ordering::Relaxed);
    if let Some(e) = log_error {
        return Err(e);
    }
    if flush_log {
        let mut log = state.log.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(error) = &attempt.error {
            log.line(
                SystemTime::now(),
                Some(index),
                Stream::Event,
                &format!("attempt {number} {}: {error}", attempt.outcome.as_str()),
            )?;
        }
        log.end_member()?;
    }
    let row = ResultRow {
        index,
        key: key.id(),
        machine: machine.to_owned(),
        status: status_of(attempt.outcome),
        exit_code: attempt.exit_code,
        attempt: number,
        started_at: attempt.started_at,
        duration: attempt.duration,
        error: attempt.error.clone(),
        fields: attempt.fields.clone(),
    };
    state
        .results
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .append(&row)
}

fn status_of(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Ok => Status::Ok,
        Outcome::Failed => Status::Failed,
        Outcome::Timeout => Status::Timeout,
        Outcome::Interrupted => Status::Interrupted,
    }
}

fn status_loop(
    state: &Shared,
    manifest: &Manifest,
    done: &(Mutex<bool>, Condvar),
    opts: &RunOptions,
    skipped: u64,
    clock: Instant,
) {
    let mut finished = done.0.lock().unwrap_or_else(|p| p.into_inner());
    while !*finished {
        let (guard, _) = done
            .1
            .wait_timeout(finished, opts.status_interval)
            .unwrap_or_else(|p| p.into_inner());
        finished = guard;
        if *finished {
            return;
        }
        // Also end the log's gzip member at least this often, so a crash loses little.
        if let Ok(mut log) = state.log.try_lock() {
            let _ = log.end_member();
        }
        if let Err(e) = write_status(&opts.dir, manifest, &state.tally, skipped, clock) {
            state.fail(e);
        }
    }
}

fn write_status(
    dir: &Path,
    manifest: &Manifest,
    tally: &Tally,
    skipped: u64,
    clock: Instant,
) -> Result<()> {
    let c = tally.counts(skipped);
    let ran = c.ok + c.failed + c.timeout + c.interrupted;
    let elapsed = clock.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 {
        ran as f64 / elapsed
    } else {
        0.0
    };
    let done = ran + skipped;
    let remaining = manifest.share.saturating_sub(done);
    StatusFile {
        machine: manifest.machine.clone(),
        plan_digest: manifest.plan_digest.clone(),
        work_digest: manifest.work_digest.clone(),
        state: manifest.state.clone(),
        share: manifest.share,
        done,
        ok: c.ok + skipped,
        failed: c.failed + c.timeout,
        rate_per_s: rate,
        eta_s: (rate > 0.0 && remaining > 0).then(|| remaining as f64 / rate),
        updated_at: crate::output::rfc3339(SystemTime::now()),
    }
    .write_atomic(dir)
}

/// This host's name (empty if the system will not say).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The key ids of a set of jobs (for tests and resume checks).
#[allow(dead_code)]
pub(crate) fn ids(keys: &[JobKey]) -> HashSet<String> {
    keys.iter().map(JobKey::id).collect()
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
