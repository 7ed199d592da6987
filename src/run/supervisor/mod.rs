//! The one process supervisor: every process a run starts (a command job's shell, a persistent
//! worker, a notify command) is a [`Process`] in a process group of its own, watched through
//! `poll` (its output pipes, its stdin while bytes wait, a pidfd for its exit), stopped through
//! one ladder of [`Phase`]s (SIGTERM, the grace period, SIGKILL, a bounded drain of its pipes),
//! and reaped into a typed [`Exit`]. What it left running ends with it: its group when it
//! exits, and for a command job its marked processes outside the group.
//!
//! Every wait has a deadline that, once past, moves the phase on, so nothing spins and nothing
//! waits for ever: a process that does not read its stdin, never exits or holds its output
//! open costs at most its time limit, the grace period and the drain. The system calls are in
//! `crate::sys`.

mod environ;
mod exit;
mod ladder;
mod leftovers;
mod pipe;

pub(crate) use environ::{Environ, Vars};
pub use exit::Exit;
pub(crate) use exit::Stop;
pub(crate) use leftovers::{run_marker, Marked, RUN_VAR};

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use self::pipe::{Feed, Pipe};
use crate::model::Stream;
use crate::run::executor::Control;
use crate::sys::{self, Pid, Signal, Want};

/// After a process exited by itself with its output still open, how long before the processes
/// holding it outside its group are looked for.
const SETTLE: Duration = Duration::from_millis(20);
/// How long a process runs before its exit is also watched through a pidfd: a job that ends
/// sooner closes its output as it exits, which `poll` sees anyway (most jobs of a sweep never
/// need one: opening and closing it is a tenth of what jobsplit spends on a job).
const PIDFD_AFTER: Duration = Duration::from_millis(2);
/// Once a process is over (exited or killed), how long what is still in its pipes is read: a
/// holder that escaped even the marker cannot keep the run waiting.
pub(crate) const DRAIN: Duration = Duration::from_millis(500);

/// Where a process's stop ladder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Running as it likes (it may have exited, not yet reaped).
    Running,
    /// Asked to stop (SIGTERM) at `since`: SIGKILL follows once the grace period is over.
    Stopping { since: Instant },
    /// Ended with SIGKILL: its pipes are read until `until`, no longer.
    Killed { until: Instant },
    /// Ending by itself (it exited with its output still open, or it was told to end): its
    /// pipes are read and its exit awaited until `until`; then it is killed.
    Draining { until: Instant },
}

/// How a process is connected: its stdin (piped or `/dev/null`), its stdout and stderr (piped
/// and read, or `/dev/null`), and the longest stdout line read whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Io {
    pub(crate) stdin: bool,
    pub(crate) output: bool,
    pub(crate) max_out_line: Option<usize>,
}

/// What a supervised process runs: `/bin/sh -c command` in `cwd` (else jobsplit's own
/// directory), with the environment `env` and `vars` on top.
pub(crate) struct Launch<'a> {
    pub(crate) command: &'a str,
    pub(crate) env: &'a Environ,
    pub(crate) vars: &'a Vars,
    pub(crate) cwd: Option<&'a Path>,
}

/// A supervised process.
pub(crate) struct Process<'m> {
    /// Its pid, also its process group id.
    pgid: Pid,
    /// Opened once it has run for [`PIDFD_AFTER`] or closed its output (if the kernel has them).
    pidfd: Option<OwnedFd>,
    pidfd_tried: bool,
    feed: Feed,
    /// stdout, stderr.
    pipes: [Pipe; 2],
    /// Its processes outside its group (a command job's), found by the run's marker.
    marked: Option<Marked<'m>>,
    phase: Phase,
    /// Why jobsplit stopped it, once it did: the exit it is recorded with.
    stopped: Option<Exit>,
    /// True once it exited (not yet reaped, so its pid and group id stay ours).
    exited: bool,
    /// When to look for holders of its output outside its group.
    settle: Option<Instant>,
    /// Without a pidfd, the step of the wait for its exit once its output closed.
    backoff: Duration,
    started: Instant,
    /// Its exit, once reaped.
    exit: Option<Exit>,
}

