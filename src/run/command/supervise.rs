//! Supervising one job's shell: read its output until it and its processes are done, enforce
//! the time limit and the run's cancellation (SIGTERM, the grace period, SIGKILL), and end
//! whatever it leaves behind, in its process group or out of it.
//!
//! Every wait has a deadline that, once past, changes the state (stop, kill, look for
//! leftovers, stop reading), so the loop never spins: it sleeps in `poll` until output, the
//! shell's exit, a deadline or the next look at the cancel flag.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::{Duration, Instant};

use super::leftovers::Marked;
use super::pipe::{Pipe, ReadFd};
use crate::model::{Status, Stream};
use crate::run::executor::Control;
use crate::sys::{self, Pid, Signal};

/// How often a waiting worker looks at the cancel flag and the clock.
const TICK: Duration = Duration::from_millis(100);
/// After the shell exited, how long its output may stay open before we look for the processes
/// that hold it outside its group.
const SETTLE: Duration = Duration::from_millis(20);
/// Once a job is over (its shell gone and its leftovers killed), how long to read what is
/// still in its pipes before giving up on them: a holder that escaped even the marker cannot
/// keep the run waiting.
const DRAIN: Duration = Duration::from_millis(500);

/// How a job's shell ended.
pub(super) struct Ended {
    pub(super) outcome: Status,
    pub(super) exit_code: Option<i32>,
    pub(super) error: Option<String>,
}

/// One running job: its shell (the leader of its process group) and its marked processes.
struct Job<'a> {
    pgid: Pid,
    marked: Marked<'a>,
}

impl Job<'_> {
    /// Asks the job to stop: SIGTERM to its group and to its processes outside it.
    fn term(&self) {
        sys::signal_group(self.pgid, Signal::Term);
        self.marked.signal(Signal::Term);
    }

    /// Ends the job: SIGKILL to its group and to its processes outside it.
    fn kill(&self) {
        sys::signal_group(self.pgid, Signal::Kill);
        self.marked.signal(Signal::Kill);
    }
}

