//! Which jobs of a share a run still has to run: the resume rule (docs/output-format.md,
//! *Resume*) applied to what an earlier run recorded.

use rayon::prelude::*;

use super::job_source::Pending;
use super::rerun::JobSet;
use crate::output::results::{Decision, Existing};
use crate::plan::JobKey;
use crate::Work;

/// A share split by what earlier runs recorded.
#[derive(Debug, Default)]
pub(crate) struct ToRun {
    /// The jobs to run, in share order, with the attempts earlier runs made.
    pub(crate) pending: Vec<Pending>,
    /// Jobs an earlier run finished ok: not run again.
    pub(crate) skipped: u64,
    /// Jobs whose last row is `cancelled`: not run again unless `--rerun` names them.
    pub(crate) cancelled_before: u64,
}

/// Splits `share` by the one resume decision ([`Existing::decide`]). Keys are computed on
/// `pool`.
pub(crate) fn to_run(
    work: &Work,
    pool: &rayon::ThreadPool,
    share: &[u64],
    existing: &Existing,
    rerun: &JobSet,
) -> ToRun {
    let keyer = work.keyer();
    let keys: Vec<JobKey> = pool.install(|| {
        share
            .par_iter()
            .map(|&i| keyer.key(i, &work.jobs().job_bytes(i)))
            .collect()
    });
    let mut to_run = ToRun::default();
    for (&i, k) in share.iter().zip(&keys) {
        let id = k.id();
        match existing.decide(&id, rerun.contains(i)) {
            Decision::Run => to_run.pending.push((i, *k, existing.attempts_of(&id))),
            Decision::SkipOk => to_run.skipped += 1,
            Decision::SkipCancelled => to_run.cancelled_before += 1,
        }
    }
    to_run
}
