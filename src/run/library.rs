//! Library jobs: Rust closures over items, run in-process with the same per-job keys and
//! generators as command jobs. A panic or an `Err` fails that job only.

use std::cell::RefCell;
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::context::{JobContext, JobSink, NoSink};
use crate::error::{Error, Result};
use crate::input::to_canonical;
use crate::plan::JobKeyer;

/// A library job that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job {index} failed: {message}")]
pub struct JobError {
    /// The job's index.
    pub index: u64,
    /// The `Err` value or panic message.
    pub message: String,
}

/// The canonical JSON of an item: its job bytes in split-v1.
///
/// # Errors
/// If the item cannot be serialized to JSON (a map with non-string keys, a NaN float).
pub fn item_bytes<T: Serialize>(item: &T) -> Result<Vec<u8>> {
    let value = serde_json::to_value(item).map_err(|e| {
        Error::job_list(
            None,
            None,
            format!("a job item cannot be written as JSON: {e}"),
        )
    })?;
    Ok(to_canonical(&value))
}

/// P for a work without a command template.
pub(crate) fn shared_bytes(params: &Map<String, Value>) -> Vec<u8> {
    to_canonical(&json!({"command": null, "params": Value::Object(params.clone())}))
}

/// Receives a job's `ctx.log` lines: `(index, lines)`, once per job that logged, when it ends.
pub type LogFn = Arc<dyn Fn(u64, &[String]) + Send + Sync>;

/// Receives a job's `ctx.progress(fraction)` reports: `(index, fraction)`, as they are made.
pub type ProgressFn = Arc<dyn Fn(u64, f64) + Send + Sync>;

/// Options for [`map_with`].
#[derive(Clone, Default)]
pub struct MapOptions {
    /// Worker threads; `None` uses every CPU (in a pool of its own, never rayon's global one).
    pub threads: Option<usize>,
    /// The seed string (the same meaning as `seed` in the config).
    pub seed: Option<String>,
    /// Parameters handed to every job (the config's `[params]`).
    pub params: Map<String, Value>,
    /// Where the jobs' `ctx.log` lines go (see [`MapOptions::with_log`]); `None` drops them.
    pub on_log: Option<LogFn>,
    /// Where the jobs' `ctx.progress` reports go (see [`MapOptions::with_progress`]); `None`
    /// drops them.
    pub on_progress: Option<ProgressFn>,
}

impl MapOptions {
    /// Hands each job's `ctx.log` lines to `f(index, lines)`: one call per job that logged,
    /// on its thread as it ends (also when it failed or panicked), with all its lines in order,
    /// so the lines of one job stay together and a job that logs nothing costs nothing.
    ///
    /// # Examples
    /// ```
    /// let opts = jobsplit::MapOptions::default()
    ///     .with_log(|index, lines| eprintln!("job {index}: {}", lines.join(" | ")));
    /// let results = jobsplit::map_with(&opts, &[1u32, 2], |ctx, &n| -> Result<u32, String> {
    ///     ctx.log(format!("squaring {n}"));
    ///     Ok(n * n)
    /// });
    /// assert_eq!(results[1], Ok(4));
    /// ```
    #[must_use]
    pub fn with_log(mut self, f: impl Fn(u64, &[String]) + Send + Sync + 'static) -> Self {
        self.on_log = Some(Arc::new(f));
        self
    }

    /// Hands each `ctx.progress(fraction)` to `f(index, fraction)` (the fraction clamped to
    /// 0.0..=1.0), on the job's thread as it is reported: keep `f` cheap, or have jobs report
    /// now and then rather than on every step.
    #[must_use]
    pub fn with_progress(mut self, f: impl Fn(u64, f64) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }
}

impl std::fmt::Debug for MapOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: bool| if o { Some("<fn>") } else { None };
        f.debug_struct("MapOptions")
            .field("threads", &self.threads)
            .field("seed", &self.seed)
            .field("params", &self.params)
            .field("on_log", &set(self.on_log.is_some()))
            .field("on_progress", &set(self.on_progress.is_some()))
            .finish()
    }
}

