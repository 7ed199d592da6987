//! Command jobs: `/bin/sh -c` run by the one process supervisor (`run::supervisor`: a process
//! group of its own, output read line by line by the worker thread itself, stopped with SIGTERM,
//! a grace period and SIGKILL, and no process left behind).
//!
//! [`env`] is what a job is handed and hands back, [`reason`] the stderr line that says why it
//! failed; the finding of its processes (also those that left its process group) is the
//! supervisor's (`run::supervisor::leftovers`).

pub(in crate::run) mod env;
mod reason;
mod workdir;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use super::attempt::{Attempt, Reason};
use super::executor::{Control, Executor, JobSpec};
use super::supervisor::{run_marker, Environ, Io, Launch, Marked, Process, RUN_VAR};
use crate::input::{Capture, Workdir};
use crate::model::{Status, Stream};
use crate::Work;

/// How often a waiting worker thread looks at the cancel flag and the clock.
const TICK: Duration = Duration::from_millis(100);

/// Runs the jobs of a [`Work`] as shell commands.
pub(crate) struct CommandExecutor<'w> {
    work: &'w Work,
    machine: String,
    dir: PathBuf,
    /// `dir/jobs` and `dir/tmp`, joined once.
    jobs: PathBuf,
    tmp: PathBuf,
    capture: Capture,
    workdir: Workdir,
    env: Vec<(String, OsString)>,
    /// `JOBSPLIT_RUN`, found once the directory exists (at the first job), and the jobs'
    /// environment with it, built once.
    marker: OnceLock<(OsString, Environ)>,
}

impl<'w> CommandExecutor<'w> {
    /// An executor for `work` on `machine` whose output directory is `dir` (job scratch dirs go
    /// under `dir/jobs/`, result files under `dir/tmp/`).
    pub(crate) fn new(work: &'w Work, machine: &str, dir: PathBuf, capture: Capture) -> Self {
        // A job may change directory before it writes $JOBSPLIT_RESULT: hand it absolute paths,
        // canonical ones, as the run directory knows itself (a rerun finds a killed run's jobs
        // by them, however either run spelled the directory).
        let dir = crate::paths::canonical_future(&dir).unwrap_or(dir);
        CommandExecutor {
            work,
            machine: machine.to_owned(),
            jobs: dir.join("jobs"),
            tmp: dir.join("tmp"),
            dir,
            capture,
            workdir: Workdir::Launch,
            env: env::launch_var()
                .into_iter()
                .chain(env::param_vars(work))
                .collect(),
            marker: OnceLock::new(),
        }
    }
}

impl CommandExecutor<'_> {
    /// Runs each job in `workdir`: the launch directory (the default), or with
    /// [`Workdir::Job`] its own fresh `dir/jobs/<index>/`, emptied before each attempt.
    #[must_use]
    pub(crate) fn workdir(mut self, workdir: Workdir) -> Self {
        self.workdir = workdir;
        self
    }
}

impl Drop for CommandExecutor<'_> {
    /// The run is over: end whatever its jobs left running outside their process groups (a
    /// daemon that closed its output is found only here).
    fn drop(&mut self) {
        if let Some((run, _)) = self.marker.get() {
            Marked { run, job: None }.signal(crate::sys::Signal::Kill);
        }
    }
}

impl CommandExecutor<'_> {
    /// Starts job `job`'s `command` in `slot`: its environment, its directory with
    /// `workdir = "job"`, its process. Returns the process and the job's result file, or why it
    /// could not start.
    fn start(
        &self,
        job: &JobSpec,
        command: &str,
        slot: u64,
    ) -> Result<(Process<'_>, PathBuf), String> {
        let (marker, environ) = self.marker.get_or_init(|| {
            env::clear_result_files(&self.dir);
            let marker = run_marker(&self.dir);
            let mut env = self.env.clone();
            env.push((RUN_VAR.to_owned(), marker.clone()));
            (marker, Environ::inherit(&env))
        });
        let scratch = self.jobs.join(itoa::Buffer::new().format(job.index));
        // No result file of an earlier run is left (see the marker's init): none to remove.
        let result_file = env::result_path(&self.tmp, job);
        // The scratch dir is created on demand, by the job (`mkdir -p "$JOBSPLIT_OUT"`): a
        // mkdir and rmdir for every job would cost more than a short job itself (~100 us on
        // ext4), and most jobs never use it. Its parent `jobs/` exists. With `workdir = "job"`
        // it is made here, fresh, and the job starts in it.
        let mut cwd = None;
        if self.workdir == Workdir::Job {
            if let Err(e) = workdir::fresh_dir(&scratch) {
                return Err(format!(
                    "cannot make its directory {}: {e}",
                    scratch.display()
                ));
            }
            cwd = Some(scratch.as_path());
        }
        let vars = env::job_vars(job, &self.machine, &scratch, &result_file, slot);
        let launch = Launch {
            command,
            env: environ,
            vars: &vars,
            cwd,
        };
        let marked = Marked {
            run: marker,
            job: Some((job.index, job.attempt)),
        };
        let io = Io {
            stdin: false,
            output: true,
            max_out_line: None,
        };
        let process = Process::spawn(&launch, io, Some(marked))
            .map_err(|e| format!("cannot start /bin/sh: {e}"))?;
        Ok((process, result_file))
    }
}

impl Executor for CommandExecutor<'_> {
    fn execute(
        &self,
        job: &JobSpec,
        control: &Control<'_>,
        log: &mut dyn FnMut(Stream, &str),
    ) -> Attempt {
        let started_at = SystemTime::now();
        let clock = Instant::now();
        let fail = |error: String, clock: Instant| Attempt {
            outcome: Status::Failed,
            exit: None,
            reason: Some(Reason::Message(error)),
            fields: Vec::new(),
            command: None,
            started_at,
            duration: clock.elapsed(),
        };
        // The slot: this worker thread's number in the run's pool, 1-based. Each pool thread runs
        // one worker, which runs one job at a time, so running jobs never share a slot.
        let slot = rayon::current_thread_index().map_or(1, |i| i as u64 + 1);
        let command = match self.work.command_in_slot(job.index, slot) {
            Ok(c) => c,
            Err(e) => return fail(e.to_string(), clock),
        };
        let (mut process, result_file) = match self.start(job, &command, slot) {
            Ok(started) => started,
            Err(error) => {
                return Attempt {
                    command: Some(command),
                    ..fail(error, clock)
                }
            }
        };
        let mut last_line = String::new();
        let mut last_err = reason::LastErrLine::default();
        let capture_last = self.capture == Capture::LastLine;
        process.wait_done(control, TICK, &mut |stream, line| {
            if capture_last && stream == Stream::Out && !line.trim().is_empty() {
                line.clone_into(&mut last_line);
            }
            if stream == Stream::Err {
                last_err.see(line);
            }
            log(stream, line);
        });
        let exit = process.reap(Some(control));
        drop(process);
        let outcome = exit.status();
        let mut attempt = Attempt {
            outcome,
            exit: Some(exit),
            reason: last_err.reason(outcome),
            fields: Vec::new(),
            command: Some(command),
            started_at,
            duration: clock.elapsed(),
        };
        env::take_result(
            &result_file,
            capture_last.then_some(last_line),
            &mut attempt,
        );
        attempt
    }
}
