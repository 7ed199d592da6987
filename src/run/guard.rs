//! Guarding an output directory: one run at a time, the same plan or an explicit choice, and
//! nothing left running from a run that was killed (kill -9, an OOM kill).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::command::{run_marker, Marked};
use super::runner::Resume;
use crate::output::manifest::Manifest;
use crate::plan::Plan;
use crate::sys::{self, Signal};

use crate::error::{Error, Result};

/// An exclusive lock on `OUT/<machine>/.lock`, held for the whole run.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock, or fails at once if another run holds it.
    pub(crate) fn take(dir: &Path) -> Result<DirLock> {
        let path = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match sys::try_lock_exclusive(&file) {
            Ok(true) => Ok(DirLock { _file: file }),
            Ok(false) => Err(Error::usage(format!(
                "another jobsplit run is writing {}: wait for it to end, or stop it, then run again",
                dir.display()
            ))),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

/// Ends the jobs a killed earlier run of `dir` left running (also their processes that left
/// the job's process group), and returns how many jobs they were.
///
/// Every process of a command job carries `JOBSPLIT_RUN=<canonical dir>` in its environment.
/// With the directory's lock held, any such process belongs to a run that is gone; left alone it
/// would run its job a second time beside the rerun. Processes whose environment this user
/// cannot read are not ours to end.
pub(crate) fn end_orphans(dir: &Path) -> usize {
    let run = run_marker(dir);
    Marked {
        run: &run,
        job: None,
    }
    .signal(Signal::Kill)
}

/// Checks an existing output directory against the plan: resume it, move it aside, or refuse.
pub(crate) fn prepare_dir(dir: &Path, plan: &Plan, resume: Resume) -> Result<Option<PathBuf>> {
    if !dir.join("manifest.json").exists() {
        if resume == Resume::Fresh && dir.join("results.csv").exists() {
            return move_aside(dir).map(Some);
        }
        return Ok(None);
    }
    let old = Manifest::read(dir)?;
    let same = old.plan_digest == plan.plan_digest().hex();
    match resume {
        Resume::Fresh => move_aside(dir).map(Some),
        Resume::KeepDone => Ok(None),
        Resume::Same if same => Ok(None),
        Resume::Same => Err(Error::PlanMismatch {
            message: format!(
                "{} holds the output of plan {} but this plan is {}: pass --fresh to move the old \
                 output aside (it is kept, renamed) and start over, or --keep-done to keep it and \
                 skip every job it finished (e.g. after appending jobs)",
                dir.display(),
                &old.plan_digest[..old.plan_digest.len().min(8)],
                plan.plan_digest().short()
            ),
        }),
    }
}

fn move_aside(dir: &Path) -> Result<PathBuf> {
    let stamp = crate::output::rfc3339(SystemTime::now()).replace([':', '.'], "-");
    let mut target = PathBuf::from(format!("{}.old-{stamp}", dir.display()));
    let mut n = 1;
    while target.exists() {
        n += 1;
        target = PathBuf::from(format!("{}.old-{stamp}-{n}", dir.display()));
    }
    std::fs::rename(dir, &target).map_err(|e| Error::io(dir, e))?;
    Ok(target)
}
