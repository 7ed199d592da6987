//! Outputs of one study: the machine directories merge, `status` and `report` read are
//! refused unless they are of one study ([`find_study_dirs`]). A study that grew
//! (docs/split-v1.md section 7): hosts that ran different epochs of one study are one study; a
//! host whose latest epoch is older is behind, not missing.

use std::path::PathBuf;

use super::discover::{find_machine_dirs, MachineDir};
use crate::error::{Error, Result};
use crate::output::manifest::Manifest;

/// The machine directories under `inputs` ([`find_machine_dirs`]), refused unless they are
/// the outputs of one study: one work (job list and config), one number of jobs, one seed.
/// What merge, `status` and `report` read: two studies' counts must never be added up.
///
/// # Errors
/// As [`find_machine_dirs`], and directories of two studies (naming one of each).
pub(crate) fn find_study_dirs(inputs: &[PathBuf]) -> Result<Vec<MachineDir>> {
    let dirs = find_machine_dirs(inputs)?;
    // A job list that grew: the latest epochs any host ran are the study's (section 7).
    let first = &dirs[latest(&dirs)];
    let (f, short) = (&first.manifest, crate::text::short);
    for d in &dirs {
        let m = &d.manifest;
        let other_work = m.work_digest != f.work_digest || m.jobs_total != f.jobs_total;
        let why = if other_work && !earlier_epoch_of(m, f) {
            format!(
                "holds work {} but {} holds work {}",
                short(&m.work_digest),
                first.dir.display(),
                short(&f.work_digest)
            )
        } else {
            match (&m.first_key, &f.first_key) {
                (Some(key), Some(first_key)) if key != first_key => format!(
                    "ran with another seed than {} (job 0 has key {key} here, {first_key} there)",
                    first.dir.display()
                ),
                _ => continue,
            }
        };
        return Err(Error::mismatch(
            Some(&d.dir),
            None,
            format!(
                "{why}: these are the outputs of two studies; pass the outputs of one study (same job list, config and seed) at a time"
            ),
        ));
    }
    Ok(dirs)
}

/// The digests D_0.. of the epochs `m` ran (one for a list that never grew).
fn chain(m: &Manifest) -> Vec<&str> {
    if m.epochs.is_empty() {
        vec![m.plan_digest.as_str()]
    } else {
        m.epochs.iter().map(|e| e.plan_digest.as_str()).collect()
    }
}

/// The directory whose manifest ran the most epochs (the first one among equals): the
/// study's latest epochs as these outputs know them.
pub(crate) fn latest(dirs: &[MachineDir]) -> usize {
    let mut best = 0;
    for (i, d) in dirs.iter().enumerate() {
        if chain(&d.manifest).len() > chain(&dirs[best].manifest).len() {
            best = i;
        }
    }
    best
}

/// The work digests W_0.. of the epochs `m` ran, when its manifest records them (one for a
/// list that never grew).
fn work_chain(m: &Manifest) -> Option<Vec<&str>> {
    if m.epochs.is_empty() {
        return Some(vec![m.work_digest.as_str()]);
    }
    m.epochs
        .iter()
        .map(|e| (!e.work_digest.is_empty()).then_some(e.work_digest.as_str()))
        .collect()
}

/// True when `m` ran an earlier epoch of the study whose latest epochs `latest` ran: then
/// its work digest and job count differ and it is still the same study. The plans of its
/// epochs are the latest's (a host behind), or their works are (a rescue plan of the study
/// as it was: it leaves out other jobs, so its plan digests differ).
pub(crate) fn earlier_epoch_of(m: &Manifest, latest: &Manifest) -> bool {
    let prefix = |mine: &[&str], theirs: &[&str]| {
        mine.len() < theirs.len() && theirs[..mine.len()] == mine[..]
    };
    let works = match (work_chain(m), work_chain(latest)) {
        (Some(mine), Some(theirs)) => prefix(&mine, &theirs),
        _ => false,
    };
    works || prefix(&chain(m), &chain(latest))
}

/// One line per machine behind the latest epoch: which epochs it has not seen and which jobs
/// they hold (listed as not run, not as lost). Nothing for a study that never grew.
pub(crate) fn behind(dirs: &[MachineDir], latest: &Manifest) -> Vec<String> {
    let total = chain(latest).len();
    let mut out: Vec<String> = Vec::new();
    for d in dirs {
        let m = &d.manifest;
        let seen = chain(m).len();
        // A machine counts by its furthest directory (a rerun may have caught it up).
        let caught_up = dirs
            .iter()
            .any(|o| o.manifest.machine == m.machine && chain(&o.manifest).len() == total);
        if seen >= total || caught_up || out.iter().any(|l| l.contains(&format!("`{}`", m.machine)))
        {
            continue;
        }
        let first = latest.epochs[seen].first;
        out.push(format!(
            "machine `{}` is behind: it has not seen epoch{} {} of the job list (jobs {} to {}), whose jobs it has not run yet; run it again with the latest job list and its .epochs file",
            m.machine,
            if total - seen > 1 { "s" } else { "" },
            if total - seen > 1 {
                format!("{seen} to {}", total - 1)
            } else {
                seen.to_string()
            },
            first,
            latest.jobs_total - 1
        ));
    }
    out
}
