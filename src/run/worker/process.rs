//! One worker process: started in a process group of its own, read through poll (its stdout
//! for protocol lines, its stderr for the log, a pidfd for its exit), stopped with SIGTERM, the
//! grace period and SIGKILL, and always reaped.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::{Status, Stream};
use crate::run::command::pipe::{Pipe, ReadFd};
use crate::run::executor::Control;
use crate::sys::{self, Pid, Signal};

/// How often a waiting worker thread looks at the cancel flag and the clock.
const TICK: Duration = Duration::from_millis(100);
/// Once the worker exited, how long what is still in its pipes is read (a process it left
/// behind may hold them open).
const DRAIN: Duration = Duration::from_millis(500);
/// An answer may be long (a result with many fields): protocol lines are cut only past this.
const MAX_ANSWER: usize = 256 << 20;
/// A request longer than this is written by a helper thread, so that a worker that stopped
/// reading cannot block the worker thread past the job's time limit.
const WRITE_INLINE: usize = 48 << 10;

/// Why waiting for a message ended without one.
pub(super) enum Gone {
    /// The worker exited or closed its stdout: how, for the message, and its exit code.
    Exited {
        how: String,
        exit_code: Option<i32>,
        /// The signal that killed it, if one did.
        signal: Option<i32>,
    },
    /// The time limit or the run's cancellation stopped it (it has been ended and reaped).
    Stopped(Status),
}

/// A running worker.
pub(super) struct Worker {
    child: Child,
    pgid: Pid,
    stdin: Option<ChildStdin>,
    out: Pipe,
    err: Pipe,
    pidfd: Option<OwnedFd>,
    /// Protocol lines read but not yet taken.
    lines: VecDeque<String>,
    /// True once the process exited (not yet reaped).
    exited: bool,
    /// True once it said hello.
    pub(super) greeted: bool,
    /// Jobs it answered.
    pub(super) jobs: u64,
}

