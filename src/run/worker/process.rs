//! One worker process on the run's process supervisor (`run::supervisor`): its stdout read for
//! protocol lines, its stderr for the log, its stdin written without blocking, stopped through
//! the supervisor's ladder and always reaped.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::time::{Duration, Instant};

use super::protocol;
use crate::model::Stream;
use crate::run::executor::Control;
use crate::run::supervisor::{Environ, Exit, Io, Launch, Process, Vars, DRAIN};

/// How often a waiting worker thread looks at the cancel flag and the clock.
const TICK: Duration = Duration::from_millis(100);
/// The longest protocol line: an answer may be long (a result with many fields), but a line
/// with no end must not hold the run's memory. One this long breaks the protocol.
pub(super) const MAX_ANSWER: usize = 16 << 20;

/// Why waiting for a message ended without one.
pub(super) enum Gone {
    /// The worker ended, by itself or stopped by jobsplit (the time limit, the run's stop), and
    /// was reaped.
    Ended(Exit),
    /// It broke the protocol, saying why (it still runs: end it).
    Broke(String),
}

/// A running worker.
pub(super) struct Worker {
    process: Process<'static>,
    /// Protocol lines read but not yet taken.
    lines: VecDeque<String>,
    /// True once it said hello.
    pub(super) greeted: bool,
    /// Jobs it answered.
    pub(super) jobs: u64,
}

impl Worker {
    /// Starts `/bin/sh -c command` with `env` added, in a process group of its own.
    pub(super) fn spawn(command: &str, env: &[(String, OsString)]) -> io::Result<Worker> {
        let launch = Launch {
            command,
            env: &Environ::inherit(env),
            vars: &Vars::default(),
            cwd: None,
        };
        let io = Io {
            stdin: true,
            output: true,
            // Past the bound a piece of the line is emitted, which `next_message` refuses.
            max_out_line: Some(MAX_ANSWER),
        };
        Ok(Worker {
            process: Process::spawn(&launch, io, None)?,
            lines: VecDeque::new(),
            greeted: false,
            jobs: 0,
        })
    }

    /// True if the process has exited (it is then of no more use).
    pub(super) fn has_exited(&mut self) -> bool {
        self.process.has_exited()
    }

    /// Takes a job at `started`: its time limit counts from then.
    pub(super) fn begin(&mut self, started: Instant) {
        self.process.start_clock(started);
    }

    /// Queues a request line (`line` ends with `\n`); the waits for the answer write it, as
    /// fast as the worker reads. A worker that is gone is found by the wait.
    pub(super) fn send(&mut self, line: &[u8]) {
        self.process.write(line);
    }

    /// Waits for the next protocol message: a line on stdout that is a JSON object with an
    /// `ok` or `hello` field. Other stdout lines go to `log` as `out`, stderr lines as `err`.
    /// The `first` message must be the first line, whatever it is (the hello).
    pub(super) fn next_message(
        &mut self,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
        first: bool,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Gone> {
        loop {
            while let Some(line) = self.lines.pop_front() {
                if line.len() >= MAX_ANSWER {
                    return Err(Gone::Broke(format!(
                        "the worker wrote a line longer than {} MiB on stdout: write one JSON line per message, logging to stderr",
                        MAX_ANSWER >> 20
                    )));
                }
                match crate::run::nonfinite::parse(line.as_bytes()) {
                    Ok(serde_json::Value::Object(m))
                        if first || m.contains_key("ok") || m.contains_key("hello") =>
                    {
                        // Whatever it wrote to stderr before answering belongs to this job.
                        self.read_ready(log);
                        return Ok(m);
                    }
                    _ => log(Stream::Out, &line),
                }
                if first {
                    return Err(Gone::Broke(protocol::NOT_A_HELLO.to_owned()));
                }
            }
            self.wait_step(control, log)?;
        }
    }

    /// One wait: reads what is ready; a worker that was stopped (the time limit, the run's
    /// stop), exited or closed its stdout is ended, reaped and gone.
    fn wait_step(
        &mut self,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Result<(), Gone> {
        let Worker { process, lines, .. } = self;
        let mut sink = |stream: Stream, line: &str| match stream {
            Stream::Out => lines.push_back(line.to_owned()),
            _ => log(stream, line),
        };
        process.step(control, TICK, &mut sink);
        if process.stopped().is_some() {
            // Its stop ladder to the end; what it says meanwhile is logged.
            process.wait_done(control, TICK, log);
            lines.drain(..).for_each(|line| log(Stream::Out, &line));
            return Err(Gone::Ended(process.reap(Some(control))));
        }
        if process.exited() || !process.stdout_open() {
            // Read what its pipes still hold (its last protocol lines stay queued).
            process.drain_until(Instant::now() + DRAIN);
            process.wait_done(control, TICK, &mut sink);
            return Err(Gone::Ended(process.reap(Some(control))));
        }
        Ok(())
    }

    /// Reads what stderr holds right now, without waiting.
    fn read_ready(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        let Worker { process, lines, .. } = self;
        process.read_ready(&mut |stream, line| match stream {
            Stream::Out => lines.push_back(line.to_owned()),
            _ => log(stream, line),
        });
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

    /// Ends the worker's group now and reaps it.
    pub(super) fn kill_now(&mut self) {
        self.process.kill(None);
        self.process.reap(None);
    }

    /// Closes its stdin, the worker's cue to exit.
    pub(super) fn close_stdin(&mut self) {
        self.process.close_stdin();
    }

    /// Tells the worker to exit (closes its stdin) and gives it until `until` (reading and
    /// logging what it writes); then its group is ended and it is reaped.
    pub(super) fn finish(&mut self, until: Instant, log: &mut dyn FnMut(Stream, &str)) {
        self.process.close_stdin();
        self.process.drain_until(until);
        self.process
            .wait_done(&Control::only_timeout(None), TICK, log);
        self.lines
            .drain(..)
            .for_each(|line| log(Stream::Out, &line));
        self.process.reap(None);
    }
}
