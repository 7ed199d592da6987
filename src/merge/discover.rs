//! Finding the machine directories (those holding a manifest.json) under the paths given. A
//! directory holding results but no manifest is refused, never skipped: its rows would be
//! left out silently, and their jobs reported missing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::manifest::Manifest;

/// How deep under a given path manifests are looked for.
const MAX_DEPTH: usize = 3;

/// A machine directory and its manifest.
#[derive(Debug, Clone)]
pub(crate) struct MachineDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Every machine directory under `inputs`, in the order given (sorted within a parent).
///
/// # Errors
/// An input with no manifest.json at or below it, a directory holding results but no
/// manifest.json, or an unreadable manifest.
pub(crate) fn find_machine_dirs(inputs: &[PathBuf]) -> Result<Vec<MachineDir>> {
    let mut found = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            return Err(Error::output_dir(
                Some(input),
                None,
                "not a directory: pass the OUT/<machine> dirs written by `jobsplit run`, or their parent",
            ));
        }
        let before = found.len();
        walk(input, 0, &mut found)?;
        if found.len() == before {
            return Err(Error::output_dir(
                Some(input),
                None,
                "no manifest.json found here or below: pass the OUT/<machine> dirs written by `jobsplit run`",
            ));
        }
    }
    found
        .into_iter()
        .map(|dir| {
            Ok(MachineDir {
                manifest: Manifest::read(&dir)?,
                dir,
            })
        })
        .collect()
}

/// True when no host has started under any of `inputs`: each is missing, or holds no
/// manifest.json and no results at or below it (what `status` can then show comes from the
/// study's plan alone).
pub(crate) fn nothing_started(inputs: &[PathBuf]) -> bool {
    inputs.iter().all(|input| {
        if !input.exists() {
            return true;
        }
        let mut found = Vec::new();
        input.is_dir() && walk(input, 0, &mut found).is_ok() && found.is_empty()
    })
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join(Manifest::FILE).is_file() {
        // An output `run --fresh` moved aside is another plan's: only taken when named itself.
        if depth == 0 || !moved_aside(dir) {
            found.push(dir.to_path_buf());
        }
        return Ok(());
    }
    if holds_results(dir) && !dir.join(super::Summary::FILE).is_file() {
        return Err(Error::output_dir(
            Some(dir),
            None,
            "holds results but no manifest.json, so its rows cannot be checked or merged: copy in the manifest.json its run wrote, or move this directory out of the inputs",
        ));
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        walk(&sub, depth + 1, found)?;
    }
    Ok(())
}

/// True if `dir` holds a results.csv or results.csv.gz (a merge output, which has a
/// summary.json instead of a manifest, is passed over by the caller).
fn holds_results(dir: &Path) -> bool {
    ["results.csv", "results.csv.gz"]
        .iter()
        .any(|f| dir.join(f).symlink_metadata().is_ok())
}

/// True for `OUT/<machine>.old-<time>`, where `run --fresh` moves an earlier output.
fn moved_aside(dir: &Path) -> bool {
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some((machine, _)) = name.rsplit_once(".old-") else {
        return false;
    };
    Manifest::read(dir).is_ok_and(|m| m.machine == machine)
}

/// Warnings for the log bytes a run set aside in `dir` (`log.gz.damaged-*`, see
/// `LogWriter::open`): their lines are in no log that merge reads.
pub(crate) fn set_aside_logs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, u64)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("log.gz.damaged-")
        })
        .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(path, len)| {
            format!(
                "{}: {len} bytes a run set aside from log.gz as damaged; their lines are not in the merged log (the file is kept for inspection)",
                path.display()
            )
        })
        .collect()
}
