//! The host side of a launched run: start it detached (or say it runs, or is done), read how
//! far it got, stop it in order, and remove the study directory.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::state_dir::{state_dir, STATE_DIR};
use super::wire;
use crate::error::{Error, Result};
use crate::model::RunState;
use crate::output::manifest::Manifest;

pub(crate) use crate::run::PAYLOAD_ENV;

/// What `start` found or did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
#[allow(clippy::enum_variant_names)] // `Started::Started` is the wire's `"state": "started"`
pub(crate) enum Started {
    /// A run was started (`resumed`: the directory held an earlier run of the plan).
    Started {
        /// Its process id on the host.
        pid: u32,
        /// True when it resumes an earlier run.
        resumed: bool,
    },
    /// A run is going there already; nothing was started.
    Running,
    /// The share is done (every job ended ok or cancelled); nothing was started.
    Done,
    /// The run ended at once: its exit code and last line.
    Exited {
        /// Its exit code.
        code: i32,
        /// The last line it printed.
        last: String,
    },
}

/// What `status` answers about one machine on its host.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct HostStatus {
    /// True while a run holds the directory's lock.
    pub running: bool,
    /// Its status.json, if any.
    pub status: Option<serde_json::Value>,
    /// Its manifest.json, if any.
    pub manifest: Option<serde_json::Value>,
}

/// Where a machine's run writes: `dir/out/machine` (`out` may be absolute).
fn machine_dir(dir: &Path, out: &str, machine: &str) -> PathBuf {
    dir.join(out).join(machine)
}

fn out_file(dir: &Path, machine: &str) -> PathBuf {
    state_dir(dir).join(format!("{machine}.out"))
}

/// The run `start` last started for `machine` (its payload and arguments), for `restart`.
fn run_file(dir: &Path, machine: &str) -> PathBuf {
    state_dir(dir).join(format!("{machine}.run"))
}

fn pid_file(dir: &Path, machine: &str) -> PathBuf {
    state_dir(dir).join(format!("{machine}.pid"))
}

/// True while a run holds `mdir/.lock`.
fn running(mdir: &Path) -> bool {
    let Ok(file) = File::open(mdir.join(".lock")) else {
        return false;
    };
    matches!(crate::sys::try_lock_exclusive(&file), Ok(false))
}

/// True when the manifest says the share of plan `digest` ended with every job ok or cancelled.
fn done(mdir: &Path, digest: &str) -> bool {
    Manifest::read(mdir).is_ok_and(|m| {
        m.state == RunState::Finished
            && m.plan_digest.starts_with(digest)
            && m.counts.failed + m.counts.timeout + m.counts.interrupted == 0
    })
}

/// `start DIR OUT MACHINE DIGEST PAYLOAD FORCE RUNARGS...`: starts `jobsplit RUNARGS...` in DIR,
/// detached, unless a run is going or (FORCE `0`) the share is done.
pub(crate) fn start(args: &[String], out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, machine, digest, payload, force, run @ ..] = args else {
        return Err(Error::remote("remote-serve start: too few arguments"));
    };
    let dir = Path::new(dir);
    let mdir = machine_dir(dir, outdir, machine);
    // A follower waiting for its list to grow holds no lock: its pid file tells it.
    let answer = if running(&mdir) || our_pid(dir, machine).is_some() {
        Started::Running
    } else if force == "0" && done(&mdir, digest) {
        Started::Done
    } else {
        spawn(dir, &mdir, machine, payload, run)?
    };
    wire::write_line(out, &answer).map_err(|e| Error::remote(e.to_string()))
}

/// `restart DIR OUT MACHINE`: starts again the run `start` last started for MACHINE, when it
/// finished by itself (watch hands blocks to a `--steal-remote` host whose run had ended, and
/// only that host may run them). Refused when it runs, was stopped or interrupted, or was
/// started with `--fresh` or `--rerun` (a relaunch decides that), or was never started here.
pub(crate) fn restart(args: &[String], out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, machine, ..] = args else {
        return Err(Error::remote("remote-serve restart: too few arguments"));
    };
    let dir = Path::new(dir);
    let mdir = machine_dir(dir, outdir, machine);
    if running(&mdir) || our_pid(dir, machine).is_some() {
        return wire::write_line(out, &Started::Running).map_err(|e| Error::remote(e.to_string()));
    }
    let refused = |why: &str| Error::remote(format!("not restarted: {why}: launch it again"));
    let finished = Manifest::read(&mdir).is_ok_and(|m| m.state == RunState::Finished);
    if !finished {
        return Err(refused("its run did not finish by itself"));
    }
    let file = run_file(dir, machine);
    let (payload, run): (String, Vec<String>) = std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| refused("no run was started here"))?;
    if run
        .iter()
        .any(|a| a == "--fresh" || a.starts_with("--rerun"))
    {
        return Err(refused("it was started with --fresh or --rerun"));
    }
    let answer = spawn(dir, &mdir, machine, &payload, &run)?;
    wire::write_line(out, &answer).map_err(|e| Error::remote(e.to_string()))
}

