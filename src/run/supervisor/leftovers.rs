//! Finding a job's processes, including those that left its process group (`setsid`, a
//! daemon's double fork), so that none outlives its job or the run.
//!
//! Every command job carries `JOBSPLIT_RUN=<canonical path of OUT/<machine>>` in its
//! environment, and so does everything it starts (unless that clears its environment). With the
//! directory's lock held, a process carrying this run's marker is a job of this run, or of an
//! earlier run of the same directory that was killed (`kill -9`): either way ours to end. The
//! marker is found in `/proc/PID/environ` (the environment a process was started with), which
//! this user can read for its own processes; others' are not ours to end.
//!
//! Why not a cgroup per run: it would also catch a process that clears its environment, but
//! creating one needs a writable cgroup tree (root, or systemd delegation), which containers
//! and batch systems often do not give, and moving each job into it at spawn needs a fork hook;
//! the marker works wherever /proc does. Why not `PR_SET_CHILD_SUBREAPER`: orphans would become
//! our children, and reaping them races with `Child::wait` for the jobs' own shells.

use std::ffi::OsString;
use std::path::Path;

use crate::sys::{self, Pid, Signal};

/// The variable that marks every process of a run.
pub(crate) const RUN_VAR: &str = "JOBSPLIT_RUN";

/// The marker's value for output directory `dir`: its canonical path (so that every spelling
/// of the directory, through a symlink or `..`, names the same run), or its absolute path when
/// it cannot be resolved.
pub(crate) fn run_marker(dir: &Path) -> OsString {
    crate::paths::canonical_future(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
        .into_os_string()
}

/// Which processes to look for: those of run `run`, and of one attempt of one job if `job` is
/// given (its `JOBSPLIT_JOB_INDEX` and `JOBSPLIT_ATTEMPT`).
pub(crate) struct Marked<'a> {
    pub(crate) run: &'a OsString,
    pub(crate) job: Option<(u64, u32)>,
}

/// The room first given to a process's environment: most fit, so one read takes it whole.
const ENVIRON_BUF: usize = 64 << 10;

/// Reads `/proc/PID/environ` into `buf` (grown as needed) and returns its length. Not
/// `std::fs::read`: /proc tells no size, so it would ask for the length and the position and
/// then read from 32 bytes up, doubling (about ten system calls a process); this is an open,
/// one read (more for a larger environment) and the read that finds the end. A scan reads
/// every process's environment, twice a run and more when a job leaves its output open, and
/// each read waits for that process's memory map lock, which a busy process can hold a while.
fn read_environ(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize((2 * len).max(ENVIRON_BUF), 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => return Ok(len),
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl Marked<'_> {
    /// The variables (`NAME=VALUE`) a process's environment must hold, all of them.
    fn needles(&self) -> Vec<Vec<u8>> {
        let mut run = format!("{RUN_VAR}=").into_bytes();
        run.extend_from_slice(self.run.as_encoded_bytes());
        let mut needles = vec![run];
        if let Some((index, attempt)) = self.job {
            needles.push(format!("JOBSPLIT_JOB_INDEX={index}").into_bytes());
            needles.push(format!("JOBSPLIT_ATTEMPT={attempt}").into_bytes());
        }
        needles
    }

    /// The live processes carrying the marker (never this process), each with its job index.
    fn find(&self) -> Vec<(Pid, Option<u64>)> {
        let needles = self.needles();
        let me = std::process::id();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut buf = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(len) = read_environ(&entry.path().join("environ"), &mut buf) else {
                continue;
            };
            let vars = buf[..len].split(|&b| b == 0);
            let holds = |needle: &Vec<u8>| vars.clone().any(|var| var == needle.as_slice());
            if !needles.iter().all(holds) {
                continue;
            }
            let index = vars.clone().find_map(|var| {
                let value = var.strip_prefix(b"JOBSPLIT_JOB_INDEX=")?;
                std::str::from_utf8(value).ok()?.parse().ok()
            });
            if let Ok(pid) = Pid::try_from(pid) {
                found.push((pid, index));
            }
        }
        found
    }

    /// Sends `sig` to every marked process and to its process group (a daemon's own children
    /// share its group), never to jobsplit's own group. Returns how many jobs they belonged to.
    ///
    /// With SIGKILL it looks again until none is left (at most a few rounds), so that a process
    /// forked while the list was read is not missed.
    pub(crate) fn signal(&self, sig: Signal) -> usize {
        let own = sys::process_group(std::process::id() as Pid);
        let mut jobs: Vec<Option<u64>> = Vec::new();
        for _ in 0..5 {
            let found = self.find();
            if found.is_empty() {
                break;
            }
            for &(pid, job) in &found {
                if !jobs.contains(&job) {
                    jobs.push(job);
                }
                match sys::process_group(pid) {
                    Some(pgid) if Some(pgid) != own => sys::signal_group(pgid, sig),
                    _ => {}
                }
                sys::signal_process(pid, sig);
            }
            if sig != Signal::Kill {
                break;
            }
            // Give the kernel a moment to take them out of /proc.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        jobs.len()
    }
}
