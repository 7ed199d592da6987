//! A machine's output directory for the length of one run: taken (one run at a time), prepared
//! for the plan (resume, move aside or refuse), swept of jobs a killed run left behind, then
//! described by manifest.json and status.json until the run ends.
//!
//! The scheduler ([`super::runner`]) only runs and records jobs; everything about the
//! directory's lifecycle is here.

mod guard;

pub use guard::Resume;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::error::{Error, Result};
use crate::model::RunState;
use crate::output::manifest::{Counts, Manifest, StatusFile};
use crate::plan::Plan;
use guard::{end_orphans, prepare_dir, DirLock};

/// The subdirectories a run needs: result files of running jobs, and their scratch dirs.
const SUBDIRS: [&str; 2] = ["tmp", "jobs"];

/// A machine's output directory, locked for this run.
#[derive(Debug)]
pub(crate) struct RunDir {
    path: PathBuf,
    _lock: DirLock,
    moved_aside: Option<PathBuf>,
    orphans: usize,
}

impl RunDir {
    /// Takes `dir` for a run of `plan`: refuses a directory whose output files are links or
    /// that another run holds (before touching anything, even before `Resume::Fresh` moves it), prepares it for the plan, creates what
    /// a run needs and ends the jobs a killed earlier run left running.
    ///
    /// # Errors
    /// Another run holds it, it holds another plan (with `Resume::Same`), or it cannot be
    /// created or read.
    pub(crate) fn take(dir: &Path, plan: &Plan, resume: Resume) -> Result<RunDir> {
        // The directory is known by what it is, not by how it was spelled: the jobs a killed
        // run left behind carry its canonical path, whatever spelling either run was given.
        let dir = &crate::paths::canonical_future(dir).map_err(|e| Error::io(dir, e))?;
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
        crate::output::remove_stale_temps(dir, &["manifest.json", "status.json"]);
        let orphans = end_orphans(dir);
        Ok(RunDir {
            path: dir.to_path_buf(),
            _lock: lock,
            moved_aside,
            orphans,
        })
    }

    /// The directory.
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

    /// Writes manifest.json.
    ///
    /// # Errors
    /// A full disk or an unwritable directory.
    pub(crate) fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        manifest.write_atomic(&self.path)
    }

    /// Writes status.json from the manifest and the counts so far (`clock` is the run's start).
    ///
    /// # Errors
    /// A full disk or an unwritable directory.
    pub(crate) fn write_status(
        &self,
        manifest: &Manifest,
        counts: Counts,
        clock: Instant,
    ) -> Result<()> {
        status_of(manifest, counts, clock).write_atomic(&self.path)
    }

    /// Ends the run: the last status.json, then the manifest with its final `state`, then the
    /// run's empty working directories are removed.
    ///
    /// # Errors
    /// A full disk or an unwritable directory.
    pub(crate) fn finish(
        self,
        manifest: &mut Manifest,
        state: RunState,
        counts: Counts,
        clock: Instant,
    ) -> Result<()> {
        manifest.ended_at = Some(crate::output::rfc3339(SystemTime::now()));
        manifest.state = state;
        manifest.counts = counts;
        self.write_status(manifest, counts, clock)?;
        self.write_manifest(manifest)?;
        for sub in SUBDIRS {
            let _ = std::fs::remove_dir(self.path.join(sub));
        }
        Ok(())
    }
}

/// status.json for `manifest` with `counts` so far.
fn status_of(manifest: &Manifest, c: Counts, clock: Instant) -> StatusFile {
    let ran = c.ok + c.failed + c.timeout + c.interrupted;
    let elapsed = clock.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 {
        ran as f64 / elapsed
    } else {
        0.0
    };
    let done = ran + c.skipped;
    let remaining = manifest.share.saturating_sub(done);
    StatusFile {
        machine: manifest.machine.clone(),
        plan_digest: manifest.plan_digest.clone(),
        work_digest: manifest.work_digest.clone(),
        state: manifest.state,
        share: manifest.share,
        done,
        ok: c.ok + c.skipped,
        failed: c.failed + c.timeout,
        rate_per_s: rate,
        eta_s: (rate > 0.0 && remaining > 0).then(|| remaining as f64 / rate),
        updated_at: crate::output::rfc3339(SystemTime::now()),
    }
}
