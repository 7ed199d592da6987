//! `status`: how far every host has got, from the files the hosts write (also while they run,
//! e.g. on a shared file system).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::epochs::find_study_dirs;
use crate::error::Result;
use std::collections::HashMap;

use crate::model::{Progress, RunState, Status, Tally};
use crate::output::manifest::{Manifest, RunningJob, StatusFile};
use crate::output::results::ResultsReader;

/// A `running` host is stale when its status.json has not been refreshed for this many of its
/// status intervals...
const STALE_INTERVALS: f64 = 5.0;
/// ...and for at least this long (a short interval must not flag a host on a slow disk).
const STALE_MIN: Duration = Duration::from_secs(30);
/// The silence that makes a host stale when its status.json does not say its interval.
const STALE_UNKNOWN: Duration = Duration::from_secs(60);

/// The state of a host in `status`: its run's state, or `planned` when the plan gives it a share
/// but it has no output directory yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostState {
    /// Running (or killed without a chance to say so: see `stale`).
    Running,
    /// Every job of its share was tried.
    Finished,
    /// Stopped early; a rerun resumes.
    Interrupted,
    /// In the plan, not started: no output directory found.
    Planned,
}

impl From<RunState> for HostState {
    fn from(s: RunState) -> Self {
        match s {
            RunState::Running => HostState::Running,
            RunState::Finished => HostState::Finished,
            RunState::Interrupted => HostState::Interrupted,
        }
    }
}

impl std::fmt::Display for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HostState::Running => "running",
            HostState::Finished => "finished",
            HostState::Interrupted => "interrupted",
            HostState::Planned => "planned",
        })
    }
}

/// The silence after which a `running` host with status interval `interval_s` is stale.
pub(crate) fn stale_after(interval_s: Option<f64>) -> Duration {
    match interval_s {
        Some(i) if i.is_finite() && i > 0.0 => {
            Duration::from_secs_f64((i * STALE_INTERVALS).min(1e9)).max(STALE_MIN)
        }
        _ => STALE_UNKNOWN,
    }
}

/// One host's progress.
#[derive(Debug, Clone, Serialize)]
pub struct MachineStatus {
    /// The machine's name.
    pub machine: String,
    /// Its output directory (null for a `planned` host).
    pub dir: Option<PathBuf>,
    /// The plan it runs (64 hex digits).
    pub plan_digest: String,
    /// `running`, `finished`, `interrupted`, or `planned` (no output directory yet).
    pub state: HostState,
    /// Jobs in its share.
    pub share: u64,
    /// Jobs done, ok, failed (or timed out) and cancelled by the user (ended, not failed).
    #[serde(flatten)]
    pub progress: Progress,
    /// Jobs per second.
    pub rate_per_s: f64,
    /// Seconds to go, if running.
    pub eta_s: Option<f64>,
    /// When the host last wrote its status.
    pub updated_at: String,
    /// Running by its files, but silent for too long (see `stale_after`): it may have died.
    pub stale: bool,
    /// A stealing host's claims (claimed, stolen, stealing); absent for the static split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steal: Option<crate::output::balance::StealStatus>,
    /// The attempts running at `updated_at`, by index.
    pub running: Vec<RunningJob>,
}

impl MachineStatus {
    /// A machine of plan `plan_digest` with a share of `share` jobs and no output directory.
    fn planned(machine: &str, plan_digest: &str, share: u64) -> MachineStatus {
        MachineStatus {
            machine: machine.to_owned(),
            dir: None,
            plan_digest: plan_digest.to_owned(),
            state: HostState::Planned,
            share,
            progress: Progress::default(),
            rate_per_s: 0.0,
            eta_s: None,
            updated_at: String::new(),
            stale: false,
            running: Vec::new(),
            steal: None,
        }
    }
}

/// Every host's progress and the totals.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Jobs in the work.
    pub jobs_total: u64,
    /// Sum of the hosts' shares.
    pub planned: u64,
    /// The hosts' progress added up.
    #[serde(flatten)]
    pub progress: Progress,
    /// Attempts running now.
    pub running: u64,
    /// True when every host of the plan has ended (none running or planned).
    pub ended: bool,
    /// Per host, planned ones last.
    pub machines: Vec<MachineStatus>,
    /// The hosts behind the latest epoch of a job list that grew, one sentence each (absent
    /// when none is).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub behind: Vec<String>,
}