/// Starts the run in a session of its own, its console output in `.jobsplit-remote/M.out`, and
/// waits a moment to tell a run that refused at once.
fn spawn(dir: &Path, mdir: &Path, machine: &str, payload: &str, run: &[String]) -> Result<Started> {
    let state = state_dir(dir);
    std::fs::create_dir_all(&state).map_err(|e| Error::io(&state, e))?;
    let log_path = out_file(dir, machine);
    let log = File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
    let exe = std::env::current_exe().map_err(|e| Error::remote(format!("no executable: {e}")))?;
    let resumed = mdir.join(Manifest::FILE).exists();
    let mut cmd = Command::new(exe);
    cmd.args(run)
        .current_dir(dir)
        .env(PAYLOAD_ENV, payload)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    crate::sys::detach(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::remote(format!("cannot start the run: {e}")))?;
    let pid = child.id();
    let pids = pid_file(dir, machine);
    std::fs::write(&pids, format!("{pid}\n")).map_err(|e| Error::io(&pids, e))?;
    let record = serde_json::to_vec(&(payload, run)).expect("serializing plain data");
    let runs = run_file(dir, machine);
    std::fs::write(&runs, record).map_err(|e| Error::io(&runs, e))?;
    let deadline = Instant::now() + Duration::from_millis(400);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            return Ok(Started::Exited {
                code: status.code().unwrap_or(-1),
                last: last.to_owned(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Started::Started { pid, resumed })
}

/// `status DIR OUT MACHINE`: one JSON line, a [`HostStatus`].
pub(crate) fn status(args: &[String], out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, machine, ..] = args else {
        return Err(Error::remote("remote-serve status: too few arguments"));
    };
    let mdir = machine_dir(Path::new(dir), outdir, machine);
    let json = |name: &str| {
        std::fs::read(mdir.join(name))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    };
    // A run just started may not hold its lock yet, and a follower waiting for its list to
    // grow holds none: its pid file tells both.
    let answer = HostStatus {
        running: running(&mdir) || our_pid(Path::new(dir), machine).is_some(),
        status: json("status.json"),
        manifest: json(Manifest::FILE),
    };
    wire::write_line(out, &answer).map_err(|e| Error::remote(e.to_string()))
}

/// `stop DIR OUT MACHINE`: SIGINT to the run, as its first Ctrl-C: it stops starting jobs, stops
/// those running, records them interrupted and ends (a launch resumes it).
pub(crate) fn stop(args: &[String], out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, machine, ..] = args else {
        return Err(Error::remote("remote-serve stop: too few arguments"));
    };
    let dir = Path::new(dir);
    let mdir = machine_dir(dir, outdir, machine);
    let answer = match our_pid(dir, machine) {
        Some(pid) => {
            crate::sys::interrupt(pid);
            "stopping"
        }
        _ if running(&mdir) => "running-elsewhere",
        _ => "not-running",
    };
    wire::write_line(out, &answer).map_err(|e| Error::remote(e.to_string()))
}

/// The process id of the run `start` started for `machine`, while it lives.
fn our_pid(dir: &Path, machine: &str) -> Option<crate::sys::Pid> {
    std::fs::read_to_string(pid_file(dir, machine))
        .ok()
        .and_then(|t| t.trim().parse::<crate::sys::Pid>().ok())
        .filter(|pid| is_our_run(*pid))
}

/// True when process `pid` is a jobsplit run (its command line holds `run`).
fn is_our_run(pid: crate::sys::Pid) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|b| *b == 0).any(|w| w == b"run"))
}

/// `clean DIR`: removes the study directory DIR, refused while a run there holds a lock or
/// when DIR is not a launched study (no `.jobsplit-remote` in it).
pub(crate) fn clean(dir: &Path, out: &mut dyn Write) -> Result<()> {
    if !state_dir(dir).is_dir() {
        return Err(Error::output_dir(
            None,
            None,
            format!(
                "{} holds no launched study (no {}): nothing removed",
                dir.display(),
                STATE_DIR
            ),
        ));
    }
    if let Some(busy) = locked_below(dir, 4) {
        return Err(Error::locked(format!(
            "a run is running in {}: stop it first (`jobsplit stop`); nothing removed",
            busy.display()
        )));
    }
    std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    wire::write_line(out, &"removed").map_err(|e| Error::remote(e.to_string()))
}

/// A directory below `dir` (at most `depth` levels) whose `.lock` a run holds.
fn locked_below(dir: &Path, depth: u32) -> Option<PathBuf> {
    if running(dir) {
        return Some(dir.to_path_buf());
    }
    if depth == 0 {
        return None;
    }
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .find_map(|e| locked_below(&e.path(), depth - 1))
}
