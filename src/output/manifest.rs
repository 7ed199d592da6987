//! manifest.json (what a run is) and status.json (how far it got), both replaced atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::write_atomic;
use crate::engine::Shard;
use crate::error::{Error, Result};
use crate::model::{Progress, RunState, Tally};

/// `manifest.json`: what this output directory holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `split-v1`.
    pub algorithm: String,
    /// 64 hex digits.
    pub work_digest: String,
    /// 64 hex digits.
    pub plan_digest: String,
    /// The machine's name.
    pub machine: String,
    /// Its weight in the plan.
    pub weight: f64,
    /// Its cores in the plan.
    pub cores: u64,
    /// Worker threads used.
    pub threads: u64,
    /// Jobs in its share.
    pub share: u64,
    /// Jobs in the whole work.
    pub jobs_total: u64,
    /// Jobs the plan left out (non-zero for a rescue plan).
    pub excluded: u64,
    /// The jobsplit version that wrote it.
    pub version: String,
    /// The host it ran on.
    pub hostname: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC; null while running.
    pub ended_at: Option<String>,
    /// `running`, `finished` or `interrupted`.
    pub state: RunState,
    /// Final outcome counts (`skipped`: already ok from an earlier run; `cancelled`: by the
    /// user, in this run or an earlier one).
    #[serde(with = "crate::model::tally::share_json")]
    pub counts: Tally,
    /// Sum of attempt durations in seconds.
    pub busy_s: f64,
    /// The shard, when run as one task of an engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The key of job 0 (16 hex digits). The seed is not part of the work digest; this key is,
    /// with it, so merge tells outputs of different seeds apart. Absent from older manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_key: Option<String>,
    /// How a stealing run was balanced; absent for the static split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<super::balance::BalanceInfo>,
    /// Every machine of the plan with its share, so `status` shows the hosts that have not
    /// started. Absent from older manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<PlannedMachine>,
    /// The payload digest of a run started by `jobsplit launch` (docs/remote.md): which files
    /// it was shipped with. Absent for a run started by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The epochs of a job list that grew (docs/split-v1.md section 7), in order; absent for a
    /// list of one epoch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<ManifestEpoch>,
}

/// An epoch of the plan a manifest records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEpoch {
    /// Its first job's index.
    pub first: u64,
    /// Its number of jobs.
    pub jobs: u64,
    /// D_e, 64 hex digits.
    pub plan_digest: String,
    /// W_e, 64 hex digits: the same in every plan of the study (a rescue plan's too, whose
    /// D_e leave out other jobs). Absent from manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub work_digest: String,
    /// This machine's share of it.
    pub share: u64,
}

impl ManifestEpoch {
    /// The epochs of `plan` as machine `machine`'s manifest records them: none for one epoch.
    pub fn of(plan: &crate::plan::Plan, machine: usize) -> Vec<ManifestEpoch> {
        if plan.epochs().len() < 2 {
            return Vec::new();
        }
        plan.epochs()
            .iter()
            .map(|e| ManifestEpoch {
                first: e.span.first,
                jobs: e.span.jobs,
                plan_digest: e.plan_digest.hex(),
                work_digest: e.work_digest.hex(),
                share: e.shares.get(machine).copied().unwrap_or(0),
            })
            .collect()
    }
}

/// A machine of the plan, as listed in every host's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMachine {
    /// The machine's name.
    pub machine: String,
    /// Jobs in its share.
    pub share: u64,
}

/// An attempt running when status.json was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningJob {
    /// The job's index.
    pub index: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the attempt started, RFC 3339 UTC.
    pub started_at: String,
}

impl Manifest {
    /// The file name.
    pub const FILE: &'static str = "manifest.json";