/// Collects a `map` job's log lines (to hand over in one call when it ends) and forwards its
/// progress.
struct MapSink<'o> {
    lines: Option<RefCell<Vec<String>>>,
    progress: Option<&'o (dyn Fn(u64, f64) + Send + Sync)>,
}

impl JobSink for MapSink<'_> {
    fn line(&self, _: u64, text: &str) {
        if let Some(lines) = &self.lines {
            lines.borrow_mut().push(text.to_owned());
        }
    }
    fn progress(&self, index: u64, fraction: f64) {
        if let Some(p) = self.progress {
            p(index, fraction);
        }
    }
}

/// Runs `f` on every item in parallel and returns the results in item order.
///
/// Each job gets a [`JobContext`] with its index and a random generator keyed by split-v1, so
/// the numbers a job draws depend only on the item, its index, the parameters and the seed:
/// never on the thread count or on the other jobs. A job that panics or returns `Err` yields a
/// [`JobError`]; the others go on.
///
/// # Examples
/// ```
/// use jobsplit::rand_core::RngCore;
///
/// let points: Vec<u64> = (0..100).collect();
/// let results = jobsplit::map(&points, |ctx, &n| -> Result<u64, String> {
///     let mut rng = ctx.rng();
///     Ok(n + rng.next_u64() % 2)
/// });
/// assert_eq!(results.len(), 100);
/// assert!(results.iter().all(Result::is_ok));
/// ```
pub fn map<T, R, E, F>(items: &[T], f: F) -> Vec<Result<R, JobError>>
where
    T: Serialize + Sync,
    R: Send,
    E: Display,
    F: Fn(&JobContext<'_>, &T) -> Result<R, E> + Sync,
{
    map_with(&MapOptions::default(), items, f)
}

/// [`map`] with a thread count, seed and parameters.
///
/// # Panics
/// If the thread pool cannot be started (the operating system refuses threads).
pub fn map_with<T, R, E, F>(opts: &MapOptions, items: &[T], f: F) -> Vec<Result<R, JobError>>
where
    T: Serialize + Sync,
    R: Send,
    E: Display,
    F: Fn(&JobContext<'_>, &T) -> Result<R, E> + Sync,
{
    let keyer = JobKeyer::new(
        &shared_bytes(&opts.params),
        opts.seed.as_deref().unwrap_or("").as_bytes(),
    );
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = opts.threads {
        builder = builder.num_threads(n);
    }
    let pool = builder.build().expect("starting the thread pool");
    let on_log = opts.on_log.as_deref();
    let on_progress = opts.on_progress.as_deref();
    let watched = on_log.is_some() || on_progress.is_some();
    pool.install(|| {
        items
            .par_iter()
            .enumerate()
            .map(|(i, item)| {
                let index = i as u64;
                let bytes = || item_bytes(item).unwrap_or_default();
                let result = if watched {
                    let sink = MapSink {
                        lines: on_log.map(|_| RefCell::new(Vec::new())),
                        progress: on_progress,
                    };
                    let ctx = JobContext::new(index, 1, &keyer, &bytes, &opts.params, &sink);
                    let result = call(&f, &ctx, item);
                    let lines = sink.lines.map(RefCell::into_inner).unwrap_or_default();
                    if let (Some(log), false) = (on_log, lines.is_empty()) {
                        log(index, &lines);
                    }
                    result
                } else {
                    let ctx = JobContext::new(index, 1, &keyer, &bytes, &opts.params, &NoSink);
                    call(&f, &ctx, item)
                };
                result.map_err(|message| JobError { index, message })
            })
            .collect()
    })
}

fn call<T, R, E: Display>(
    f: &(impl Fn(&JobContext<'_>, &T) -> Result<R, E> + Sync),
    ctx: &JobContext<'_>,
    item: &T,
) -> std::result::Result<R, String> {
    match catch_unwind(AssertUnwindSafe(|| f(ctx, item))) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(e.to_string()),
        Err(payload) => Err(panic_message(payload.as_ref())),
    }
}

/// `panicked: MESSAGE` of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_owned());
    format!("panicked: {text}")
}

#[path = "library_executor.rs"]
mod executor;
pub(crate) use executor::LibraryExecutor;

#[cfg(test)]
#[path = "library_tests.rs"]
mod tests;
