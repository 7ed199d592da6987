//! One machine name, one host: the name record of a stealing run (docs/balance.md, *One
//! machine name, one host*).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::output::claim::{read_claim_like, ClaimRecord};
use crate::output::layout::link_new;

/// A process as its kernel knows it: a pid names a process only within one PID namespace of
/// one boot, and only until it is reused (the start time tells).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Process {
    /// `/proc/sys/kernel/random/boot_id`: a new one at every boot of every machine.
    pub(crate) boot_id: String,
    /// The PID namespace (`/proc/self/ns/pid`, e.g. `pid:[4026531836]`).
    pub(crate) pid_ns: String,
    /// The process id in that namespace.
    pub(crate) pid: u32,
    /// Its start time, in clock ticks after boot (`/proc/PID/stat`, field 22).
    pub(crate) start: u64,
}

impl Process {
    /// This process (`None` where `/proc` does not say).
    pub(crate) fn me() -> Option<Process> {
        let pid = std::process::id();
        Some(Process {
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .ok()?
                .trim()
                .to_owned(),
            pid_ns: std::fs::read_link("/proc/self/ns/pid")
                .ok()?
                .to_string_lossy()
                .into_owned(),
            pid,
            start: start_of(pid)?.0,
        })
    }

    /// True when `other` runs on the same boot of the same kernel in the same PID namespace,
    /// where this process's pid can be looked up.
    pub(crate) fn same_kernel(&self, other: &Process) -> bool {
        self.boot_id == other.boot_id && self.pid_ns == other.pid_ns
    }

    /// True while this process runs (looked up from a process of the same kernel and PID
    /// namespace): its pid exists, started when it did, and is not a zombie.
    pub(crate) fn alive(&self) -> bool {
        start_of(self.pid)
            .is_some_and(|(start, state)| start == self.start && !matches!(state, 'Z' | 'X' | 'x'))
    }
}

/// The start time (clock ticks after boot) and state of process `pid`.
fn start_of(pid: u32) -> Option<(u64, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the fields after it follow
    // the last `)`; the state is field 3, the start time field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((fields.nth(18)?.parse().ok()?, state))
}

/// The one host running machine `name` of a layout: `hosts/<name>.json` names it.
///
/// `flock` is per host on sshfs (and local on NFS mounted `nolock`), so the directory lock
/// alone does not stop two hosts started with the same machine name; this record, created
/// exclusively through the file server before the run touches its directory, does. A record
/// is replaced only when its run is provably gone: it ran on this boot of this kernel, in this
/// PID namespace, and its process (pid and start time) is no more; or it is an earlier attempt
/// of the same Slurm job (a requeue, on any node). A host name proves nothing (cloned VMs and
/// containers share one). Any other record refuses the run.
#[derive(Debug)]
pub(crate) struct NameRecord {
    path: PathBuf,
    run: String,
}

/// A Slurm job's identity and attempt, from the environment.
fn slurm() -> (Option<String>, u64) {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let job = match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(j), Some(t)) => Some(format!("{j}_{t}")),
        _ => var("SLURM_JOB_ID"),
    };
    let restart = var("SLURM_RESTART_COUNT")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (job, restart)
}

/// What the name record holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NameFile {
    #[serde(flatten)]
    who: ClaimRecord,
    #[serde(default)]
    slurm_job: Option<String>,
    #[serde(default)]
    slurm_restart: u64,
    /// The process that holds the name, as its kernel knows it.
    #[serde(default)]
    process: Option<Process>,
}

impl NameRecord {
    fn path(layout_dir: &Path, name: &str) -> PathBuf {
        layout_dir.join("hosts").join(format!("{name}.json"))
    }

    /// Refuses, reading only, when another host runs machine `me.machine` of this layout.
    ///
    /// # Errors
    /// The record names another host (and not an earlier attempt of this Slurm job).
    pub(crate) fn check(layout_dir: &Path, me: &ClaimRecord) -> Result<()> {
        let path = Self::path(layout_dir, &me.machine);
        let Some(held) = read_claim_like::<NameFile>(&path) else {
            return Ok(());
        };
        if held.who.run == me.run {
            return Ok(());
        }
        let (job, restart) = slurm();
        if job.is_some() && held.slurm_job == job && restart > held.slurm_restart {
            return Ok(());
        }
        let mine = Process::me();
        let gone = match (&held.process, &mine) {
            (Some(p), Some(m)) if p.same_kernel(m) => !p.alive(),
            _ => false,
        };
        if gone {
            return Ok(());
        }
        let fix = if held
            .process
            .as_ref()
            .zip(mine.as_ref())
            .is_some_and(|(p, m)| p.same_kernel(m))
        {
            "two hosts must not run one machine; stop that run first".to_owned()
        } else {
            "this host cannot tell whether that run ended (another machine, container or boot, even of the same host name); if no run of this machine is left anywhere, remove that file and run again".to_owned()
        };
        Err(Error::locked(format!(
            "machine `{}` is running on host `{}` (pid {}, since {}) according to {}: {fix}",
            me.machine,
            held.who.host,
            held.who.pid,
            held.who.at,
            path.display()
        )))
    }

    /// Takes the name: created exclusively, or replacing a record [`NameRecord::check`] allows.
    ///
    /// # Errors
    /// Another host took it first, or the directory cannot be written.
    pub(crate) fn take(layout_dir: &Path, me: &ClaimRecord) -> Result<NameRecord> {
        let hosts = layout_dir.join("hosts");
        std::fs::create_dir_all(&hosts).map_err(|e| Error::io(&hosts, e))?;
        let path = Self::path(layout_dir, &me.machine);
        let (slurm_job, slurm_restart) = slurm();
        let file = NameFile {
            who: me.clone(),
            slurm_job,
            slurm_restart,
            process: Process::me(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("serializing plain data");
        bytes.push(b'\n');
        link_new(&path, &bytes, &me.run)?;
        let held = read_claim_like::<NameFile>(&path);
        if held.as_ref().is_some_and(|h| h.who.run != me.run) {
            Self::check(layout_dir, me)?;
            // Ours to replace: a run provably gone, or an earlier attempt of this Slurm job.
            crate::output::write_atomic(&path, &bytes)?;
            if read_claim_like::<NameFile>(&path).is_none_or(|h| h.who.run != me.run) {
                return Err(Error::locked(format!(
                    "another host took machine `{}` at the same moment ({}): two hosts must not run one machine",
                    me.machine,
                    path.display()
                )));
            }
        }
        Ok(NameRecord {
            path,
            run: me.run.clone(),
        })
    }
}

impl Drop for NameRecord {
    /// Gives the name back as the run ends, whether it finished or stopped on an error (only
    /// if the record is still this run's).
    fn drop(&mut self) {
        if read_claim_like::<NameFile>(&self.path).is_some_and(|h| h.who.run == self.run) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
