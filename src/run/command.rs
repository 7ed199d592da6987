//! Command jobs: `/bin/sh -c` in a process group of its own, output read line by line from two
//! pipes by the worker thread itself (poll, no thread per job), stopped with SIGTERM, a grace
//! period and SIGKILL, and no process left behind.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::attempt::{fields_of, Attempt};
use super::executor::{Control, Executor, JobSpec};
use crate::input::Capture;
use crate::model::{Status, Stream};
use crate::Work;

/// A line longer than this is cut into pieces, so a job printing without newlines cannot
/// exhaust memory.
const MAX_LINE: usize = 1 << 20;
/// How often a waiting worker looks at the cancel flag and the clock.
const TICK: Duration = Duration::from_millis(100);

/// Runs the jobs of a [`Work`] as shell commands.
pub struct CommandExecutor<'w> {
    work: &'w Work,
    machine: String,
    dir: PathBuf,
    capture: Capture,
    env: Vec<(String, OsString)>,
}

impl<'w> CommandExecutor<'w> {
    /// An executor for `work` on `machine` whose output directory is `dir` (job scratch dirs go
    /// under `dir/jobs/`, result files under `dir/tmp/`).
    pub fn new(work: &'w Work, machine: &str, dir: PathBuf, capture: Capture) -> Self {
        // A job may change directory before it writes $JOBSPLIT_RESULT: hand it absolute paths,
        // canonical ones, as the run directory knows itself (a rerun finds a killed run's jobs
        // by them, however either run spelled the directory).
        let dir = crate::paths::canonical_future(&dir).unwrap_or(dir);
        let mut env = vec![(
            "JOBSPLIT_PARAMS".to_owned(),
            OsString::from(serde_json::Value::Object(work.params().clone()).to_string()),
        )];
        for (name, value) in work.params() {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            env.push((format!("JOBSPLIT_PARAM_{}", env_name(name)), text.into()));
        }
        CommandExecutor {
            work,
            machine: machine.to_owned(),
            dir,
            capture,
            env,
        }
    }
}

/// `alpha-beta.x` -> `ALPHA_BETA_X`.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
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
            exit_code: None,
            error: Some(error),
            fields: Vec::new(),
            started_at,
            duration: clock.elapsed(),
        };
        let command = match self.work.command(job.index) {
            Ok(c) => c,
            Err(e) => return fail(e.to_string(), clock),
        };
        let scratch = self.dir.join("jobs").join(job.index.to_string());
        let result_file = self
            .dir
            .join("tmp")
            .join(format!("result-{}-{}.json", job.index, job.attempt));
        let _ = std::fs::remove_file(&result_file);
        // The scratch dir is created on demand, by the job (`mkdir -p "$JOBSPLIT_OUT"`): a
        // mkdir and rmdir for every job would cost more than a short job itself (~100 us on
        // ext4), and most jobs never use it. Its parent `jobs/` exists.
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("JOBSPLIT_JOB_INDEX", job.index.to_string())
            .env("JOBSPLIT_JOB_KEY", job.key.id())
            .env("JOBSPLIT_SEED", job.key.seed().to_string())
            .env("JOBSPLIT_ATTEMPT", job.attempt.to_string())
            .env("JOBSPLIT_MACHINE", &self.machine)
            .env("JOBSPLIT_OUT", &scratch)
            .env("JOBSPLIT_RESULT", &result_file);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return fail(format!("cannot start /bin/sh: {e}"), clock),
        };
        let mut last_line = String::new();
        let capture_last = self.capture == Capture::LastLine;
        let ended = supervise(child, control, &mut |stream, line| {
            if capture_last && stream == Stream::Out && !line.trim().is_empty() {
                line.clone_into(&mut last_line);
            }
            log(stream, line);
        });
        let mut attempt = Attempt {
            outcome: ended.outcome,
            exit_code: ended.exit_code,
            error: ended.error,
            fields: Vec::new(),
            started_at,
            duration: clock.elapsed(),
        };
        match std::fs::read(&result_file) {
            Ok(bytes) => {
                let _ = std::fs::remove_file(&result_file);
                match serde_json::from_slice::<serde_json::Value>(&bytes) {
                    Ok(v @ serde_json::Value::Object(_)) => attempt.fields = fields_of(&v),
                    _ if attempt.outcome != Status::Ok => {}
                    parsed => {
                        let why = match parsed {
                            Ok(other) => format!("it holds {}, not an object", kind(&other)),
                            Err(e) => format!("it is not JSON ({e})"),
                        };
                        attempt.outcome = Status::Failed;
                        attempt.error = Some(format!(
                            "$JOBSPLIT_RESULT: {why}: write a JSON object such as {{\"x\": 1}}"
                        ));
                    }
                }
            }
            Err(_) if capture_last && !last_line.is_empty() => {
                attempt.fields = vec![("result".to_owned(), last_line)];
            }
            Err(_) => {}
        }
        attempt
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

struct Ended {
    outcome: Status,
    exit_code: Option<i32>,
    error: Option<String>,
}