impl<'m> Process<'m> {
    /// Starts `launch` in a process group of its own, connected as `io`; `marked` finds its
    /// processes outside the group.
    pub(crate) fn spawn(
        launch: &Launch<'_>,
        io: Io,
        marked: Option<Marked<'m>>,
    ) -> io::Result<Self> {
        let command = CString::new(launch.command)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the command"))?;
        let cwd = match launch.cwd {
            Some(dir) => Some(CString::new(dir.as_os_str().as_bytes()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the directory")
            })?),
            None => None,
        };
        let envp = launch.env.with(launch.vars);
        let started = Instant::now();
        let child = sys::spawn(&sys::Spec {
            program: c"/bin/sh",
            argv: &[c"/bin/sh", c"-c", &command],
            envp: &envp,
            cwd: cwd.as_deref(),
            stdin: io.stdin,
            output: io.output,
        })?;
        let pgid = child.pid;
        let mut out = Pipe::new(child.stdout, Stream::Out);
        if let Some(max) = io.max_out_line {
            out = out.with_max_line(max);
        }
        Ok(Process {
            pidfd: None,
            pidfd_tried: false,
            feed: Feed::new(child.stdin),
            pipes: [out, Pipe::new(child.stderr, Stream::Err)],
            pgid,
            marked,
            phase: Phase::Running,
            stopped: None,
            exited: false,
            settle: None,
            backoff: Duration::from_micros(10),
            started,
            exit: None,
        })
    }

    /// Why jobsplit stopped it, once it did.
    pub(crate) fn stopped(&self) -> Option<Exit> {
        self.stopped
    }

    /// True while its stdout is open.
    pub(crate) fn stdout_open(&self) -> bool {
        self.pipes[0].is_open()
    }

    /// True once it was seen to exit (it is reaped later).
    pub(crate) fn exited(&self) -> bool {
        self.exited
    }

    /// Counts its time limit from `at` (a persistent worker's from the start of each job).
    pub(crate) fn start_clock(&mut self, at: Instant) {
        self.started = at;
    }

    /// True once it exited and its output is closed: only the reaping is left.
    pub(crate) fn is_done(&self) -> bool {
        self.exited && !self.pipes.iter().any(Pipe::is_open)
    }

    /// True if it has exited (looked up now).
    pub(crate) fn has_exited(&mut self) -> bool {
        self.exited = self.exited || sys::child_exited(self.pgid);
        self.exited
    }

    /// Queues `bytes` for its stdin; each wait writes what fits.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.feed.push(bytes);
        self.feed.write_some();
    }

    /// Closes its stdin once what is queued is written.
    pub(crate) fn close_stdin_when_written(&mut self) {
        self.feed.close_when_written();
    }

    /// Closes its stdin now (a worker's cue to exit).
    pub(crate) fn close_stdin(&mut self) {
        self.feed.close();
    }

    /// One wait of at most `tick`: moves the stop ladder on under `control`, then sleeps in
    /// `poll` until output, room on its stdin, its exit or the next deadline, and reads what is
    /// ready (whole lines to `sink`, stdout as [`Stream::Out`], stderr as [`Stream::Err`]).
    pub(crate) fn step(
        &mut self,
        control: &Control<'_>,
        tick: Duration,
        sink: &mut dyn FnMut(Stream, &str),
    ) {
        let now = Instant::now();
        self.enforce(control, now);
        if self.is_done() {
            return;
        }
        let mut wait = self.wait_for(control, tick, now);
        if !self.exited && !self.pidfd_tried {
            let due = self.started + PIDFD_AFTER;
            if now >= due || !self.pipes.iter().any(Pipe::is_open) {
                self.pidfd = sys::pidfd_open(self.pgid);
                self.pidfd_tried = true;
            } else {
                wait = wait.min(due - now);
            }
        }
        let watch_exit = !self.exited && self.pidfd.is_some();
        let Process {
            pipes, feed, pidfd, ..
        } = self;
        let mut fds = [None, None, None, None];
        for (slot, pipe) in fds.iter_mut().zip(pipes.iter()) {
            *slot = pipe.fd().map(|fd| (fd, Want::Read));
        }
        fds[2] = feed.fd().map(|fd| (fd, Want::Write));
        fds[3] = pidfd
            .as_ref()
            .filter(|_| watch_exit)
            .map(|fd| (fd.as_fd(), Want::Read));
        if fds.iter().all(Option::is_none) {
            // Nothing to poll but the exit, and no pidfd (an old kernel): steps that start tiny
            // and grow.
            std::thread::sleep(wait.min(self.backoff));
            self.backoff = (self.backoff * 2).min(Duration::from_millis(20));
            if self.has_exited() {
                self.exited_now();
            }
            return;
        }
        let mut ready = [false; 4];
        let polled = sys::poll(&fds, wait, &mut ready);
        if let Err(e) = polled {
            if e.kind() != io::ErrorKind::Interrupted {
                sink(Stream::Event, &format!("poll failed: {e}"));
                self.kill(None);
                self.pipes.iter_mut().for_each(|p| p.close(sink));
            }
            return;
        }
        for (pipe, _) in self.pipes.iter_mut().zip(ready).filter(|(_, r)| *r) {
            pipe.read_some(sink);
        }
        if ready[2] {
            self.feed.write_some();
        }
        let mut saw_exit = ready[3];
        if !watch_exit && !self.exited && !ready.contains(&true) {
            saw_exit = sys::child_exited(self.pgid);
        }
        if saw_exit {
            self.exited_now();
        }
    }

    /// Reads what its output holds right now, without waiting (a bounded number of reads).
    pub(crate) fn read_ready(&mut self, sink: &mut dyn FnMut(Stream, &str)) {
        for _ in 0..64 {
            let [out, err] = &self.pipes;
            let fds = [
                out.fd().map(|fd| (fd, Want::Read)),
                err.fd().map(|fd| (fd, Want::Read)),
            ];
            let mut ready = [false; 2];
            let polled = sys::poll(&fds, Duration::ZERO, &mut ready);
            if polled.is_err() || ready == [false, false] {
                return;
            }
            for (pipe, _) in self.pipes.iter_mut().zip(ready).filter(|(_, r)| *r) {
                pipe.read_some(sink);
            }
        }
    }

    /// Steps until it exited and its output closed (the ladder bounds the wait once it is
    /// stopped or killed).
    pub(crate) fn wait_done(
        &mut self,
        control: &Control<'_>,
        tick: Duration,
        sink: &mut dyn FnMut(Stream, &str),
    ) {
        while !self.is_done() {
            self.step(control, tick, sink);
        }
    }

    /// Reaps it: ends what is left of its group (and, if jobsplit stopped it, its marked
    /// processes), waits for it, and says how it ended. With the run's `control`, a process
    /// killed by SIGTERM, SIGINT or SIGHUP together with the run (see
    /// [`Control::signalled_with_the_run`]) was stopped.
    pub(crate) fn reap(&mut self, control: Option<&Control<'_>>) -> Exit {
        if let Some(exit) = self.exit {
            return exit;
        }
        sys::signal_group(self.pgid, Signal::Kill);
        if let (Some(_), Some(m)) = (self.stopped, &self.marked) {
            m.signal(Signal::Kill);
        }
        self.feed.close();
        let status = sys::wait(self.pgid);
        self.exited = true;
        let exit = match (self.stopped, status) {
            (Some(why), _) => why,
            (None, Ok(s)) => match (s.code(), s.signal()) {
                (Some(c), _) => Exit::Code(c),
                (None, Some(sig)) if control.is_some_and(|c| c.signalled_with_the_run(sig)) => {
                    Exit::Stopped(control.map_or(Stop::Interrupted, Control::stop))
                }
                (None, Some(sig)) => Exit::Signal(sig),
                (None, None) => Exit::Unknown,
            },
            (None, Err(_)) => Exit::Unknown,
        };
        self.exit = Some(exit);
        exit
    }
}

impl Drop for Process<'_> {
    /// Nothing it started outlives it: a process dropped unreaped is killed and reaped.
    fn drop(&mut self) {
        if self.exit.is_none() {
            sys::signal_group(self.pgid, Signal::Kill);
            let _ = sys::wait(self.pgid);
        }
    }
}