    /// Writes `dir/manifest.json` atomically.
    ///
    /// # Errors
    /// If the directory is not writable or the disk is full.
    pub fn write_atomic(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(Self::FILE), self)
    }

    /// Writes `dir/manifest.json` atomically with [`Manifest::RESERVE`] bytes of trailing
    /// white space (still valid JSON), so that [`Manifest::overwrite_in_place`] can later
    /// replace it without asking the file system for a new block.
    ///
    /// # Errors
    /// If the directory is not writable or the disk is full.
    pub fn write_reserving(&self, dir: &Path) -> Result<()> {
        let mut bytes = json_bytes(self);
        bytes.resize(bytes.len() + Self::RESERVE, b' ');
        bytes.push(b'\n');
        write_atomic(&dir.join(Self::FILE), &bytes)
    }

    /// Room left at the end of a running manifest for its final counts, times and state.
    pub const RESERVE: usize = 512;

    /// Replaces `dir/manifest.json` in place, padding with white space to its old length: the
    /// fallback when a full disk refuses the atomic write of a run's final manifest, so that a
    /// manifest never stays `running` after its run ended.
    ///
    /// # Errors
    /// If the new manifest is longer than the old file, or the file cannot be written.
    pub fn overwrite_in_place(&self, dir: &Path) -> Result<()> {
        use std::io::Write as _;
        let path = dir.join(Self::FILE);
        let io = |e| Error::io(&path, e);
        let old_len = std::fs::symlink_metadata(&path).map_err(io)?.len() as usize;
        let mut bytes = json_bytes(self);
        if bytes.len() + 1 > old_len {
            return Err(Error::io(
                &path,
                std::io::Error::other("the final manifest does not fit in the running one"),
            ));
        }
        bytes.resize(old_len - 1, b' ');
        bytes.push(b'\n');
        let mut f = super::open_output(std::fs::OpenOptions::new().write(true), &path)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// Reads `dir/manifest.json`.
    ///
    /// # Errors
    /// If it is missing or not a manifest.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(Self::FILE);
        let m: Manifest = read_json(&path)?;
        m.check(&path)?;
        Ok(m)
    }

    /// Refuses digests and a key that are not the lowercase hex `run` writes: merge and
    /// `status` compare them as text and show them, so a hand-edited one must not pass.
    fn check(&self, path: &Path) -> Result<()> {
        let fields = [
            ("work_digest", Some(&self.work_digest), 64),
            ("plan_digest", Some(&self.plan_digest), 64),
            ("first_key", self.first_key.as_ref(), 16),
        ];
        for (name, value, digits) in fields {
            let Some(v) = value else { continue };
            let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
            if v.len() != digits || !v.as_bytes().iter().all(hex) {
                return Err(Error::damaged(
                    Some(path),
                    None,
                    format!(
                        "`{name}` is not {digits} lowercase hex digits: manifest.json is written by `jobsplit run`; restore it or remove this machine directory"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `status.json`: a running host's progress, refreshed every few seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatusFile {
    /// The machine's name.
    pub machine: String,
    /// 64 hex digits.
    pub plan_digest: String,
    /// 64 hex digits.
    pub work_digest: String,
    /// `running`, `finished` or `interrupted`.
    pub state: RunState,
    /// Jobs in the share.
    pub share: u64,
    /// Jobs done, ok, failed (or timed out) and cancelled: the folds of the run's tally.
    #[serde(flatten)]
    pub progress: Progress,
    /// Jobs ended per second in this run.
    pub rate_per_s: f64,
    /// Estimated seconds to the end.
    pub eta_s: Option<f64>,
    /// RFC 3339 UTC.
    pub updated_at: String,
    /// A stealing host's claims; absent for the static split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal: Option<super::balance::StealStatus>,
    /// Seconds between two writes of this file while running (absent from older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_s: Option<f64>,
    /// The attempts running, by index (empty once the run ended; absent from older files).
    #[serde(default)]
    pub running: Vec<RunningJob>,
}

impl StatusFile {
    /// The file name.
    pub(crate) const FILE: &'static str = "status.json";

    /// Writes `dir/status.json` atomically.
    ///
    /// # Errors
    /// If the directory is not writable or the disk is full.
    pub(crate) fn write_atomic(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(Self::FILE), self)
    }

    /// Reads `dir/status.json`.
    ///
    /// # Errors
    /// If it is missing or malformed.
    pub(crate) fn read(dir: &Path) -> Result<StatusFile> {
        read_json(&dir.join(Self::FILE))
    }
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("serializing plain data")
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = json_bytes(value);
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::damaged(
            Some(path),
            Some(e.line() as u64),
            format!(
                "not a jobsplit file ({e}): it is written by `jobsplit run`; restore or remove it"
            ),
        )
    })
}
