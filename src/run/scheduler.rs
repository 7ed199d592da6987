//! The scheduler: worker threads take pending jobs in share order, run each attempt through the
//! executor with retries, and record every attempt (a results.csv row, log.gz lines, the
//! tallies) as it ends. It knows nothing of the run directory's lifecycle.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use super::attempt::Attempt;
use super::events::Event;
use super::executor::{Control, Executor, JobSpec};
use super::input_cells::input_cells;
use super::job_cancels::{Begin, JobCancels};
use super::job_source::JobSource;
use crate::error::{Error, Result};
use crate::model::tally::AtomicTally;
use crate::model::{Status, Stream, Tally};
use crate::output::log::{job_log, LogWriter};
use crate::output::log_thread::{Lane, LogSink};
use crate::output::results::{ResultRow, ResultsWriter};
use crate::plan::JobKey;
use crate::Work;

/// What the workers share: the output files, the tallies, the next job and the first fatal
/// error (which stops every worker).
pub(crate) struct Shared<'a> {
    pub(crate) results: Mutex<ResultsWriter>,
    /// log.gz, written by a thread of its own; each worker has a lane into it.
    log: LogSink,
    tally: AtomicTally,
    /// The sum of attempt durations, in microseconds.
    busy_us: AtomicU64,
    source: &'a dyn JobSource,
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
    /// The jobs the user cancels (`jobsplit cancel`), when the run takes requests.
    pub(crate) cancels: Option<&'a JobCancels<'a>>,
    /// The work, whose records give every row the job's inputs.
    pub(crate) work: &'a Work,
}

impl<'a> Shared<'a> {
    /// The tally so far, with the jobs an earlier run ended: `before` is (ok then, so
    /// skipped; cancelled then).
    pub(crate) fn tally(&self, before: (u64, u64)) -> Tally {
        let mut t = self.tally.snapshot();
        t.skipped = before.0;
        t.cancelled += before.1;
        t
    }

