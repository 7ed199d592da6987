//! A machine's output directory for the length of one run: taken (one run at a time), prepared
//! for the plan (resume, move aside or refuse), swept of jobs a killed run left behind, then
//! described by manifest.json and status.json until the run ends.
//!
//! The scheduler ([`super::runner`]) only runs and records jobs; everything about the
//! directory's lifecycle is here.

mod guard;

pub use guard::Resume;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::model::RunState;
use crate::model::Tally;
use crate::output::balance::StealStatus;
use crate::output::log::LogWriter;
use crate::output::manifest::{Manifest, RunningJob, StatusFile};
use crate::output::results::ResultsWriter;
use crate::plan::Plan;
use guard::{end_orphans, judge, prepare_dir, DirLock, Verdict};

/// The subdirectories a run needs: result files of running jobs, and their scratch dirs.
const SUBDIRS: [&str; 2] = ["tmp", "jobs"];

/// The longest file name most file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// A machine's output directory, locked for this run.
#[derive(Debug)]
pub(crate) struct RunDir {
    path: PathBuf,
    _lock: DirLock,
    moved_aside: Option<PathBuf>,
    orphans: usize,
}

impl RunDir {
    /// Checks, reading only, everything [`RunDir::take`] and the files a run opens would
    /// refuse, so that a refusal comes before the first byte is written: the directory's name,
    /// files where it needs directories (`tmp`, `jobs`, and `logs` with `job_logs`), the
    /// manifest and the plan it names, output files that are symbolic links, a foreign or
    /// malformed results.csv, a log.gz that is not gzip.
    ///
    /// # Errors
    /// The first thing a run would refuse, naming its file and the fix.
    pub(crate) fn check(dir: &Path, plan: &Plan, resume: Resume, job_logs: bool) -> Result<()> {
        let name = dir.file_name().unwrap_or_default();
        if name.len() > NAME_MAX {
            let shown: String = name.to_string_lossy().chars().take(24).collect();
            return Err(Error::machines(
                None,
                None,
                format!(
                    "machine `{shown}…` is {} bytes long, but a directory name may have at most {NAME_MAX}: shorten it in the machines file",
                    name.len()
                ),
            ));
        }
        // The nearest existing ancestor must be a directory (`--out` naming a file, say).
        for parent in dir.ancestors().skip(1) {
            if parent.as_os_str().is_empty() {
                break;
            }
            if parent.exists() {
                if !parent.is_dir() {
                    return Err(Error::output_dir(
                        Some(parent),
                        None,
                        "is not a directory, but the output directory is to go inside it: pass another --out (or [run] out)",
                    ));
                }
                break;
            }
        }
        if !dir.exists() {
            return Ok(());
        }
        if !dir.is_dir() {
            return Err(Error::output_dir(
                Some(dir),
                None,
                "is not a directory: the run writes the machine's output there; move it away",
            ));
        }
        // Never write through a link: output files that are links are refused.
        crate::output::refuse_output_links(dir)?;
        if judge(dir, plan, resume)? == Verdict::MoveAside {
            return Ok(());
        }
        let logs = job_logs.then_some("logs");
        for sub in SUBDIRS.into_iter().chain(logs) {
            let path = dir.join(sub);
            if path.exists() && !path.is_dir() {
                return Err(Error::output_dir(
                    Some(&path),
                    None,
                    "is not a directory, but the run keeps its jobs' files there: move it away",
                ));
            }
        }
        let results = dir.join("results.csv");
        if results.exists() {
            ResultsWriter::check(&results)?;
        }
        let log = dir.join("log.gz");
        if log.exists() {
            LogWriter::check(&log)?;
        }
        Ok(())
    }

