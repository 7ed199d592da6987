//! Persistent workers (docs/workers.md): one long-lived process per slot, started when a worker
//! thread first needs one, sent jobs one JSON line at a time and answering each with one line.
//! A worker that dies, times out or breaks the protocol is ended and replaced for the next job;
//! `recycle` replaces each after that many jobs.
//!
//! [`process`] is the process (spawn, poll, stop, reap), [`protocol`] the messages; the system
//! calls are in `crate::sys`.

mod process;
mod protocol;

pub(crate) use protocol::VERSION;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use self::process::{Gone, Worker};
use self::protocol::JobLine;
use super::attempt::{Attempt, Reason};
use super::executor::{Control, Executor, JobSpec};
use super::supervisor::Exit;
use super::supervisor::{run_marker, Marked, RUN_VAR};
use crate::model::{Status, Stream};
use crate::Work;

/// How long a worker whose stdin was closed may take to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Runs the jobs of a [`Work`] on persistent worker processes.
pub(crate) struct WorkerExecutor<'w> {
    work: &'w Work,
    command: String,
    machine: String,
    dir: PathBuf,
    recycle: Option<u64>,
    grace: Duration,
    params: String,
    env: Vec<(String, OsString)>,
    /// Workers between jobs, ready for the next.
    idle: Mutex<Vec<Worker>>,
    /// `JOBSPLIT_RUN`, found once the directory exists (at the first job).
    marker: OnceLock<OsString>,
}

impl<'w> WorkerExecutor<'w> {
    /// An executor running `work` on `machine` with workers started as `/bin/sh -c command`;
    /// `dir` is the output directory (job scratch dirs go under `dir/jobs/`).
    pub(crate) fn new(work: &'w Work, machine: &str, dir: PathBuf, command: &str) -> Self {
        let dir = crate::paths::canonical_future(&dir).unwrap_or(dir);
        let mut env = super::command::env::param_vars(work);
        env.push(("JOBSPLIT_WORKER".to_owned(), VERSION.to_string().into()));
        env.push(("JOBSPLIT_MACHINE".to_owned(), machine.into()));
        WorkerExecutor {
            work,
            command: command.to_owned(),
            machine: machine.to_owned(),
            dir,
            recycle: None,
            grace: Duration::from_secs(10),
            params: serde_json::Value::Object(work.params().clone()).to_string(),
            env,
            idle: Mutex::new(Vec::new()),
            marker: OnceLock::new(),
        }
    }

    /// Replaces each worker after it ran `jobs` jobs (`None`: never).
    #[must_use]
    pub(crate) fn recycle(mut self, jobs: Option<u64>) -> Self {
        self.recycle = jobs.filter(|&n| n > 0);
        self
    }

    /// The longest a worker told to exit may take, at most 2 s (the run's grace period when
    /// shorter).
    #[must_use]
    pub(crate) fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    fn exit_wait(&self) -> Duration {
        EXIT_WAIT.min(self.grace)
    }

    /// An idle worker, or a fresh one.
    fn take_worker(&self, marker: &OsString) -> std::io::Result<Worker> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(mut w) = idle else { break };
            if !w.has_exited() {
                return Ok(w);
            }
            w.kill_now(); // it died between jobs: no job was lost
        }
        let mut env = self.env.clone();
        env.push((RUN_VAR.to_owned(), marker.clone()));
        Worker::spawn(&self.command, &env)
    }

    /// Runs one job on `worker`: the hello if it is fresh, the job line, the answer.
    fn exchange(
        &self,
        worker: &mut Worker,
        job: &JobSpec,
        started: Instant,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Result<protocol::Answer, Failure> {
        worker.begin(started);
        if !worker.greeted {
            let hello = worker
                .next_message(control, log, true)
                .map_err(|gone| Failure::from_gone(gone, true))?;
            protocol::check_hello(&hello).map_err(Failure::Protocol)?;
            worker.greeted = true;
        }
        let out = self.dir.join("jobs").join(job.index.to_string());
        let line = protocol::job_line(
            job,
            &JobLine {
                machine: &self.machine,
                out: &out.to_string_lossy(),
                record: self.work.jobs().record(job.index),
                params: &self.params,
            },
        );
        worker.send(&line);
        let answer = match worker.next_message(control, log, false) {
            Ok(m) => m,
            // An answer written just before the worker exited still counts.
            Err(gone @ Gone::Ended(_)) => match worker.take_queued() {
                Some(m) => m,
                None => return Err(Failure::from_gone(gone, false)),
            },
            Err(gone) => return Err(Failure::from_gone(gone, false)),
        };
        protocol::read_answer(job.index, &answer).map_err(Failure::Protocol)
    }
}

/// Why a job got no answer.
enum Failure {
    /// The worker ended (it crashed, or jobsplit stopped it) and was reaped; `before_hello` if
    /// it never said hello.
    Ended(Exit, bool),
    /// It broke the protocol: it is ended.
    Protocol(String),
}

impl Failure {
    fn from_gone(gone: Gone, before_hello: bool) -> Failure {
        match gone {
            Gone::Ended(exit) => Failure::Ended(exit, before_hello),
            Gone::Broke(why) => Failure::Protocol(why),
        }
    }
}

impl Executor for WorkerExecutor<'_> {
    fn execute(
        &self,
        job: &JobSpec,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Attempt {
        let started_at = SystemTime::now();
        let started = Instant::now();
        let marker = self.marker.get_or_init(|| run_marker(&self.dir));
        let attempt = |outcome, exit, reason, fields| Attempt {
            outcome,
            exit,
            reason,
            fields,
            command: None,
            started_at,
            duration: started.elapsed(),
        };
        let mut worker = match self.take_worker(marker) {
            Ok(w) => w,
            Err(e) => {
                let error = format!("cannot start the worker `{}`: {e}", self.command);
                return attempt(
                    Status::Failed,
                    None,
                    Some(Reason::Message(error)),
                    Vec::new(),
                );
            }
        };
        match self.exchange(&mut worker, job, started, control, log) {
            Ok((status, error, fields)) => {
                let done = attempt(status, None, error.map(Reason::Message), fields);
                worker.jobs += 1;
                if self.recycle.is_some_and(|n| worker.jobs >= n) {
                    worker.finish(Instant::now() + self.exit_wait(), log);
                } else {
                    self.idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(worker);
                }
                done
            }
            // Stopped by jobsplit: the time limit, the run's stop, `jobsplit cancel`.
            Err(Failure::Ended(exit @ (Exit::TimedOut(_) | Exit::Stopped(_)), _)) => {
                attempt(exit.status(), Some(exit), None, Vec::new())
            }
            Err(Failure::Ended(exit, before_hello)) => attempt(
                Status::Failed,
                Some(exit),
                Some(Reason::WorkerEnded { before_hello }),
                Vec::new(),
            ),
            Err(Failure::Protocol(error)) => {
                worker.kill_now();
                attempt(
                    Status::Failed,
                    None,
                    Some(Reason::Message(error)),
                    Vec::new(),
                )
            }
        }
    }
}

impl Drop for WorkerExecutor<'_> {
    /// The run is over: tell every idle worker to exit (stdin closed), give them a moment, end
    /// their groups, then whatever they left running outside them.
    fn drop(&mut self) {
        let mut idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        idle.iter_mut().for_each(Worker::close_stdin);
        let until = Instant::now() + self.exit_wait();
        for w in &mut idle {
            w.finish(until, &mut |_, _| {});
        }
        if let Some(run) = self.marker.get() {
            Marked { run, job: None }.signal(crate::sys::Signal::Kill);
        }
    }
}
