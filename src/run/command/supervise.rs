//! Supervising one job's shell: read its output until it and its process group are done,
//! enforce the time limit and the cancel flag (SIGTERM, the grace period, SIGKILL), and end
//! whatever it leaves behind.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::{Duration, Instant};

use super::pipe::{Pipe, ReadFd};
use crate::run::attempt::{Outcome, Stream};
use crate::run::executor::Control;
use crate::sys::{self, Pid, Signal};

/// How often a waiting worker looks at the cancel flag and the clock.
const TICK: Duration = Duration::from_millis(100);

/// How a job's shell ended.
pub(super) struct Ended {
    pub(super) outcome: Outcome,
    pub(super) exit_code: Option<i32>,
    pub(super) error: Option<String>,
}

/// Reads the child's output until it and its process group are done, enforcing the time
/// limit and the cancel flag.
pub(super) fn supervise(
    mut child: Child,
    control: &Control<'_>,
    log: &mut dyn FnMut(Stream, &str),
) -> Ended {
    let pgid = child.id() as Pid;
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
    let mut stopping: Option<(Outcome, Instant)> = None; // why, and when SIGTERM went
    let mut killed = false;
    let mut exited = false;
    let mut backoff = Duration::from_micros(10);
    let pidfd = sys::pidfd_open(pgid);
    loop {
        let open: Vec<usize> = (0..2).filter(|&i| pipes[i].is_open()).collect();
        if open.is_empty() && (exited || sys::child_exited(pgid)) {
            break;
        }
        // Deadlines: the time limit, the grace period, the cancel flag.
        if stopping.is_none() {
            if control.cancelled() {
                stopping = Some((Outcome::Interrupted, Instant::now()));
            } else if control.timeout.is_some_and(|t| start.elapsed() >= t) {
                stopping = Some((Outcome::Timeout, Instant::now()));
            }
            if stopping.is_some() {
                sys::signal_group(pgid, Signal::Term);
            }
        }
        if let Some((_, since)) = stopping {
            if !killed && since.elapsed() >= control.grace {
                sys::signal_group(pgid, Signal::Kill);
                killed = true;
            }
        }
        let mut wait = TICK;
        if let (None, Some(t)) = (stopping, control.timeout) {
            wait = wait.min(t.saturating_sub(start.elapsed()));
        }
        if let Some((_, since)) = stopping {
            wait = wait.min(control.grace.saturating_sub(since.elapsed()));
        }
        if open.is_empty() && pidfd.is_none() {
            // Output closed but the shell has not exited yet, and no pidfd to wait on (an old
            // kernel): wait in steps that start tiny and grow.
            std::thread::sleep(wait.min(backoff));
            backoff = (backoff * 2).min(Duration::from_millis(20));
            continue;
        }
        let mut fds: Vec<_> = open.iter().filter_map(|&i| pipes[i].fd()).collect();
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
                    sys::signal_group(pgid, Signal::Kill);
                    killed = true;
                    pipes.iter_mut().for_each(|p| p.close(log));
                }
                continue;
            }
        };
        drop(fds);
        if !ready.contains(&true) {
            // Nothing to read: if the shell is gone but something it started holds the pipes,
            // that leftover is part of the job: end it (when the job is being stopped, it has
            // the rest of the grace period to clean up first).
            if !exited && sys::child_exited(pgid) {
                exited = true;
                if stopping.is_none() {
                    sys::signal_group(pgid, Signal::Kill);
                }
            }
            continue;
        }
        for (slot, ready) in open.iter().zip(&ready) {
            if *ready {
                pipes[*slot].read_some(log);
            }
        }
        if watch_exit && ready.last() == Some(&true) {
            exited = true;
            // Whatever the shell left running in its group is part of the job: end it (a job
            // being stopped keeps the rest of its grace period).
            if stopping.is_none() && pipes.iter().any(Pipe::is_open) {
                sys::signal_group(pgid, Signal::Kill);
            }
        }
    }
    // The shell has exited (not yet reaped, so its pid and group id stay ours): end anything it
    // left behind in its group, then reap it.
    sys::signal_group(pgid, Signal::Kill);
    let status = child.wait();
    let (outcome, exit_code, error) = match (stopping, status) {
        (Some((Outcome::Timeout, _)), _) => (
            Outcome::Timeout,
            None,
            Some(format!(
                "timed out after {:.1?}",
                control.timeout.unwrap_or_default()
            )),
        ),
        (Some((why, _)), _) => (why, None, Some("interrupted".to_owned())),
        (None, Ok(s)) => match (s.code(), s.signal()) {
            (Some(0), _) => (Outcome::Ok, Some(0), None),
            (Some(c), _) => (Outcome::Failed, Some(c), Some(format!("exit code {c}"))),
            (None, Some(sig)) => (
                Outcome::Failed,
                None,
                Some(format!(
                    "killed by signal {sig} ({})",
                    sys::signal_name(sig)
                )),
            ),
            (None, None) => (Outcome::Failed, None, Some("ended without status".into())),
        },
        (None, Err(e)) => (
            Outcome::Failed,
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