    /// Takes `dir` for a run of `plan`: refuses a directory whose output files are links or that
    /// another run holds (before touching
    /// anything, even before `Resume::Fresh` moves it), prepares it for the plan, creates what
    /// a run needs and ends the jobs a killed earlier run left running.
    ///
    /// # Errors
    /// Another run holds it, it holds another plan (with `Resume::Same`), or it cannot be
    /// created or read.
    pub(crate) fn take(dir: &Path, plan: &Plan, resume: Resume) -> Result<RunDir> {
        // Never write through a link: refuse before touching anything.
        crate::output::refuse_output_links(dir)?;
        let mut lock = match dir.is_dir() {
            true => Some(DirLock::take(dir)?),
            false => None,
        };
        let moved_aside = prepare_dir(dir, plan, resume)?;
        for sub in SUBDIRS {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| Error::io(dir, e))?;
        }
        if lock.is_none() || moved_aside.is_some() {
            lock = Some(DirLock::take(dir)?);
        }
        let Some(lock) = lock else {
            unreachable!("the lock was taken above")
        };
        // The directory is known by what it is, not by how it was spelled: the jobs a killed
        // run left behind carry its canonical path, whatever spelling either run was given.
        let canonical = crate::paths::canonical_future(dir).map_err(|e| Error::io(dir, e))?;
        crate::output::remove_stale_temps(dir, &["manifest.json", "status.json"]);
        let orphans = end_orphans(&canonical);
        Ok(RunDir {
            path: dir.to_path_buf(),
            _lock: lock,
            moved_aside,
            orphans,
        })
    }

    /// The directory, as the user spelled it (for messages).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Where `Resume::Fresh` moved the old directory, if it moved one.
    pub(crate) fn moved_aside(&self) -> Option<&Path> {
        self.moved_aside.as_deref()
    }

    /// How many jobs of a killed earlier run were ended.
    pub(crate) fn orphans(&self) -> usize {
        self.orphans
    }

    /// Writes the manifest of a run that starts, with room to end it on a full disk.
    ///
    /// # Errors
    /// A full disk or an unwritable directory.
    pub(crate) fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        manifest.write_reserving(&self.path)
    }

    /// Writes status.json from the manifest, the counts so far and the attempts running
    /// (`clock` is the run's start, `interval` the time to the next write).
    ///
    /// # Errors
    /// A full disk or an unwritable directory.
    pub(crate) fn write_status(
        &self,
        manifest: &Manifest,
        counts: Tally,
        clock: Instant,
        steal: Option<StealStatus>,
        live: (Vec<RunningJob>, Duration),
    ) -> Result<()> {
        let mut status = status_of(manifest, counts, clock);
        if steal.is_some() {
            // A stealing host's end depends on the others' too: no ETA of its own.
            status.eta_s = None;
        }
        status.steal = steal;
        (status.running, status.interval_s) = (live.0, Some(live.1.as_secs_f64()));
        status.write_atomic(&self.path)
    }

    /// Ends the run: the manifest with its final `state` (in place if a full disk refuses a
    /// new file, so it never stays `running`), the last status.json, then the run's empty
    /// working directories are removed.
    ///
    /// # Errors
    /// A full disk or an unwritable directory (the first error; every step is tried).
    pub(crate) fn finish(
        self,
        manifest: &mut Manifest,
        state: RunState,
        counts: Tally,
        clock: Instant,
        steal: Option<StealStatus>,
        interval: Duration,
    ) -> Result<()> {
        manifest.ended_at = Some(crate::output::rfc3339(SystemTime::now()));
        manifest.state = state;
        manifest.counts = counts;
        let status = self.write_status(manifest, counts, clock, steal, (Vec::new(), interval));
        let written = manifest
            .write_atomic(&self.path)
            .or_else(|e| manifest.overwrite_in_place(&self.path).map_err(|_| e));
        for sub in SUBDIRS {
            let _ = std::fs::remove_dir(self.path.join(sub));
        }
        written.and(status)
    }
}

/// status.json for `manifest` with `counts` so far.
fn status_of(manifest: &Manifest, c: Tally, clock: Instant) -> StatusFile {
    let elapsed = clock.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 {
        c.ran() as f64 / elapsed
    } else {
        0.0
    };
    let progress = c.progress();
    let remaining = manifest.share.saturating_sub(progress.done);
    StatusFile {
        machine: manifest.machine.clone(),
        plan_digest: manifest.plan_digest.clone(),
        work_digest: manifest.work_digest.clone(),
        state: manifest.state,
        share: manifest.share,
        progress,
        rate_per_s: rate,
        eta_s: (rate > 0.0 && remaining > 0).then(|| remaining as f64 / rate),
        updated_at: crate::output::rfc3339(SystemTime::now()),
        steal: None,
        interval_s: None,
        running: Vec::new(),
    }
}
