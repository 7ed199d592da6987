//! `jobsplit run` on a job list that grew (docs/split-v1.md section 7): epoch 0 from this
//! machine's earlier run when the list has no epochs file yet, and the new epochs recorded
//! once nothing refuses the run.

use std::path::Path;

use anyhow::Result;

use super::resolve::{self, Study};
use super::JobSource;
use crate::input::{read_epochs, record_epochs, Grow, Growth, Machine, Recorded};
use crate::output::manifest::Manifest;

/// How a run cuts its job list: the jobs after the last epoch that are written to the end of
/// their line become the next epoch.
pub(crate) const RUN_GROWS: Grow = Grow {
    pending: true,
    first_epoch: None,
};

/// The study a run in `dir` runs when it is not `study` (`None`: `study` itself): the list has
/// no epochs file, holds more jobs than the plan `dir` ran, and that plan's work is the list's
/// first jobs. Then the list grew since: those first jobs are epoch 0 and the rest epoch 1
/// (recorded by [`crate::input::record_epochs`] when the run starts). The list is read again
/// only then.
pub(crate) fn grown_study(
    args: &super::args::InputArgs,
    machines: Option<Vec<Machine>>,
    source: Option<&dyn JobSource>,
    study: &Study,
    dir: &Path,
) -> Result<Option<Study>> {
    let Some(growth) = &study.growth else {
        return Ok(None);
    };
    if growth.epochs.len() > 1 {
        return Ok(None);
    }
    if read_epochs(&growth.file)?.is_some() {
        // Another run recorded the list's epochs since it was read: read it with them.
        return resolve::study_with(args, machines, &[], source, RUN_GROWS).map(Some);
    }
    if !dir.join(Manifest::FILE).is_file() {
        return Ok(None);
    }
    let Ok(old) = Manifest::read(dir) else {
        return Ok(None); // the guard names what is wrong with it
    };
    let earlier = old.jobs_total;
    if !old.epochs.is_empty() || old.excluded > 0 || earlier == 0 || earlier >= study.work.len() {
        return Ok(None);
    }
    let grow = Grow {
        first_epoch: Some(earlier),
        ..RUN_GROWS
    };
    let grown = resolve::study_with(args, machines, &[], source, grow)?;
    let epoch0 = grown.work.epochs()[0].1.hex();
    Ok((epoch0 == old.work_digest).then_some(grown))
}

/// Records the epochs of the run's job list that its epochs file does not hold yet, saying so.
///
/// # Errors
/// If the epochs file cannot be written.
pub(crate) fn record(settings: &super::run_settings::RunSettings) -> Result<Recorded> {
    match &settings.growth {
        Some(growth) => record_growth(growth, settings.quiet),
        None => Ok(Recorded::Done),
    }
}

/// Records the epochs of `growth` that its epochs file does not hold yet (the one rule of
/// `run` and `launch`), saying so unless `quiet`.
///
/// # Errors
/// If the epochs file cannot be written.
pub(crate) fn record_growth(growth: &Growth, quiet: bool) -> Result<Recorded> {
    let done = record_epochs(growth)?;
    if done == Recorded::Done && !quiet {
        for (e, epoch) in growth.epochs.iter().enumerate().skip(growth.recorded) {
            super::term::errln!(
                "{}: note: {} {e} (jobs {} to {}) recorded in {}",
                super::program::name(),
                if e == 0 {
                    "the job list is epoch"
                } else {
                    "the job list grew: epoch"
                },
                epoch.span.first,
                epoch.span.end() - 1,
                crate::text::escape(&growth.file.display().to_string())
            );
        }
    }
    Ok(done)
}
