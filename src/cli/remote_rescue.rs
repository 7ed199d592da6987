//! `--rescue MERGED --dead M`: the remote commands acting on the rescue of a merge output (the
//! jobs not ok there, re-planned onto the machines left), written to OUT-rescue on every host.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::InputArgs;
use super::term::errln;
use crate::Error;

/// The file `launch --rescue` writes into the merge output: the machines file without the dead
/// machines, shipped and used by every host's rescue run.
pub(crate) const MACHINES_FILE: &str = "rescue-machines.json";

/// The rescue plan's study: the machines file without `dead`, the jobs not ok in `merged`.
pub(super) fn study(
    input: &InputArgs,
    merged: &Path,
    dead: &[String],
) -> Result<super::resolve::Study> {
    let config = super::resolve::load_config(input.config.as_deref())?;
    let path = super::resolve::machines_path(input, &config);
    let mut machines = crate::input::load_machines(&path)?;
    for d in dead {
        if !machines.iter().any(|m| &m.name == d) {
            return Err(Error::usage(format!(
                "--dead {}: no such machine in {}",
                crate::text::escape(d),
                path.display()
            ))
            .into());
        }
    }
    machines.retain(|m| !dead.contains(&m.name));
    if machines.is_empty() {
        return Err(
            Error::usage("--dead names every machine: no host is left to rescue on").into(),
        );
    }
    let r =
        super::resolve::rescue_study(input, Some(machines), merged, None, "name it with --dead")?;
    for w in &r.warnings {
        errln!("warning: {w}");
    }
    Ok(r.study)
}

/// OUT of the rescue runs: `OUT-rescue` beside OUT.
pub(super) fn out_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "out".to_owned(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!("{name}-rescue"))
}

/// Writes `merged/rescue-machines.json` (the machines file's entries without `dead`, in their
/// order) and returns the files every host needs for the rescue: it and the merge's
/// summary.json and results.csv.
pub(super) fn write_files(machines: &Path, merged: &Path, dead: &[String]) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(machines).map_err(|e| Error::io(machines, e))?;
    let mut entries: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| Error::machines(Some(machines), None, e.to_string()))?;
    entries.retain(|name, _| !dead.contains(name));
    let target = merged.join(MACHINES_FILE);
    let mut json = serde_json::to_string_pretty(&entries)?;
    json.push('\n');
    std::fs::write(&target, json).map_err(|e| Error::io(&target, e))?;
    Ok(vec![
        merged.join("summary.json"),
        merged.join("results.csv"),
        target,
    ])
}