/// Reads the child's output until it and its process group are done, enforcing the time
/// limit and the cancel flag.
fn supervise(mut child: Child, control: &Control<'_>, log: &mut dyn FnMut(Stream, &str)) -> Ended {
    let pgid = child.id() as libc::pid_t;
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
    let mut backoff = Duration::from_micros(10);
    let pidfd = pidfd_open(pgid);
    loop {
        let open: Vec<usize> = (0..2).filter(|&i| pipes[i].is_open()).collect();
        if open.is_empty() && (exited || child_exited(pgid)) {
            break;
        }
        // Deadlines: the time limit, the grace period, the cancel flag.
        if stopping.is_none() {
            if control.cancelled() {
                stopping = Some((Status::Interrupted, Instant::now()));
            } else if control.timeout.is_some_and(|t| start.elapsed() >= t) {
                stopping = Some((Status::Timeout, Instant::now()));
            }
            if stopping.is_some() {
                signal_group(pgid, libc::SIGTERM);
            }
        }
        if let Some((_, since)) = stopping {
            if !killed && since.elapsed() >= control.grace {
                signal_group(pgid, libc::SIGKILL);
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
        let mut fds: Vec<libc::pollfd> = open
            .iter()
            .map(|&i| libc::pollfd {
                fd: pipes[i].fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // The pidfd becomes readable the moment the shell exits: no polling for its end.
        let watch_exit = !exited && pidfd.is_some();
        if let (true, Some(fd)) = (watch_exit, &pidfd) {
            fds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let ms = wait.as_millis().clamp(0, i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the call's duration.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                log(Stream::Event, &format!("poll failed: {e}"));
                signal_group(pgid, libc::SIGKILL);
                killed = true;
                pipes.iter_mut().for_each(|p| p.close(log));
            }
            continue;
        }
        if n == 0 {
            // Nothing to read: if the shell is gone but something it started holds the pipes,
            // that leftover is part of the job: end it (when the job is being stopped, it has
            // the rest of the grace period to clean up first).
            if !exited && child_exited(pgid) {
                exited = true;
                if stopping.is_none() {
                    signal_group(pgid, libc::SIGKILL);
                }
            }
            continue;
        }
        for (slot, pfd) in open.iter().zip(&fds) {
            if pfd.revents != 0 {
                pipes[*slot].read_some(log);
            }
        }
        if watch_exit && fds.last().is_some_and(|p| p.revents != 0) {
            exited = true;
            // Whatever the shell left running in its group is part of the job: end it (a job
            // being stopped keeps the rest of its grace period).
            if stopping.is_none() && pipes.iter().any(Pipe::is_open) {
                signal_group(pgid, libc::SIGKILL);
            }
        }
    }
    // The shell has exited (not yet reaped, so its pid and group id stay ours): end anything it
    // left behind in its group, then reap it.
    signal_group(pgid, libc::SIGKILL);
    let status = child.wait();
    let (outcome, exit_code, error) = match (stopping, status) {
        (Some((Status::Timeout, _)), _) => (
            Status::Timeout,
            None,
            Some(format!(
                "timed out after {:.1?}",
                control.timeout.unwrap_or_default()
            )),
        ),
        (Some((why, _)), _) => (why, None, Some("interrupted".to_owned())),
        (None, Ok(s)) => match (s.code(), s.signal()) {
            (Some(0), _) => (Status::Ok, Some(0), None),
            (Some(c), _) => (Status::Failed, Some(c), Some(format!("exit code {c}"))),
            (None, Some(sig)) => (
                Status::Failed,
                None,
                Some(format!("killed by signal {sig} ({})", signal_name(sig))),
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

/// A file descriptor that becomes readable when process `pid` exits (Linux 5.3+), if the
/// kernel has them.
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative return is a descriptor we now own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// True once the process `pid` has exited, without reaping it (so its pid is not reused).
fn child_exited(pid: libc::pid_t) -> bool {
    // SAFETY: siginfo_t is plain data; waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to `info`; WNOWAIT leaves the child waitable for `Child::wait`.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is valid to read after waitid filled `info` (zero when nothing exited).
    r == 0 && unsafe { info.si_pid() } != 0
}

fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill has no memory effects; a negative pid addresses the job's own process group,
    // whose leader we have not reaped yet.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGINT => "SIGINT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

trait ReadFd: Read + Send {
    fn raw_fd(&self) -> i32;
}

impl<T: Read + AsRawFd + Send> ReadFd for T {
    fn raw_fd(&self) -> i32 {
        self.as_raw_fd()
    }
}

thread_local! {
    /// Each worker's read buffer, zeroed once rather than on every read.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
}

/// One output pipe and its partial line.
struct Pipe {
    reader: Option<Box<dyn ReadFd>>,
    stream: Stream,
    partial: Vec<u8>,
}

impl Pipe {
    fn new(reader: Option<Box<dyn ReadFd>>, stream: Stream) -> Self {
        Pipe {
            reader,
            stream,
            partial: Vec::new(),
        }
    }

    fn is_open(&self) -> bool {
        self.reader.is_some()
    }

    fn fd(&self) -> i32 {
        self.reader.as_ref().map_or(-1, |r| r.raw_fd())
    }

    fn read_some(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        let Some(mut reader) = self.reader.take() else {
            return;
        };
        let open = READ_BUF.with_borrow_mut(|buf| match reader.read(buf) {
            Ok(0) => false,
            Ok(n) => {
                let mut rest = &buf[..n];
                while let Some(p) = memchr::memchr(b'\n', rest) {
                    self.partial.extend_from_slice(&rest[..p]);
                    self.emit(log);
                    rest = &rest[p + 1..];
                }
                self.partial.extend_from_slice(rest);
                if self.partial.len() >= MAX_LINE {
                    self.emit(log);
                }
                true
            }
            Err(e) => e.kind() == io::ErrorKind::Interrupted,
        });
        if open {
            self.reader = Some(reader);
        } else {
            self.close(log);
        }
    }

    fn emit(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        let line = String::from_utf8_lossy(&self.partial);
        log(self.stream, &line);
        self.partial.clear();
    }

    fn close(&mut self, log: &mut dyn FnMut(Stream, &str)) {
        if !self.partial.is_empty() {
            self.emit(log);
        }
        self.reader = None;
    }
}
