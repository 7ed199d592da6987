//! Guarding an output directory: one run at a time, the same plan or an explicit choice, and
//! nothing left running from a run that was killed (kill -9, an OOM kill).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::output::manifest::Manifest;
use crate::plan::Plan;
use crate::run::supervisor::{run_marker, Marked};
use crate::sys::{self, Signal};

/// What to do when the output directory holds an earlier run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resume {
    /// Resume the same plan; refuse a different one.
    #[default]
    Same,
    /// Move the old directory aside (never deleted) and start over.
    Fresh,
    /// Whatever the old plan, skip jobs whose key already has an ok row.
    KeepDone,
}

/// How long a run waits for a directory's lock before it refuses.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// An exclusive lock on `OUT/<machine>/.lock`, held for the whole run.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock, or fails if another run holds it for longer than [`LOCK_PATIENCE`].
    pub(crate) fn take(dir: &Path) -> Result<DirLock> {
        let path = dir.join(".lock");
        let file = crate::output::open_output(
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true),
            &path,
        )?;
        // A job the run before was starting when it was killed (forked, not yet exec'd) holds
        // a copy of the lock for a moment after that run is gone: wait a little before
        // refusing, so that a rerun right after a kill -9 is not turned away.
        let waited = std::time::Instant::now();
        loop {
            match sys::try_lock_exclusive(&file) {
                Ok(true) => return Ok(DirLock { _file: file }),
                Ok(false) if waited.elapsed() < LOCK_PATIENCE => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Ok(false) => {
                    return Err(Error::locked(format!(
                        "another jobsplit run is writing {}: wait for it to end, or stop it, then run again",
                        dir.display()
                    )))
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
}

/// Ends the jobs a killed earlier run of `dir` left running (also their processes that left
/// the job's process group), and returns how many jobs they were.
///
/// Every process of a command job carries `JOBSPLIT_RUN=<canonical dir>` in its environment
/// (see `run::supervisor::leftovers`). With the directory's lock held, any such process belongs to
/// a run that is gone; left alone it would run its job a second time beside the rerun.
/// Processes whose environment this user cannot read are not ours to end.
pub(crate) fn end_orphans(dir: &Path) -> usize {
    let run = run_marker(dir);
    Marked {
        run: &run,
        job: None,
    }
    .signal(Signal::Kill)
}

/// What an existing output directory means for a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Use it as it is: empty, the same plan, or `--keep-done`.
    Use,
    /// Move it aside (`--fresh` over an earlier run).
    MoveAside,
}

/// Judges an existing output directory against the plan, reading only: resume it, move it
/// aside, or refuse.
///
/// # Errors
/// A manifest that cannot be read, or one of another plan with `Resume::Same`.
pub(crate) fn judge(dir: &Path, plan: &Plan, resume: Resume) -> Result<Verdict> {
    if !dir.join(Manifest::FILE).exists() {
        if resume == Resume::Fresh && dir.join("results.csv").exists() {
            return Ok(Verdict::MoveAside);
        }
        return Ok(Verdict::Use);
    }
    let old = Manifest::read(dir)?;
    // A plan of an earlier epoch of this study is the same plan, only shorter (section 7).
    let same = plan
        .epochs()
        .iter()
        .any(|e| old.plan_digest == e.plan_digest.hex());
    if resume == Resume::Same && !same {
        if let Some(message) = ahead_of_the_list(dir, &old, plan) {
            return Err(Error::PlanMismatch { message });
        }
    }
    match resume {
        Resume::Fresh => Ok(Verdict::MoveAside),
        Resume::KeepDone => Ok(Verdict::Use),
        Resume::Same if same => Ok(Verdict::Use),
        Resume::Same => Err(Error::PlanMismatch {
            message: format!(
                "{} holds the output of plan {} but this plan is {}: pass --fresh to move the old \
                 output aside (it is kept, renamed) and start over, or --keep-done to keep it and \
                 skip every job it finished (e.g. after changing the machines; appended jobs need \
                 neither)",
                dir.display(),
                old.plan_digest.chars().take(8).collect::<String>(),
                plan.plan_digest().short()
            ),
        }),
    }
}

/// When `dir` ran later epochs of this very study than the job list now records (its epochs
/// file older than the one the run saw, or gone), says so.
fn ahead_of_the_list(dir: &Path, old: &Manifest, plan: &Plan) -> Option<String> {
    let ours = plan.epochs();
    let theirs = &old.epochs;
    let prefix = theirs.len() > ours.len()
        && ours.len() > 1
        && ours
            .iter()
            .zip(theirs)
            .all(|(a, b)| a.plan_digest.hex() == b.plan_digest);
    let lost = ours.len() == 1
        && theirs
            .first()
            .is_some_and(|b| b.plan_digest == ours[0].plan_digest.hex());
    (prefix || lost).then(|| {
        format!(
            "{} ran epoch {} of this study but the job list records only {}: use the study's latest job list and its .epochs file",
            dir.display(),
            theirs.len() - 1,
            if ours.len() == 1 { "one epoch (is its .epochs file missing?)".to_owned() } else { format!("epochs 0 to {}", ours.len() - 1) }
        )
    })
}

/// Acts on [`judge`]: returns where the old directory went if it was moved aside.
pub(crate) fn prepare_dir(dir: &Path, plan: &Plan, resume: Resume) -> Result<Option<PathBuf>> {
    match judge(dir, plan, resume)? {
        Verdict::Use => Ok(None),
        Verdict::MoveAside => move_aside(dir).map(Some),
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
