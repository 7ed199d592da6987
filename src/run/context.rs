//! What a library job sees: its index, key, generator, the parameters, a logger, a progress
//! hook, and its deadline and the run's cancellation (a thread cannot be killed: a long job
//! looks at `is_cancelled()` and returns).

use std::cell::OnceCell;
use std::time::Instant;

use serde_json::{Map, Value};

use super::cancel::Cancel;
use super::job_rng::{JobRng, StreamHome};
use crate::plan::{JobKey, JobKeyer};

/// Sends a library job's log lines and progress somewhere (the run's log, or nowhere).
pub(crate) trait JobSink {
    fn line(&self, index: u64, text: &str);
    fn progress(&self, index: u64, fraction: f64);
}

/// A sink that drops everything.
pub(crate) struct NoSink;

impl JobSink for NoSink {
    fn line(&self, _: u64, _: &str) {}
    fn progress(&self, _: u64, _: f64) {}
}

/// The context handed to a library job.
///
/// The key (and so the generator) is computed on first use: a job that never asks pays nothing.
pub struct JobContext<'a> {
    index: u64,
    attempt: u32,
    keyer: &'a JobKeyer,
    job_bytes: &'a dyn Fn() -> Vec<u8>,
    key: OnceCell<JobKey>,
    /// The job's one random stream, made on the first `rng()`.
    stream: StreamHome,
    params: &'a Map<String, Value>,
    sink: &'a dyn JobSink,
    deadline: Option<Instant>,
    cancel: Option<&'a Cancel>,
    /// This job's own cancellation (`jobsplit cancel`).
    job_cancel: Option<&'a Cancel>,
}

impl<'a> JobContext<'a> {
    pub(crate) fn new(
        index: u64,
        attempt: u32,
        keyer: &'a JobKeyer,
        job_bytes: &'a dyn Fn() -> Vec<u8>,
        params: &'a Map<String, Value>,
        sink: &'a dyn JobSink,
    ) -> Self {
        JobContext {
            index,
            attempt,
            keyer,
            job_bytes,
            key: OnceCell::new(),
            stream: StreamHome::default(),
            params,
            sink,
            deadline: None,
            cancel: None,
            job_cancel: None,
        }
    }

    /// Sets the job's deadline (its start plus the time limit) and the run's cancellation.
    pub(crate) fn with_limits(mut self, deadline: Option<Instant>, cancel: &'a Cancel) -> Self {
        self.deadline = deadline;
        self.cancel = Some(cancel);
        self
    }

    /// Sets this job's own cancellation (`jobsplit cancel`), if the scheduler gave it one.
    pub(crate) fn with_job_cancel(mut self, job_cancel: Option<&'a Cancel>) -> Self {
        self.job_cancel = job_cancel;
        self
    }

    pub(crate) fn with_key(self, key: JobKey) -> Self {
        let _ = self.key.set(key);
        self
    }

    /// The job's index in the job list.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// 1 for the first attempt, 2 for the first retry, and so on.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The job's split-v1 key.
    pub fn key(&self) -> JobKey {
        *self
            .key
            .get_or_init(|| self.keyer.key(self.index, &(self.job_bytes)()))
    }

    /// The job's own random generator, seeded by its key: the same numbers on every host, in
    /// every run, whatever the thread count, and independent of every other job's.
    ///
    /// The job has one stream: a second `rng()` continues where the first handle left off (it
    /// does not start over and repeat the numbers). The first number drawn is the job's
    /// [`seed`](JobContext::seed). See [`JobRng`] (and what a handle taken while another is
    /// alive draws).
    pub fn rng(&self) -> JobRng<'_> {
        self.stream.lend(|| self.key().rng())
    }

    /// The seed a command job would get (the generator's first `u64`).
    pub fn seed(&self) -> u64 {
        self.key().seed()
    }

    /// The `[params]` table.
    pub fn params(&self) -> &Map<String, Value> {
        self.params
    }

    /// Writes a line to the job's log.
    pub fn log(&self, text: impl AsRef<str>) {
        for line in text.as_ref().lines() {
            self.sink.line(self.index, line);
        }
    }

    /// When the job's time limit (`--timeout`) runs out, if it has one. A thread cannot be
    /// stopped from outside: a job that runs past it is recorded `timeout` and its result
    /// discarded, so a long job checks [`JobContext::is_cancelled`] and returns.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// True once the job should stop: its deadline passed, the run was interrupted (Ctrl-C),
    /// or the user cancelled this job (`jobsplit cancel`). A job that returns after Ctrl-C is
    /// recorded as it ended (its result kept); a cancelled one is recorded `cancelled`.
    ///
    /// # Examples
    /// ```
    /// let items: Vec<u32> = (0..4).collect();
    /// let results = jobsplit::map(&items, |ctx, &n| -> Result<u32, String> {
    ///     let mut steps = 0;
    ///     while steps < 1000 && !ctx.is_cancelled() {
    ///         steps += 1; // a step of the real work
    ///     }
    ///     Ok(n + steps)
    /// });
    /// assert!(results.iter().all(Result::is_ok));
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_some_and(Cancel::is_cancelled)
            || self.job_cancel.is_some_and(Cancel::is_cancelled)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Reports how far the job has got, from 0.0 to 1.0.
    pub fn progress(&self, fraction: f64) {
        self.sink.progress(self.index, fraction.clamp(0.0, 1.0));
    }
}
