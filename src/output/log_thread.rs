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
//! **Members.** A member is ended when it holds [`MEMBER_LIMIT`] bytes of lines (plus the line
//! that crosses it), when a job that printed ends (its worker writes the member itself, before
//! the job's results.csv row), and at least every [`TICK`]. A lane holding [`BATCH`] bytes wakes
//! the writer; one holding [`LANE_LIMIT`] waits for it (the bounded queue: a job that prints
//! faster than the log is written waits on its pipe).

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::log::{push_fields, LogWriter, Member, LEVEL, MEMBER_LIMIT};
use super::{Stamper, STAMP_LEN};
use crate::error::{Error, Result};
use crate::model::Stream;

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
}

/// An I/O error kept to be reported to every worker that asks (an `Error` is not `Clone`).
struct Failure {
    path: PathBuf,
    raw: Option<i32>,
    kind: io::ErrorKind,
    message: String,
}

/// One worker's lines, and its job's own log (with `job_logs`).
struct LaneCell {
    slot: Mutex<Slot>,
    /// Signalled when the writer has taken the lane's lines.
    taken: Condvar,
}

#[derive(Default)]
struct Slot {
    /// Whole lines, in the order (and so the time order) they were added.
    lines: Vec<u8>,
    stamper: Stamper,
    /// The time of the current burst: microseconds since the epoch and the formatted stamp.
    burst: Option<(u64, [u8; STAMP_LEN])>,
    job_log: Option<LogWriter>,
    job_log_error: Option<Error>,
}

/// The file side, held by whoever writes a batch (the thread, or a worker ending its job).
struct Writer {
    log: LogWriter,
    member: Member,
    /// Lines taken from each lane and not written yet (whole buffers and how far they are
    /// written), in lane order.
    queued: Vec<VecDeque<(Vec<u8>, usize)>>,
    /// Emptied buffers, handed back to the lanes.
    spare: Vec<Vec<u8>>,
}

/// A worker's handle on the log.
pub(crate) struct Lane {
    cell: Arc<LaneCell>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").finish_non_exhaustive()
    }
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

impl Lane {
    /// Adds one line, stamped now (or with the time of the burst it belongs to); a `\n` inside
    /// `text` is written as a space. With a job log attached, the line goes there too.
    ///
    /// # Errors
    /// The first error writing the log (the run must stop).
    pub(crate) fn line(&self, job: Option<u64>, stream: Stream, text: &str) -> Result<()> {
        self.shared.check()?;
        let mut slot = lock(&self.cell.slot);
        let now = SystemTime::now();
        let us = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let was = slot.lines.len();
        let s = &mut *slot;
        match s.burst {
            Some((start, stamp)) if us >= start && us - start < SHARED_TIME.as_micros() as u64 => {
                s.lines.extend_from_slice(&stamp);
            }
            _ => {
                s.stamper.format(now, &mut s.lines);
                s.burst = s.lines[was..]
                    .try_into()
                    .ok()
                    .map(|stamp: [u8; STAMP_LEN]| (us, stamp));
            }
        }
        push_fields(&mut s.lines, job, stream, text);
        let job_log_full = match &mut s.job_log {
            Some(log) => log.add(&s.lines[was..]),
            None => false,
        };
        let len = s.lines.len();
        if was < BATCH && len >= BATCH {
            if let Some(t) = self.shared.thread.get() {
                t.unpark();
            }
        }
        if job_log_full {
            // Compressed outside the lane's lock, so the log thread can take the lane
            // meanwhile; no line comes to this lane before it is back (this worker adds them).
            let mut log = slot.job_log.take();
            drop(slot);
            let ended = log.as_mut().map_or(Ok(()), LogWriter::end_member);
            slot = lock(&self.cell.slot);
            slot.job_log = log;
            if let Err(e) = ended {
                slot.job_log_error.get_or_insert(e);
            }
        }
        if slot.lines.len() >= LANE_LIMIT {
            drop(
                self.cell
                    .taken
                    .wait_while(slot, |s| {
                        s.lines.len() >= LANE_LIMIT && !self.shared.failed.load(Ordering::Relaxed)
                    })
                    .unwrap_or_else(|p| p.into_inner()),
            );
            return self.shared.check();
        }
        Ok(())
    }

    /// Writes every line added so far (by any lane) and ends the member: after it returns, the
    /// lines are in the file.
    ///
    /// # Errors
    /// The first error writing the log.
    pub(crate) fn flush(&self) -> Result<()> {
        self.shared.check()?;
        let mut w = lock(&self.shared.writer);
        let done = self
            .shared
            .write_batch(&mut w, false)
            .and_then(|()| w.end_member());
        done.map_err(|e| self.shared.fail(e))
    }

    /// Sends this lane's lines also to `log` (a job's own log) until [`Lane::detach`].
    pub(crate) fn attach(&self, log: LogWriter) {
        let mut slot = lock(&self.cell.slot);
        slot.job_log = Some(log);
        slot.job_log_error = None;
    }