impl Worker {
    /// Starts `/bin/sh -c command` with `env` added, in a process group of its own.
    pub(super) fn spawn(command: &str, env: &[(String, OsString)]) -> io::Result<Worker> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .spawn()?;
        let pgid = child.id() as Pid;
        let out = Pipe::new(
            child.stdout.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
            Stream::Out,
        )
        .with_max_line(MAX_ANSWER);
        let err = Pipe::new(
            child.stderr.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
            Stream::Err,
        );
        Ok(Worker {
            stdin: child.stdin.take(),
            pidfd: sys::pidfd_open(pgid),
            child,
            pgid,
            out,
            err,
            lines: VecDeque::new(),
            exited: false,
            greeted: false,
            jobs: 0,
        })
    }

    /// True if the process has exited (it is then of no more use).
    pub(super) fn has_exited(&mut self) -> bool {
        self.exited = self.exited || sys::child_exited(self.pgid);
        self.exited
    }

    /// Writes one request line (`line` ends with `\n`). A failure (the worker is gone) is left
    /// for the wait that follows to find.
    pub(super) fn send(
        &mut self,
        line: &[u8],
        started: Instant,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Result<(), Gone> {
        let Some(mut stdin) = self.stdin.take() else {
            return Ok(());
        };
        if line.len() <= WRITE_INLINE {
            let _ = stdin.write_all(line).and_then(|()| stdin.flush());
            self.stdin = Some(stdin);
            return Ok(());
        }
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                let _ = stdin.write_all(line).and_then(|()| stdin.flush());
                stdin
            });
            // Read meanwhile (stderr to the log, stdout queued): a worker may write while it
            // reads a long request.
            while !writer.is_finished() {
                if let Err(gone) = self.wait_step(started, control, log, Duration::from_millis(5)) {
                    // The worker was ended: its stdin's reader is gone, the write fails now.
                    let _ = writer.join();
                    return Err(gone);
                }
            }
            if let Ok(stdin) = writer.join() {
                self.stdin = Some(stdin);
            }
            Ok(())
        })
    }

    /// Waits for the next protocol message: a line on stdout that is a JSON object with an
    /// `ok` or `hello` field. Other stdout lines go to `log` as `out`, stderr lines as `err`.
    pub(super) fn next_message(
        &mut self,
        started: Instant,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Result<serde_json::Map<String, serde_json::Value>, Gone> {
        loop {
            while let Some(line) = self.lines.pop_front() {
                match crate::run::nonfinite::parse(line.as_bytes()) {
                    Ok(serde_json::Value::Object(m))
                        if m.contains_key("ok") || m.contains_key("hello") =>
                    {
                        // Whatever it wrote to stderr before answering belongs to this job.
                        self.read_ready(log);
                        return Ok(m);
                    }
                    _ => log(Stream::Out, &line),
                }
            }
            self.wait_step(started, control, log, TICK)?;
        }
    }

    /// One wait of at most `tick`: reads what is ready, and ends the worker when it exited,
    /// its time ran out or the run is being stopped.
    fn wait_step(
        &mut self,
        started: Instant,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
        tick: Duration,
    ) -> Result<(), Gone> {
        let now = Instant::now();
        if control.killing() {
            self.kill_now();
            return Err(Gone::Stopped(control.stopped_status()));
        }
        let timed_out = control.timeout.is_some_and(|t| now - started >= t);
        if control.cancelled() || timed_out {
            let why = if timed_out && !control.cancelled() {
                Status::Timeout
            } else {
                control.stopped_status()
            };
            self.stop(control, log);
            return Err(Gone::Stopped(why));
        }
        if !self.out.is_open() || self.exited {
            return Err(self.gone(log));
        }
        let mut wait = tick;
        if let Some(t) = control.timeout {
            wait = wait.min((started + t).saturating_duration_since(now));
        }
        self.poll(wait, log);
        Ok(())
    }

    /// Polls stdout, stderr and the pidfd for up to `wait`, reading what is ready.
    fn poll(&mut self, wait: Duration, log: &mut dyn FnMut(Stream, &str)) {
        let Worker {
            out,
            err,
            pidfd,
            lines,
            exited,
            pgid,
            ..
        } = self;
        let mut fds = Vec::with_capacity(3);
        fds.extend(out.fd());
        fds.extend(err.fd());
        let watch_exit = !*exited && pidfd.is_some();
        if let (true, Some(fd)) = (watch_exit, pidfd.as_ref()) {
            fds.push(fd.as_fd());
        }
        if fds.is_empty() {
            std::thread::sleep(wait.min(Duration::from_millis(10)));
            *exited = *exited || sys::child_exited(*pgid);
            return;
        }
        let (out_open, err_open) = (out.is_open(), err.is_open());
        let ready = match sys::poll_readable(&fds, wait) {
            Ok(ready) => ready,
            Err(_) => return,
        };
        drop(fds);
        let mut at = 0;
        if out_open {
            if ready[at] {
                out.read_some(&mut |_, line| lines.push_back(line.to_owned()));
            }
            at += 1;
        }
        if err_open {
            if ready[at] {
                err.read_some(log);
            }
            at += 1;
        }
        if watch_exit && ready.get(at) == Some(&true) {
            *exited = true;
        } else if !watch_exit && !*exited && !ready.contains(&true) {
            *exited = sys::child_exited(*pgid);
        }
    }

    /// Reads what stderr holds right now, without waiting.
    fn read_ready(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        for _ in 0..64 {
            let Some(fd) = self.err.fd() else { return };
            match sys::poll_readable(&[fd], Duration::ZERO) {
                Ok(r) if r == [true] => self.err.read_some(log),
                _ => return,
            }
        }
    }

    /// The worker exited or closed its stdout: read what its pipes still hold (its last
    /// protocol lines stay queued), end its group, reap it and say how it ended.
    fn gone(&mut self, log: &mut dyn FnMut(Stream, &str)) -> Gone {
        let until = Instant::now() + DRAIN;
        while (self.out.is_open() || self.err.is_open()) && Instant::now() < until {
            self.poll(until.saturating_duration_since(Instant::now()), log);
        }
        self.out
            .close(&mut |_, line| self.lines.push_back(line.to_owned()));
        self.err.close(log);
        sys::signal_group(self.pgid, Signal::Kill);
        self.stdin = None;
        match self.child.wait() {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(c), _) => Gone::Exited {
                    how: format!("exit code {c}"),
                    exit_code: Some(c),
                    signal: None,
                },
                (None, Some(sig)) => Gone::Exited {
                    how: format!("killed by signal {sig} ({})", sys::signal_name(sig)),
                    exit_code: None,
                    signal: Some(sig),
                },
                (None, None) => Gone::Exited {
                    how: "ended without status".to_owned(),
                    exit_code: None,
                    signal: None,
                },
            },
            Err(e) => Gone::Exited {
                how: format!("cannot wait for it: {e}"),
                exit_code: None,
                signal: None,
            },
        }
    }

    /// Takes the protocol lines left after the worker ended (an answer written just before
    /// it exited).
    pub(super) fn take_queued(&mut self) -> Option<serde_json::Map<String, serde_json::Value>> {
        while let Some(line) = self.lines.pop_front() {
            if let Ok(serde_json::Value::Object(m)) = crate::run::nonfinite::parse(line.as_bytes())
            {
                if m.contains_key("ok") {
                    return Some(m);
                }
            }
        }
        None
    }

    /// Stops the worker: SIGTERM to its group, the grace period (a second Ctrl-C cuts it
    /// short), SIGKILL, reaped.
    pub(super) fn stop(&mut self, control: &Control<'_>, log: &mut dyn FnMut(Stream, &str)) {
        sys::signal_group(self.pgid, Signal::Term);
        let until = Instant::now() + control.grace;
        while !self.exited && !control.killing() && Instant::now() < until {
            self.poll(
                TICK.min(until.saturating_duration_since(Instant::now())),
                log,
            );
            let mut stray = |line: String| log(Stream::Out, &line);
            self.lines.drain(..).for_each(&mut stray);
        }
        self.kill_now();
        self.read_ready(log);
    }

    /// Ends the worker's group now and reaps it.
    pub(super) fn kill_now(&mut self) {
        sys::signal_group(self.pgid, Signal::Kill);
        self.stdin = None;
        let _ = self.child.wait();
        self.exited = true;
    }

    /// Closes stdin, the worker's cue to exit.
    pub(super) fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Ends a worker whose stdin is closed: waits until `until` for it to exit (reading and
    /// logging what it writes), then ends its group and reaps it.
    pub(super) fn finish(&mut self, until: Instant, log: &mut dyn FnMut(Stream, &str)) {
        self.stdin = None;
        while !self.exited && Instant::now() < until {
            self.poll(
                TICK.min(until.saturating_duration_since(Instant::now())),
                log,
            );
            let mut stray = |line: String| log(Stream::Out, &line);
            self.lines.drain(..).for_each(&mut stray);
        }
        self.kill_now();
    }
}