    /// The sum of attempt durations so far.
    pub(crate) fn busy(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.busy_us.load(Ordering::Relaxed))
    }

    /// Workers sharing `results` and `log` (whose writing thread starts here).
    ///
    /// # Errors
    /// If the log's thread cannot start or its last member cannot be written.
    pub(crate) fn new(
        results: ResultsWriter,
        log: LogWriter,
        source: &'a dyn JobSource,
    ) -> Result<Self> {
        Ok(Shared {
            results: Mutex::new(results),
            log: LogSink::start(log)?,
            tally: AtomicTally::default(),
            busy_us: AtomicU64::new(0),
            source,
            fatal: Mutex::new(None),
            stop: AtomicBool::new(false),
        })
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

    /// Writes `line` (a run event) as the log's last line, then the rest of the log, and syncs
    /// it. Call once the workers have ended.
    ///
    /// # Errors
    /// The first error writing the log.
    /// Folds the rows waiting in results.csv's journal in if a fold is due (the status tick).
    pub(crate) fn fold_results_if_due(&self) -> Result<()> {
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fold_if_due()
    }

    /// Folds the rows waiting in results.csv's journal in now (the run's end).
    pub(crate) fn finish_results(&self) -> Result<()> {
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
    }

    pub(crate) fn finish_log(&self, line: &str) -> Result<()> {
        self.log.lane().line(None, Stream::Event, line)?;
        self.log.finish()
    }

    /// [`Shared::worker`], a panic on its thread (a bug, in jobsplit or in a program's own
    /// code outside its job, such as its result's `Serialize`) turned into the run's fatal
    /// error: the other workers stop and the run ends as on any fatal error (its rows kept,
    /// the manifest `interrupted`) instead of unwinding past the threads that watch it.
    pub(crate) fn worker_or_fail(
        &self,
        executor: &dyn Executor,
        control: &Control<'_>,
        settings: &Settings<'_>,
        events: &(dyn Fn(&Event<'_>) + Sync),
    ) {
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.worker(executor, control, settings, events);
        }));
        if let Err(payload) = ran {
            self.fail(Error::Internal {
                message: format!(
                    "a thread of the run {}; what the run recorded is kept: run the same command again to resume",
                    super::library::panic_message(payload.as_ref())
                ),
            });
        }
    }

    /// One worker: takes jobs until none are left, the run is cancelled or a fatal error.
    fn worker(
        &self,
        executor: &dyn Executor,
        control: &Control<'_>,
        settings: &Settings<'_>,
        events: &(dyn Fn(&Event<'_>) + Sync),
    ) {
        let lane = self.log.lane();
        loop {
            if control.cancelled() || self.stop.load(Ordering::Relaxed) {
                return;
            }
            if let Err(e) = self.log.check() {
                self.fail(e);
                return;
            }
            let stopped = || control.cancelled() || self.stop.load(Ordering::Relaxed);
            let (index, key, done_attempts) = match self.source.next(&stopped) {
                Ok(Some(job)) => job,
                Ok(None) => return,
                Err(e) => {
                    self.fail(e);
                    return;
                }
            };
            // A job the user cancelled gets its own cancellation in the control it runs under.
            let begin = settings.cancels.map(|c| c.begin(index));
            let ran = match &begin {
                Some(Begin::Cancelled) => {
                    self.never_started(index, key, done_attempts, settings, events)
                }
                Some(Begin::Run(job)) => self.run_job(
                    &lane,
                    index,
                    key,
                    done_attempts,
                    executor,
                    &control.for_job(job),
                    settings,
                    events,
                ),
                None => self.run_job(
                    &lane,
                    index,
                    key,
                    done_attempts,
                    executor,
                    control,
                    settings,
                    events,
                ),
            };
            if let Some(c) = settings.cancels {
                c.end(index);
            }
            // A job's own log is ended with the job, also when the job's recording failed.
            if let Err(e) = ran.and(lane.detach()) {
                self.fail(e);
                return;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_job(
        &self,
        lane: &Lane,
        index: u64,
        key: JobKey,
        done_attempts: u32,
        executor: &dyn Executor,
        control: &Control<'_>,
        settings: &Settings<'_>,
        events: &(dyn Fn(&Event<'_>) + Sync),
    ) -> Result<()> {
        // With job logs: whether this job's log was opened (its lines go to it through the
        // lane), or could not be (its lines then go to log.gz only, as before).
        let mut job_log_tried = false;
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
            let mut log_failed = false;
            let result = executor.execute(&spec, control, &mut |stream, text| {
                wrote = true;
                if let (Some(dir), false) = (settings.job_logs, job_log_tried) {
                    job_log_tried = true;
                    if let Ok((log, warning)) = job_log(dir, index) {
                        if let Some(w) = warning {
                            events(&Event::Warning(&w));
                        }
                        lane.attach(log);
                    }
                }
                // The first error writing the log stops the run at once (no job starts after
                // it); the job's further lines are dropped (it is not recorded: a rerun runs it).
                if !log_failed {
                    if let Err(e) = lane.line(Some(index), stream, text) {
                        log_failed = true;
                        self.fail(e);
                    }
                }
            });
            let retrying = matches!(result.outcome, Status::Failed | Status::Timeout)
                && attempt < last_attempt
                && !control.cancelled();
            if log_failed {
                return self.log.check();
            }
            // The attempt's words, rendered once for the row, the log and the reporters.
            let error = result.error();
            self.record(lane, &result, error.as_deref(), &spec, settings, wrote)?;
            events(&Event::JobFinished {
                index,
                attempt,
                outcome: result.outcome,
                duration: result.duration,
                error: error.as_deref(),
                retrying,
            });
            if !retrying {
                self.tally.add(result.outcome);
                break;
            }
        }
        Ok(())
    }

    /// Records a job cancelled before it started as a `cancelled` attempt that never ran.
    fn never_started(
        &self,
        index: u64,
        key: JobKey,
        done_attempts: u32,
        settings: &Settings<'_>,
        events: &(dyn Fn(&Event<'_>) + Sync),
    ) -> Result<()> {
        let attempt = done_attempts + 1;
        let error = "cancelled by jobsplit cancel before it started";
        events(&Event::JobStarted { index, attempt });
        let row = ResultRow {
            index,
            key: key.id(),
            machine: settings.machine.to_owned(),
            status: Status::Cancelled,
            exit_code: None,
            attempt,
            started_at: std::time::SystemTime::now(),
            duration: std::time::Duration::ZERO,
            error: Some(error.to_owned()),
            inputs: input_cells(&settings.work.jobs().record(index)),
            command: None,
            fields: Vec::new(),
        };
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&row)?;
        events(&Event::JobFinished {
            index,
            attempt,
            outcome: Status::Cancelled,
            duration: std::time::Duration::ZERO,
            error: Some(error),
            retrying: false,
        });
        self.tally.add(Status::Cancelled);
        Ok(())
    }

    /// Records one attempt: its busy time, an event line for its `error`, the end of its log
    /// member (if it wrote or failed), and its results.csv row.
    fn record(
        &self,
        lane: &Lane,
        attempt: &Attempt,
        error: Option<&str>,
        job: &JobSpec,
        settings: &Settings<'_>,
        wrote: bool,
    ) -> Result<()> {
        self.busy_us
            .fetch_add(attempt.duration.as_micros() as u64, Ordering::Relaxed);
        if wrote || error.is_some() {
            if let Some(error) = error {
                lane.line(
                    Some(job.index),
                    Stream::Event,
                    &format!("attempt {} {}: {error}", job.attempt, attempt.outcome),
                )?;
            }
            // The job's lines are in the file before its row.
            lane.flush()?;
        }
        let row = ResultRow {
            index: job.index,
            key: job.key.id(),
            machine: settings.machine.to_owned(),
            status: attempt.outcome,
            exit_code: attempt.exit_code(),
            attempt: job.attempt,
            started_at: attempt.started_at,
            duration: attempt.duration,
            error: error.map(str::to_owned),
            inputs: input_cells(&settings.work.jobs().record(job.index)),
            command: attempt.command.clone(),
            fields: attempt.fields.clone(),
        };
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&row)
    }
}