    /// Ends sending lines to the job log, ends its last member and syncs it.
    ///
    /// # Errors
    /// The first error writing the job log.
    pub(crate) fn detach(&self) -> Result<()> {
        let mut slot = lock(&self.cell.slot);
        let log = slot.job_log.take();
        let error = slot.job_log_error.take();
        drop(slot);
        if let Some(e) = error {
            return Err(e);
        }
        log.map_or(Ok(()), LogWriter::finish)
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
            let mut w = lock(&self.writer);
            let mut done = self.write_batch(&mut w, false);
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

    /// Takes every lane's lines and writes, in time order, those up to now (all of them when
    /// `all`: no lane adds any more).
    fn write_batch(&self, w: &mut Writer, all: bool) -> Result<()> {
        let mut now = Vec::with_capacity(STAMP_LEN);
        Stamper::default().format(SystemTime::now(), &mut now);
        let bound = if all { [0xff; STAMP_LEN] } else { key(&now) };
        let cells: Vec<Arc<LaneCell>> = lock(&self.lanes).clone();
        w.queued.resize_with(cells.len(), VecDeque::new);
        for (i, cell) in cells.iter().enumerate() {
            let mut slot = lock(&cell.slot);
            slot.burst = None;
            if !slot.lines.is_empty() {
                let fresh = w.spare.pop().unwrap_or_default();
                let lines = std::mem::replace(&mut slot.lines, fresh);
                w.queued[i].push_back((lines, 0));
            }
            drop(slot);
            cell.taken.notify_all();
        }
        while let Some((lane, limit)) = w.next_lane(&bound) {
            let Writer {
                log,
                member,
                queued,
                spare,
                ..
            } = w;
            let Some((buf, at)) = queued[lane].front_mut() else {
                break;
            };
            let end = run_end(buf, *at, &limit);
            feed(log, member, &buf[*at..end])?;
            *at = end;
            if *at == buf.len() {
                if let Some((mut buf, _)) = queued[lane].pop_front() {
                    buf.clear();
                    spare.push(buf);
                }
            }
        }
        Ok(())
    }
}

impl Writer {
    /// The lane whose next line comes first, if that line is not after `bound`, and how far
    /// that lane may be written: up to the next line of any other lane, or `bound`.
    fn next_lane(&self, bound: &Key) -> Option<(usize, Key)> {
        let mut first: Option<(usize, Key)> = None;
        let mut second: Option<Key> = None;
        for (i, q) in self.queued.iter().enumerate() {
            let Some((buf, at)) = q.front() else {
                continue;
            };
            let head = key(&buf[*at..]);
            match first {
                Some((_, f)) if head >= f => second = Some(second.map_or(head, |s| s.min(head))),
                Some((_, f)) => {
                    second = Some(second.map_or(f, |s| s.min(f)));
                    first = Some((i, head));
                }
                None => first = Some((i, head)),
            }
        }
        let (lane, head) = first?;
        (head <= *bound).then(|| (lane, second.map_or(*bound, |s| s.min(*bound))))
    }

    fn end_member(&mut self) -> Result<()> {
        self.log.write_member(&mut self.member)
    }
}

/// A line's time field (fixed width, so byte order is time order).
type Key = [u8; STAMP_LEN];

/// The time field at the start of `line`.
fn key(line: &[u8]) -> Key {
    let mut k = [0; STAMP_LEN];
    let n = line.len().min(STAMP_LEN);
    k[..n].copy_from_slice(&line[..n]);
    k
}

/// The end of the run of whole lines from `at` whose times are not after `limit`: the whole
/// buffer when its last line qualifies (a lane's lines are in time order), else found line by
/// line.
fn run_end(buf: &[u8], at: usize, limit: &Key) -> usize {
    let last = memchr::memrchr(b'\n', &buf[..buf.len() - 1]).map_or(0, |p| p + 1);
    if last >= at && key(&buf[last..]) <= *limit {
        return buf.len();
    }
    let mut end = at;
    while end < buf.len() && key(&buf[end..]) <= *limit {
        end += memchr::memchr(b'\n', &buf[end..]).map_or(buf.len() - end, |p| p + 1);
    }
    end
}

/// Adds whole lines to the member, ending it (and writing it) each time it reaches
/// [`MEMBER_LIMIT`].
fn feed(log: &mut LogWriter, member: &mut Member, mut lines: &[u8]) -> Result<()> {
    while !lines.is_empty() {
        let room = MEMBER_LIMIT - member.len();
        if lines.len() < room {
            member.push(lines);
            return Ok(());
        }
        // Up to the end of the line that reaches the limit.
        let cut = memchr::memchr(b'\n', &lines[room - 1..]).map_or(lines.len(), |p| room + p);
        member.push(&lines[..cut]);
        log.write_member(member)?;
        lines = &lines[cut..];
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
#[path = "log_thread_tests.rs"]
mod tests;
