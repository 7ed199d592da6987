//! A worker's lane into the log: its lines, stamped and formatted, until the log's thread takes
//! them; and the job log its lines also go to.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{lock, Shared, BATCH, LANE_LIMIT, SHARED_TIME};
use crate::error::{Error, Result};
use crate::model::Stream;
use crate::output::log::{push_fields, LogWriter};
use crate::output::{Stamper, STAMP_LEN};

/// One worker's lines, and its job's own log (with `job_logs`).
pub(super) struct LaneCell {
    pub(super) slot: Mutex<Slot>,
    /// Signalled when the writer has taken the lane's lines.
    pub(super) taken: Condvar,
}

/// What a lane holds, under its lock.
#[derive(Default)]
pub(super) struct Slot {
    /// Whole lines, in the order (and so the time order) they were added.
    pub(super) lines: Vec<u8>,
    stamper: Stamper,
    /// The time of the current burst: microseconds since the epoch and the formatted stamp.
    pub(super) burst: Option<(u64, [u8; STAMP_LEN])>,
    pub(super) job_log: Option<LogWriter>,
    pub(super) job_log_error: Option<Error>,
}

/// A worker's handle on the log.
pub(crate) struct Lane {
    pub(super) cell: Arc<LaneCell>,
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").finish_non_exhaustive()
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

    /// Ends sending lines to the job log and ends its last member; the log's thread syncs it
    /// soon after (and before the run's log is finished).
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
        if let Some(log) = log {
            lock(&self.shared.unsynced).push(log.end()?);
            if let Some(t) = self.shared.thread.get() {
                t.unpark();
            }
        }
        Ok(())
    }
}