/// Reads the child's output until it and its processes are done, enforcing the time limit and
/// the cancellation.
pub(super) fn supervise(
    mut child: Child,
    marked: Marked<'_>,
    control: &Control<'_>,
    log: &mut dyn FnMut(Stream, &str),
) -> Ended {
    let job = Job {
        pgid: child.id() as Pid,
        marked,
    };
    let start = Instant::now();
    let mut pipes = [
        Pipe::new(
            child.stdout.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
            Stream::Out,
        ),
        Pipe::new(
            child.stderr.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
            Stream::Err,
        ),
    ];
    let mut stopping: Option<(Status, Instant)> = None; // why, and when SIGTERM went
    let mut killed = false;
    let mut exited = false;
    let mut settle: Option<Instant> = None; // when to look for holders of the pipes
    let mut drain: Option<Instant> = None; // when to stop reading
    let mut backoff = Duration::from_micros(10);
    let pidfd = sys::pidfd_open(job.pgid);
    loop {
        let any_open = pipes.iter().any(Pipe::is_open);
        if !any_open && (exited || sys::child_exited(job.pgid)) {
            break;
        }
        let now = Instant::now();
        // The run's cancellation, the time limit, the grace period.
        if control.killing() && !killed {
            stopping.get_or_insert((control.stopped_status(), now));
            job.kill();
            killed = true;
            drain.get_or_insert(now + DRAIN);
        }
        if stopping.is_none() {
            if control.cancelled() {
                stopping = Some((control.stopped_status(), now));
            } else if control.timeout.is_some_and(|t| now - start >= t) {
                stopping = Some((Status::Timeout, now));
            }
            if stopping.is_some() {
                job.term();
            }
        }
        if let Some((_, since)) = stopping {
            if !killed && now - since >= control.grace {
                job.kill();
                killed = true;
                drain.get_or_insert(now + DRAIN);
            }
        }
        // The shell is gone but something holds its output: a leftover outside its group.
        if settle.is_some_and(|at| now >= at) {
            settle = None;
            if any_open {
                job.marked.signal(Signal::Kill);
                drain.get_or_insert(now + DRAIN);
            }
        }
        if drain.is_some_and(|at| now >= at) {
            drain = None;
            pipes.iter_mut().for_each(|p| p.close(log));
            continue;
        }

        let mut wait = TICK;
        let mut until = |at: Instant| wait = wait.min(at.saturating_duration_since(now));
        match (stopping, control.timeout) {
            (None, Some(t)) => until(start + t),
            (Some((_, since)), _) if !killed => until(since + control.grace),
            _ => {}
        }
        settle.into_iter().chain(drain).for_each(until);
        if !any_open && pidfd.is_none() {
            // Output closed but the shell has not exited yet, and no pidfd to wait on (an old
            // kernel): wait in steps that start tiny and grow.
            std::thread::sleep(wait.min(backoff));
            backoff = (backoff * 2).min(Duration::from_millis(20));
            continue;
        }
        let slots: Vec<usize> = (0..pipes.len()).filter(|&i| pipes[i].is_open()).collect();
        let mut fds: Vec<_> = pipes.iter().filter_map(Pipe::fd).collect();
        // The pidfd becomes readable the moment the shell exits: no polling for its end.
        let watch_exit = !exited && pidfd.is_some();
        if let (true, Some(fd)) = (watch_exit, &pidfd) {
            fds.push(fd.as_fd());
        }
        let ready = match sys::poll_readable(&fds, wait) {
            Ok(ready) => ready,
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    log(Stream::Event, &format!("poll failed: {e}"));
                    job.kill();
                    killed = true;
                    pipes.iter_mut().for_each(|p| p.close(log));
                }
                continue;
            }
        };
        drop(fds);
        for (slot, ready) in slots.into_iter().zip(&ready) {
            if *ready {
                pipes[slot].read_some(log);
            }
        }
        let shell_ended = if watch_exit {
            ready.last() == Some(&true)
        } else {
            !exited && !ready.contains(&true) && sys::child_exited(job.pgid)
        };
        if shell_ended {
            exited = true;
            // Whatever the shell left running is part of the job: end it (a job being stopped
            // keeps the rest of its grace period to clean up).
            if stopping.is_none() && pipes.iter().any(Pipe::is_open) {
                sys::signal_group(job.pgid, Signal::Kill);
                settle = Some(Instant::now() + SETTLE);
            }
        }
    }
    // The shell has exited (not yet reaped, so its pid and group id stay ours): end anything it
    // left behind in its group (and, for a job that was stopped, outside it), then reap it.
    sys::signal_group(job.pgid, Signal::Kill);
    if stopping.is_some() {
        job.marked.signal(Signal::Kill);
    }
    let status = child.wait();
    // Killed by a stop signal that reached the run too (Slurm's requeue signals every process):
    // an interruption, whichever of the two saw the signal first.
    if let (None, Ok(Some(sig))) = (stopping, status.as_ref().map(ExitStatusExt::signal)) {
        if control.signalled_with_the_run(sig) {
            stopping = Some((control.stopped_status(), Instant::now()));
        }
    }
    let (outcome, exit_code, error) = match (stopping, status) {
        (Some((Status::Timeout, _)), _) => (
            Status::Timeout,
            None,
            Some(format!(
                "timed out after {:.1?}",
                control.timeout.unwrap_or_default()
            )),
        ),
        (Some((why, _)), _) => (
            why,
            None,
            Some(
                match why {
                    Status::Cancelled => "cancelled by jobsplit cancel",
                    _ => "interrupted",
                }
                .to_owned(),
            ),
        ),
        (None, Ok(s)) => match (s.code(), s.signal()) {
            (Some(0), _) => (Status::Ok, Some(0), None),
            (Some(c), _) => (Status::Failed, Some(c), Some(format!("exit code {c}"))),
            (None, Some(sig)) => (
                Status::Failed,
                None,
                Some(format!(
                    "killed by signal {sig} ({})",
                    sys::signal_name(sig)
                )),
            ),
            (None, None) => (Status::Failed, None, Some("ended without status".into())),
        },
        (None, Err(e)) => (
            Status::Failed,
            None,
            Some(format!("cannot wait for the job: {e}")),
        ),
    };
    Ended {
        outcome,
        exit_code,
        error,
    }
}
