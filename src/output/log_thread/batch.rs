//! Writing a batch: every lane's lines up to now, merged by time into gzip members.

use std::collections::VecDeque;
use std::time::SystemTime;

use super::{lock, Shared, LANE_LIMIT};
use crate::error::Result;
use crate::output::log::{LogWriter, Member, MEMBER_LIMIT};
use crate::output::{Stamper, STAMP_LEN};

/// The file side, held by whoever writes a batch (the thread, or a worker ending its job).
pub(super) struct Writer {
    pub(super) log: LogWriter,
    pub(super) member: Member,
    /// Lines taken from each lane and not written yet (whole buffers and how far they are
    /// written), in lane order.
    pub(super) queued: Vec<VecDeque<(Vec<u8>, usize)>>,
    /// Emptied buffers, handed back to the lanes.
    pub(super) spare: Vec<Vec<u8>>,
}

impl Shared {
    /// Takes every lane's lines and writes, in time order, those up to now (all of them when
    /// `all`: no lane adds any more).
    pub(super) fn write_batch(&self, w: &mut Writer, all: bool) -> Result<()> {
        let mut now = Vec::with_capacity(STAMP_LEN);
        Stamper::default().format(SystemTime::now(), &mut now);
        let bound = if all { [0xff; STAMP_LEN] } else { key(&now) };
        let cells = lock(&self.lanes);
        w.queued.resize_with(cells.len(), VecDeque::new);
        for (i, cell) in cells.iter().enumerate() {
            let mut slot = lock(&cell.slot);
            slot.burst = None;
            // Only a full lane can have its worker waiting.
            let full = slot.lines.len() >= LANE_LIMIT;
            if !slot.lines.is_empty() {
                let fresh = w.spare.pop().unwrap_or_default();
                let lines = std::mem::replace(&mut slot.lines, fresh);
                w.queued[i].push_back((lines, 0));
            }
            drop(slot);
            if full {
                cell.taken.notify_all();
            }
        }
        drop(cells);
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

    pub(super) fn end_member(&mut self) -> Result<()> {
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
