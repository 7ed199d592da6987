//! The scheduler: worker threads take pending jobs in share order, run each attempt through the
//! executor with retries, and record every attempt (a results.csv row, log.gz lines, the
//! tallies) as it ends. It knows nothing of the run directory's lifecycle.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use super::attempt::Attempt;
use super::events::Event;
use super::executor::{Control, Executor, JobSpec};
use crate::error::{Error, Result};
use crate::model::{Status, Stream};
use crate::output::log::{job_log, LogWriter};
use crate::output::manifest::Counts;
use crate::output::results::{ResultRow, ResultsWriter};
use crate::plan::JobKey;

/// A job still to run: its index, key and the attempts earlier runs made.
pub(crate) type Pending = (u64, JobKey, u32);

/// Final outcomes so far, counted without a lock.
#[derive(Default)]
pub(crate) struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    timeout: AtomicU64,
    interrupted: AtomicU64,
    busy_us: AtomicU64,
}

impl Tally {
    fn add(&self, status: Status) {
        match status {
            Status::Ok => &self.ok,
            Status::Failed => &self.failed,
            Status::Timeout => &self.timeout,
            Status::Interrupted => &self.interrupted,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far, with `skipped` jobs an earlier run finished.
    pub(crate) fn counts(&self, skipped: u64) -> Counts {
        Counts {
            ok: self.ok.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            timeout: self.timeout.load(Ordering::Relaxed),
            interrupted: self.interrupted.load(Ordering::Relaxed),
            skipped,
        }
    }

    /// The sum of attempt durations, in microseconds.
    pub(crate) fn busy_us(&self) -> u64 {
        self.busy_us.load(Ordering::Relaxed)
    }
}

/// What the workers share: the output files, the tallies, the next job and the first fatal
/// error (which stops every worker).
pub(crate) struct Shared<'a> {
    pub(crate) results: Mutex<ResultsWriter>,
    pub(crate) log: Mutex<LogWriter>,
    pub(crate) tally: Tally,
    pending: &'a [Pending],
    next: AtomicUsize,
    fatal: Mutex<Option<Error>>,
    stop: AtomicBool,
}

/// How the workers run and record jobs.
pub(crate) struct Settings<'a> {
    /// The machine's name, written in every row.
    pub(crate) machine: &'a str,
    /// Extra attempts after a failure or timeout.
    pub(crate) retries: u32,
    /// `Some(dir)`: also write `dir/<index>.log.gz` per job.
    pub(crate) job_logs: Option<&'a Path>,
}

impl<'a> Shared<'a> {
    pub(crate) fn new(results: ResultsWriter, log: LogWriter, pending: &'a [Pending]) -> Self {
        Shared {
            results: Mutex::new(results),
            log: Mutex::new(log),
            tally: Tally::default(),
            pending,
            next: AtomicUsize::new(0),
            fatal: Mutex::new(None),
            stop: AtomicBool::new(false),
        }
    }

    /// Stops every worker; the first fatal error is the one the run returns.
    pub(crate) fn fail(&self, e: Error) {
        self.stop.store(true, Ordering::Relaxed);
        let mut slot = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }

    /// The first fatal error, if a worker met one.
    pub(crate) fn take_fatal(&self) -> Option<Error> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Ends the log's current gzip member (so a crash loses little), unless a worker holds it.
    pub(crate) fn flush_log(&self) {
        if let Ok(mut log) = self.log.try_lock() {
            let _ = log.end_member();
        }
    }

    /// One worker: takes jobs until none are left, the run is cancelled or a fatal error.
    pub(crate) fn worker(
        &self,
        executor: &dyn Executor,
        control: &Control<'_>,
        settings: &Settings<'_>,
        events: &(dyn Fn(&Event<'_>) + Sync),
    ) {
        loop {
            if control.cancelled() || self.stop.load(Ordering::Relaxed) {
                return;
            }
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(&(index, key, done_attempts)) = self.pending.get(n) else {
                return;
            };
            if let Err(e) = self.run_job(
                index,
                key,
                done_attempts,
                executor,
                control,
                settings,
                events,
            ) {
                self.fail(e);
                return;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_job(
        &self,
        index: u64,
        key: JobKey,
        done_attempts: u32,
        executor: &dyn Executor,
        control: &Control<'_>,
        settings: &Settings<'_>,
        events: &(dyn Fn(&Event<'_>) + Sync),
    ) -> Result<()> {
        let mut job_log_slot: Option<Result<LogWriter>> = None;
        let last_attempt = done_attempts + 1 + settings.retries;
        let mut attempt = done_attempts;
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
                let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
                let now = SystemTime::now();
                if let Err(e) = log.line(now, Some(index), stream, text) {
                    log_error.get_or_insert(e);
                }
                drop(log);
                if let Some(dir) = settings.job_logs {
                    let log = job_log_slot.get_or_insert_with(|| {
                        job_log(dir, index).map(|(log, warning)| {
                            if let Some(w) = warning {
                                events(&Event::Warning(&w));
                            }
                            log
                        })
                    });
                    if let Ok(log) = log {
                        let _ = log.line(now, Some(index), stream, text);
                    }
                }
            });
            let retrying = matches!(result.outcome, Status::Failed | Status::Timeout)
                && attempt < last_attempt
                && !control.cancelled();
            if let Some(e) = log_error {
                return Err(e);
            }
            self.record(
                &result,
                &spec,
                settings.machine,
                wrote || result.error.is_some(),
            )?;
            events(&Event::JobFinished {
                index,
                attempt,
                outcome: result.outcome,
                duration: result.duration,
                error: result.error.as_deref(),
                retrying,
            });
            if !retrying {
                self.tally.add(result.outcome);
                break;
            }
        }
        match job_log_slot {
            Some(Ok(log)) => log.finish(),
            _ => Ok(()),
        }
    }

    /// Records one attempt: its busy time, an event line for its error, the end of its log
    /// member (if it wrote), and its results.csv row.
    fn record(
        &self,
        attempt: &Attempt,
        job: &JobSpec,
        machine: &str,
        flush_log: bool,
    ) -> Result<()> {
        self.tally
            .busy_us
            .fetch_add(attempt.duration.as_micros() as u64, Ordering::Relaxed);
        if flush_log {
            let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(error) = &attempt.error {
                log.line(
                    SystemTime::now(),
                    Some(job.index),
                    Stream::Event,
                    &format!("attempt {} {}: {error}", job.attempt, attempt.outcome),
                )?;
            }
            log.end_member()?;
        }
        let row = ResultRow {
            index: job.index,
            key: job.key.id(),
            machine: machine.to_owned(),
            status: attempt.outcome,
            exit_code: attempt.exit_code,
            attempt: job.attempt,
            started_at: attempt.started_at,
            duration: attempt.duration,
            error: attempt.error.clone(),
            fields: attempt.fields.clone(),
        };
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&row)
    }
}
