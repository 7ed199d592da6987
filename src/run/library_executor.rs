//! The executor of library jobs for the runner: each job the closure over its item, with its
//! context, its limits and its output lines; a panic or an `Err` fails that job only.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{call, item_bytes};
use crate::error::Result;
use crate::model::{Status, Stream};
use crate::plan::JobKeyer;
use crate::run::attempt::{fields_of, Attempt, Reason};
use crate::run::context::{JobContext, JobSink};
use crate::run::events::Event;
use crate::run::executor::{Control, Executor, JobSpec};

/// Runs library jobs for the runner: the closure over the items of a [`crate::Work`] built from
/// them.
pub(crate) struct LibraryExecutor<'a, T, F> {
    items: &'a [T],
    f: F,
    keyer: JobKeyer,
    params: &'a Map<String, Value>,
    progress: Option<&'a (dyn Fn(u64, f64) + Sync)>,
    events: Option<&'a (dyn Fn(&Event<'_>) + Sync)>,
    /// Set once the warning that a thread cannot be killed was sent.
    warned: AtomicBool,
}

impl<'a, T, F> LibraryExecutor<'a, T, F> {
    /// An executor of `f` over `items`, whose work has `keyer` and `params`.
    pub(crate) fn new(
        items: &'a [T],
        f: F,
        keyer: JobKeyer,
        params: &'a Map<String, Value>,
    ) -> Self {
        LibraryExecutor {
            items,
            f,
            keyer,
            params,
            progress: None,
            events: None,
            warned: AtomicBool::new(false),
        }
    }

    /// Sends the executor's warnings (a job past its time limit) to `events`.
    #[must_use]
    pub(crate) fn with_events(mut self, events: &'a (dyn Fn(&Event<'_>) + Sync)) -> Self {
        self.events = Some(events);
        self
    }

    /// Warns, once per run, that a job ran past its limit and could not be stopped.
    fn warn_over_time(&self, index: u64, over: Duration, limit: Duration) {
        if self.warned.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(events) = self.events {
            events(&Event::Warning(&format!(
                "library job {index} ran {:.2} s past its time limit of {} s: a thread cannot be \
                 killed, so a job that does not check ctx.is_cancelled() runs to its end; such \
                 jobs are recorded `timeout` and their results discarded",
                over.as_secs_f64(),
                limit.as_secs_f64()
            )));
        }
    }

    /// Sends the jobs' `ctx.progress(fraction)` reports to `progress(index, fraction)`.
    #[must_use]
    pub(crate) fn with_progress(mut self, progress: &'a (dyn Fn(u64, f64) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// Where an executor sends a job's output lines.
type LineSink<'l> = &'l mut dyn FnMut(Stream, &str);

struct LogSink<'l> {
    log: std::cell::RefCell<LineSink<'l>>,
    progress: Option<&'l (dyn Fn(u64, f64) + Sync)>,
}

impl JobSink for LogSink<'_> {
    fn line(&self, _: u64, text: &str) {
        if let Ok(mut log) = self.log.try_borrow_mut() {
            (*log)(Stream::Log, text);
        }
    }
    fn progress(&self, index: u64, fraction: f64) {
        if let Some(p) = self.progress {
            p(index, fraction);
        }
    }
}

impl<T, R, E, F> Executor for LibraryExecutor<'_, T, F>
where
    T: Serialize + Sync,
    R: Serialize,
    E: Display,
    F: Fn(&JobContext<'_>, &T) -> Result<R, E> + Sync,
{
    fn execute(
        &self,
        job: &JobSpec,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Attempt {
        let started_at = SystemTime::now();
        let clock = Instant::now();
        let item = &self.items[job.index as usize];
        let bytes = || item_bytes(item).unwrap_or_default();
        let sink = LogSink {
            log: std::cell::RefCell::new(log),
            progress: self.progress,
        };
        let ctx = JobContext::new(
            job.index,
            job.attempt,
            &self.keyer,
            &bytes,
            self.params,
            &sink,
        )
        .with_key(job.key)
        .with_limits(control.timeout.map(|t| clock + t), control.cancel)
        .with_job_cancel(control.job);
        let result = call(&self.f, &ctx, item);
        let duration = clock.elapsed();
        // Past its limit: the job ran over (a thread cannot be stopped) and its result is not
        // trusted. After Ctrl-C a job that returned `Ok` keeps its result; one that returned an
        // error most likely gave up because it saw the cancellation.
        let over = control
            .timeout
            .and_then(|limit| Some((duration.checked_sub(limit)?, limit)));
        // Cancelled by the user (`jobsplit cancel`) before it returned: cancelled, whatever it
        // returned (it saw ctx.is_cancelled() turn true, or ran on regardless).
        let cancelled = control.job.is_some_and(|c| c.is_cancelled());
        let (outcome, error, fields) = match (over, result) {
            (_, _) if cancelled => (Status::Cancelled, Some(control.stopped_error()), vec![]),
            // It saw its deadline and gave up: a timeout, in its own words.
            (Some((_, limit)), Err(message)) => (
                Status::Timeout,
                Some(format!(
                    "timed out after {} s: {message}",
                    limit.as_secs_f64()
                )),
                vec![],
            ),
            // It ran on regardless: a timeout, its result discarded.
            (Some((over, limit)), Ok(_)) => {
                self.warn_over_time(job.index, over, limit);
                let error = format!(
                    "ran {:.2} s over its limit of {} s, so its result is discarded (a library job stops only when it returns: check ctx.is_cancelled())",
                    over.as_secs_f64(),
                    limit.as_secs_f64()
                );
                (Status::Timeout, Some(error), vec![])
            }
            (None, Err(_)) if control.cancelled() => {
                (Status::Interrupted, Some(control.stopped_error()), vec![])
            }
            (None, Ok(r)) => match serde_json::to_value(&r) {
                Ok(v) => (Status::Ok, None, fields_of(&v)),
                Err(e) => (
                    Status::Failed,
                    Some(format!("the result cannot be written as JSON: {e}")),
                    vec![],
                ),
            },
            (None, Err(message)) => (Status::Failed, Some(message), vec![]),
        };
        Attempt {
            outcome,
            exit: None,
            reason: error.map(Reason::Message),
            fields,
            command: None,
            started_at,
            duration,
        }
    }
}
