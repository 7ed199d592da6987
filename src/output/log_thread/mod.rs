//! The run's log.gz, written off the jobs' path: each worker formats its lines into a buffer of
//! its own (its [`Lane`]), and a thread of the log's own merges the lanes in time order,
//! compresses and writes them as gzip members.
//!
//! A line costs its worker one uncontended lock, a clock read and one copy of its text; the
//! time is formatted from a cache (the date and second change rarely). Lines a worker reads
//! within [`SHARED_TIME`] of each other share the first one's time: a burst of output read from
//! a pipe at once is stamped once, so the repeated prefix of its lines compresses as well as
//! the lines themselves.
//!
//! **Time order.** To write a batch, the writer reads the time `T`, then takes each lane's
//! buffer in turn and makes the lane stamp its next line afresh, so every line added after a
//! take is stamped `T` or later (the clock read after the take). The lanes' lines up to `T` are
//! merged by time (each lane's lines are in order) and written; those after `T`, stamped while
//! the writer was taking the other lanes, wait for the next batch. So the lines of the file are
//! in time order, as long as the system clock does not step back.
//!
//! **Members.** A member is ended when it holds [`MEMBER_LIMIT`](crate::output::log::MEMBER_LIMIT) bytes of lines (plus the line
//! that crosses it), when a job that printed ends (its worker writes the member itself, before
//! the job's results.csv row), and at least every [`TICK`]. A lane holding [`BATCH`] bytes wakes
//! the writer; one holding [`LANE_LIMIT`] waits for it (the bounded queue: a job that prints
//! faster than the log is written waits on its pipe).

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

mod batch;
mod lane;

use super::log::{LogWriter, Member, LEVEL};
use crate::error::{Error, Result};
use batch::Writer;
pub(crate) use lane::Lane;
use lane::{LaneCell, Slot};

/// Lines a worker reads within this long after a line share that line's time.
pub(crate) const SHARED_TIME: Duration = Duration::from_micros(100);

/// A member is ended at least this often while it has lines (and a job log's too).
pub(crate) const TICK: Duration = Duration::from_secs(1);

/// A lane holding this many bytes wakes the writer.
const BATCH: usize = 128 << 10;

/// A lane holding this many bytes waits until the writer takes them.
const LANE_LIMIT: usize = 4 << 20;

