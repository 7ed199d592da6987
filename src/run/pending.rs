//! Which jobs of a share a run still has to run: the resume rule (docs/output-format.md,
//! *Resume*) applied to what an earlier run recorded.

use rayon::prelude::*;

use super::rerun::JobSet;
use super::scheduler::Pending;
use crate::output::results::Existing;
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

/// Splits `share` by `existing`: a job with an ok row or whose last row is `cancelled` is not
/// run again, unless `rerun` names it; every other job is pending. Keys are computed on `pool`.
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
    let cancelled_before = share
        .iter()
        .zip(&keys)
        .filter(|(&i, k)| {
            !rerun.contains(i)
                && existing.cancelled_keys.contains(&k.id())
                && !existing.ok_keys.contains(&k.id())
        })
        .count() as u64;
    let pending: Vec<Pending> = share
        .iter()
        .zip(&keys)
        .filter(|(&i, k)| {
            rerun.contains(i)
                || !(existing.ok_keys.contains(&k.id())
                    || existing.cancelled_keys.contains(&k.id()))
        })
        .map(|(&i, k)| (i, *k, existing.attempts.get(&k.id()).copied().unwrap_or(0)))
        .collect();
    let skipped = (share.len() - pending.len()) as u64 - cancelled_before;
    ToRun {
        pending,
        skipped,
        cancelled_before,
    }
}
