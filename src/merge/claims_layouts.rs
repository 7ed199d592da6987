//! The layouts behind merge's proof of a stealing study: each epoch's layout directory found
//! beside the machine directories and read, and the manifests of one plan agreeing on it.

use std::path::{Path, PathBuf};

use super::super::discover::MachineDir;
use crate::error::{Error, Result};
use crate::output::layout::LayoutFile;

/// The plan digests D_0 .. D_last of the epochs a manifest ran (its plan, for one epoch),
/// each with its first job and its number of jobs.
pub(super) fn chain(m: &crate::output::manifest::Manifest) -> Vec<(&str, u64, u64)> {
    if m.epochs.is_empty() {
        return vec![(m.plan_digest.as_str(), 0, m.jobs_total)];
    }
    m.epochs
        .iter()
        .map(|e| (e.plan_digest.as_str(), e.first, e.jobs))
        .collect()
}

/// Reads the layout in `dir`.
pub(super) fn read_layout(dir: &Path) -> Result<LayoutFile> {
    let file = dir.join(LayoutFile::FILE);
    serde_json::from_slice(&std::fs::read(&file).map_err(|e| Error::io(&file, e))?).map_err(|e| {
        Error::invalid(
            Some(&file),
            Some(e.line() as u64),
            format!("not a jobsplit layout ({e}): restore it"),
        )
    })
}

/// Refuses a static run among the stealing runs of `plan`, and manifests that disagree on
/// the block size or the layout.
pub(super) fn check_group(
    plan: &str,
    group: &[&MachineDir],
    first: &crate::output::balance::BalanceInfo,
) -> Result<()> {
    for d in group {
        let manifest = d.dir.join("manifest.json");
        match &d.manifest.balance {
            None => {
                return Err(Error::invalid(
                    Some(&manifest),
                    None,
                    format!(
                        "machine `{}` ran plan {} with the static split, other machines of it stole: a static and a stealing run must not share a study; merge them apart",
                        d.manifest.machine,
                        crate::text::short(plan)
                    ),
                ))
            }
            Some(b) if b.block != first.block || b.layout != first.layout => {
                return Err(Error::invalid(
                    Some(&manifest),
                    None,
                    format!(
                        "steals blocks of {} under {}, but another machine of plan {} blocks of {} under {}: these are not one stealing study",
                        b.block,
                        b.layout,
                        crate::text::short(plan),
                        first.block,
                        first.layout
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The layout directory `relative` beside one of `group`'s machine directories.
pub(super) fn find_layout(group: &[&MachineDir], relative: &str) -> Result<PathBuf> {
    for d in group {
        let parent = d.dir.parent().unwrap_or(Path::new("."));
        let dir = parent.join(relative);
        if dir.join(LayoutFile::FILE).is_file() {
            return Ok(dir);
        }
    }
    Err(Error::invalid(
        Some(&group[0].dir),
        None,
        format!(
            "stole blocks, but the claims that prove its rows ({relative}/ beside it) are not there: merge the machine directories where the hosts wrote them (pass the shared OUT)"
        ),
    ))
}