/// Reads the progress of every machine directory under `inputs`: its manifest.json and
/// status.json, or, when a host has no status.json (killed before writing one), its
/// results.csv, read as it stands (a row being written is skipped).
///
/// # Errors
/// An input without a manifest.json, an unreadable manifest, or the outputs of two studies.
pub fn status(inputs: &[PathBuf]) -> Result<StatusReport> {
    let dirs = find_study_dirs(inputs)?;
    let mut machines = Vec::new();
    for d in &dirs {
        let m = &d.manifest;
        // A host killed before its first status.json, or an older one: count its rows.
        let st = StatusFile::read(&d.dir)
            .ok()
            .or_else(|| from_results(&d.dir, m));
        let (interval, running) = st
            .as_ref()
            .map(|s| (s.interval_s, s.running.clone()))
            .unwrap_or_default();
        let (progress, rate, eta, updated, state) = match &st {
            Some(s) => (
                s.progress,
                s.rate_per_s,
                s.eta_s,
                s.updated_at.clone(),
                s.state,
            ),
            None => (
                m.counts.progress(),
                0.0,
                None,
                m.ended_at.clone().unwrap_or_else(|| m.started_at.clone()),
                m.state,
            ),
        };
        // A run that ended writes its manifest last: trust its state over a status file.
        let state = if m.state != RunState::Running {
            m.state
        } else {
            state
        };
        let stale = state == RunState::Running
            && crate::output::parse_rfc3339(&updated)
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > stale_after(interval));
        machines.push(MachineStatus {
            machine: m.machine.clone(),
            dir: Some(d.dir.clone()),
            plan_digest: m.plan_digest.clone(),
            state: state.into(),
            share: m.share,
            progress,
            rate_per_s: rate,
            eta_s: eta,
            updated_at: updated,
            stale,
            steal: st.as_ref().and_then(|s| s.steal.clone()),
            // A run that ended runs nothing, whatever its last status.json said.
            running: if state == RunState::Running {
                running
            } else {
                Vec::new()
            },
        });
    }
    machines.extend(not_started(&dirs, &machines));
    let latest = &dirs[super::epochs::latest(&dirs)].manifest;
    Ok(StatusReport {
        behind: super::epochs::behind(&dirs, latest),
        jobs_total: latest.jobs_total,
        planned: machines.iter().map(|m| m.share).sum(),
        progress: machines.iter().map(|m| m.progress).sum(),
        running: machines.iter().map(|m| m.running.len() as u64).sum(),
        ended: machines
            .iter()
            .all(|m| matches!(m.state, HostState::Finished | HostState::Interrupted)),
        machines,
    })
}

/// The status of a study no host has started: every machine of `plan` `planned` with its share.
pub(crate) fn planned_status(plan: &crate::plan::Plan) -> StatusReport {
    let machines: Vec<MachineStatus> = plan
        .machines()
        .iter()
        .enumerate()
        .map(|(j, m)| {
            MachineStatus::planned(
                &m.name,
                &plan.plan_digest().hex(),
                plan.share(j).len() as u64,
            )
        })
        .collect();
    StatusReport {
        jobs_total: plan.jobs(),
        planned: machines.iter().map(|m| m.share).sum(),
        progress: Progress::default(),
        running: 0,
        ended: false,
        machines,
        behind: Vec::new(),
    }
}

/// The machines the found hosts' plans list that have no directory among them, in plan order:
/// every manifest lists its plan's machines and shares.
fn not_started(
    dirs: &[super::discover::MachineDir],
    found: &[MachineStatus],
) -> Vec<MachineStatus> {
    let mut out: Vec<MachineStatus> = Vec::new();
    for d in dirs {
        let m = &d.manifest;
        for p in &m.planned {
            let seen = found.iter().chain(&out).any(|f| f.machine == p.machine);
            if !seen {
                out.push(MachineStatus::planned(&p.machine, &m.plan_digest, p.share));
            }
        }
    }
    out
}

/// A status made from a machine directory's results.csv (read as it is, a torn last row
/// skipped): ok and failed jobs by key, the rate over the rows' time span.
fn from_results(dir: &std::path::Path, m: &Manifest) -> Option<StatusFile> {
    let path = dir.join("results.csv");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    let mut reader = ResultsReader::open(&path).ok()?;
    // Per key: (ok seen, the last row's status) -> the job's final status so far.
    let mut jobs: HashMap<u64, (bool, Status)> = HashMap::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    while let Ok(Some(row)) = reader.next_row() {
        let job = jobs.entry(row.key).or_insert((false, row.status));
        job.0 |= row.status == Status::Ok;
        job.1 = row.status;
        first = first.min(row.started_us);
        last = last.max(row.started_us + (row.duration_s * 1e6) as i64);
    }
    let mut tally = Tally::default();
    for &(ok, status) in jobs.values() {
        tally.add(if ok { Status::Ok } else { status });
    }
    let progress = tally.progress();
    let span = if jobs.is_empty() {
        0.0
    } else {
        last.saturating_sub(first) as f64 / 1e6
    };
    let rate = if span > 0.0 {
        tally.ran() as f64 / span
    } else {
        0.0
    };
    let running = m.state == RunState::Running;
    let done = progress.done;
    Some(StatusFile {
        machine: m.machine.clone(),
        plan_digest: m.plan_digest.clone(),
        work_digest: m.work_digest.clone(),
        state: m.state,
        share: m.share,
        progress,
        rate_per_s: rate,
        eta_s: (running && rate > 0.0).then(|| m.share.saturating_sub(done) as f64 / rate),
        updated_at: crate::output::rfc3339(modified),
        steal: None,
        interval_s: None,
        running: Vec::new(),
    })
}