/// The run's log.gz and its writing thread.
pub(crate) struct LogSink {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSink")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

/// What the workers, the writing thread and the sink share.
struct Shared {
    path: PathBuf,
    lanes: Mutex<Vec<Arc<LaneCell>>>,
    writer: Mutex<Writer>,
    /// The first error writing the log: the run stops on it.
    failure: Mutex<Option<Failure>>,
    failed: AtomicBool,
    stopping: AtomicBool,
    thread: OnceLock<Thread>,
    /// Ended job logs, synced by the thread (not by the worker, whose next job would wait).
    unsynced: Mutex<Vec<(File, PathBuf)>>,
}

/// An I/O error kept to be reported to every worker that asks (an `Error` is not `Clone`).
struct Failure {
    path: PathBuf,
    raw: Option<i32>,
    kind: io::ErrorKind,
    message: String,
}

impl LogSink {
    /// Starts writing to `log` (after ending the member it holds).
    ///
    /// # Errors
    /// If that member cannot be written, or the thread cannot be started.
    pub(crate) fn start(mut log: LogWriter) -> Result<LogSink> {
        log.end_member()?;
        let shared = Arc::new(Shared {
            path: log.path().to_path_buf(),
            lanes: Mutex::new(Vec::new()),
            writer: Mutex::new(Writer {
                log,
                member: Member::new(LEVEL),
                queued: Vec::new(),
                spare: Vec::new(),
            }),
            failure: Mutex::new(None),
            failed: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            thread: OnceLock::new(),
            unsynced: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("jobsplit-log".into())
            .spawn(move || for_thread.run())
            .map_err(|e| Error::io(&shared.path, e))?;
        let _ = shared.thread.set(handle.thread().clone());
        Ok(LogSink {
            shared,
            thread: Mutex::new(Some(handle)),
        })
    }

    /// A new lane, for one worker.
    pub(crate) fn lane(&self) -> Lane {
        let cell = Arc::new(LaneCell {
            slot: Mutex::new(Slot::default()),
            taken: Condvar::new(),
        });
        lock(&self.shared.lanes).push(Arc::clone(&cell));
        Lane {
            cell,
            shared: Arc::clone(&self.shared),
        }
    }

    /// The first error writing the log, if there was one.
    ///
    /// # Errors
    /// That error.
    pub(crate) fn check(&self) -> Result<()> {
        self.shared.check()
    }

    /// Stops the thread, writes every line left, ends the last member and syncs the file.
    ///
    /// # Errors
    /// The first error writing the log.
    pub(crate) fn finish(&self) -> Result<()> {
        self.stop();
        self.shared.check()?;
        self.shared
            .sync_job_logs()
            .map_err(|e| self.shared.fail(e))?;
        let mut w = lock(&self.shared.writer);
        let done = self
            .shared
            .write_batch(&mut w, true)
            .and_then(|()| w.end_member())
            .and_then(|()| w.log.sync());
        done.map_err(|e| self.shared.fail(e))
    }

    fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        if let Some(t) = self.shared.thread.get() {
            t.unpark();
        }
        if let Some(handle) = lock(&self.thread).take() {
            let _ = handle.join();
        }
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn check(&self) -> Result<()> {
        if !self.failed.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(match &*lock(&self.failure) {
            Some(f) => {
                let source = match f.raw {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(f.kind, f.message.clone()),
                };
                Error::io(&f.path, source)
            }
            None => Error::Internal {
                message: "the log failed without an error".into(),
            },
        })
    }

    /// Records the first error (and wakes every lane waiting for room); returns it.
    fn fail(&self, e: Error) -> Error {
        let mut slot = lock(&self.failure);
        if slot.is_none() {
            *slot = Some(match &e {
                Error::Io { path, source } => Failure {
                    path: path.clone(),
                    raw: source.raw_os_error(),
                    kind: source.kind(),
                    message: source.to_string(),
                },
                other => Failure {
                    path: self.path.clone(),
                    raw: None,
                    kind: io::ErrorKind::Other,
                    message: other.to_string(),
                },
            });
        }
        drop(slot);
        self.failed.store(true, Ordering::Relaxed);
        for cell in lock(&self.lanes).iter() {
            let _guard = lock(&cell.slot);
            cell.taken.notify_all();
        }
        e
    }

    /// The writing thread: a batch whenever a lane fills up, and the member ended every
    /// [`TICK`] (job logs too).
    fn run(&self) {
        let mut tick = Instant::now() + TICK;
        while !self.stopping.load(Ordering::Relaxed) && !self.failed.load(Ordering::Relaxed) {
            std::thread::park_timeout(tick.saturating_duration_since(Instant::now()));
            if self.stopping.load(Ordering::Relaxed) {
                return;
            }
            let mut done = self.sync_job_logs();
            let mut w = lock(&self.writer);
            done = done.and_then(|()| self.write_batch(&mut w, false));
            if Instant::now() >= tick {
                done = done.and_then(|()| w.end_member());
                drop(w);
                self.end_job_log_members();
                tick = Instant::now() + TICK;
            }
            if let Err(e) = done {
                self.fail(e);
                return;
            }
        }
    }

    /// Syncs the job logs ended so far.
    fn sync_job_logs(&self) -> Result<()> {
        let files = std::mem::take(&mut *lock(&self.unsynced));
        for (file, path) in files {
            file.sync_all().map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    fn end_job_log_members(&self) {
        let cells: Vec<Arc<LaneCell>> = lock(&self.lanes).clone();
        for cell in cells {
            let mut slot = lock(&cell.slot);
            let s = &mut *slot;
            if let Some(log) = s.job_log.as_mut().filter(|l| l.has_pending()) {
                if let Err(e) = log.end_member() {
                    s.job_log_error.get_or_insert(e);
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
