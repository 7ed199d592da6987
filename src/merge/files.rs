//! Collected files: each job's `jobs/<index>/` tree and its per-job log (`logs/<index>.log.gz`)
//! from the machine directory whose row won, gathered into `merged/jobs/<index>/` (the log as
//! `jobsplit.log.gz`). Files are hard-linked where the file system allows, else copied.
//!
//! Nothing is followed: a symbolic link inside a job's tree is made again as a link with the
//! same target (never read through), and a `jobs` or `jobs/<index>` that is itself a link is
//! passed over with a warning, so nothing outside a machine directory is ever read; so are
//! fifos, sockets and devices, and the entries of a tree deeper than `PATH_MAX`. Everything
//! is built in a temporary directory inside the output and moved into place only once the
//! whole merge has succeeded ([`Collected::install`]): a failed merge leaves no half tree.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The name a job's collected log takes in its directory.
pub(super) const LOG_NAME: &str = "jobsplit.log.gz";
/// The directory of collected files in a merge output.
pub(super) const DIR: &str = "jobs";

/// What a merge collected (`files` in summary.json).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesSummary {
    /// Jobs with at least one collected file.
    pub jobs: u64,
    /// Files collected (logs included; links and directories not counted).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files hard-linked to their input.
    pub linked: u64,
    /// Files copied (another file system, or links refused).
    pub copied: u64,
    /// Per-job logs among the files.
    pub logs: u64,
    /// Symbolic links made again as links.
    #[serde(default)]
    pub symlinks: u64,
}

/// Files gathered into a temporary directory, waiting to be moved into place.
#[derive(Debug)]
pub(crate) struct Collected {
    tmp: PathBuf,
    pub(crate) summary: FilesSummary,
    pub(crate) warnings: Vec<String>,
}

impl Drop for Collected {
    /// Not installed (the merge failed after collecting): nothing of it stays.
    fn drop(&mut self) {
        if self.tmp.exists() {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Gathers, for every job `winners` gives (index, machine directory of its winning row), its
/// files and log into a temporary directory in `out`.
///
/// # Errors
/// A file that cannot be read, linked or copied, a full disk: nothing collected stays.
pub(crate) fn collect(out: &Path, winners: &[(u64, &Path)]) -> Result<Collected> {
    remove_leftovers(out)?;
    let tmp = out.join(format!(".jobs.tmp-{}", std::process::id()));
    std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut c = Collected {
        tmp,
        summary: FilesSummary::default(),
        warnings: Vec::new(),
    };
    // Per machine directory, which of its jobs won: one listing of `jobs/` and `logs/` each
    // instead of a look per job (most jobs of most studies keep no files).
    let mut by_dir: HashMap<&Path, Vec<u64>> = HashMap::new();
    for &(index, dir) in winners {
        by_dir.entry(dir).or_default().push(index);
    }
    let mut dirs: Vec<(&Path, Vec<u64>)> = by_dir.into_iter().collect();
    dirs.sort();
    for (dir, mut indices) in dirs {
        indices.sort_unstable();
        c.gather_machine(dir, &indices)?;
    }
    Ok(c)
}

impl Collected {
    /// Collects the files of `indices` (ascending) from machine directory `dir`.
    fn gather_machine(&mut self, dir: &Path, indices: &[u64]) -> Result<()> {
        let jobs = listing(&dir.join(DIR), &mut self.warnings)?;
        let logs = listing(&dir.join("logs"), &mut self.warnings)?;
        for &index in indices {
            let name = index.to_string();
            let src = jobs.contains_key(&name).then(|| dir.join(DIR).join(&name));
            let log = logs
                .get(&format!("{name}.log.gz"))
                .filter(|k| **k == Kind::File)
                .map(|_| dir.join("logs").join(format!("{name}.log.gz")));
            if src.is_none() && log.is_none() {
                continue;
            }
            let dst = self.tmp.join(&name);
            let before = self.summary.files + self.summary.symlinks;
            if let Some(src) = src {
                match jobs[&name] {
                    Kind::Dir => {
                        std::fs::create_dir(&dst).map_err(|e| Error::io(&dst, e))?;
                        if self.tree(&src, &dst)? {
                            self.warnings.push(format!(
                                "{}: paths below it longer than the system's limit ({} bytes): those entries are not collected",
                                src.display(),
                                libc::PATH_MAX
                            ));
                        }
                    }
                    Kind::Link => self.warnings.push(format!(
                        "{}: a symbolic link, not followed: its files are not collected",
                        src.display()
                    )),
                    _ => self
                        .warnings
                        .push(format!("{}: not a directory: not collected", src.display())),
                }
            }
            if let Some(log) = log {
                if !dst.exists() {
                    std::fs::create_dir(&dst).map_err(|e| Error::io(&dst, e))?;
                }
                let to = dst.join(LOG_NAME);
                if std::fs::symlink_metadata(&to).is_ok() {
                    self.warnings.push(format!(
                        "job {index}: it wrote a file named {LOG_NAME} itself; that file is kept and its log is not collected (it is in {})",
                        log.display()
                    ));
                } else {
                    self.file(&log, &to)?;
                    self.summary.logs += 1;
                }
            }
            if self.summary.files + self.summary.symlinks > before {
                self.summary.jobs += 1;
            } else if dst.exists() {
                let _ = std::fs::remove_dir(&dst);
            }
        }
        Ok(())
    }

    /// Copies the tree under `src` (a real directory) into the existing directory `dst`; true
    /// when entries were passed over because their path is too long for the system (a job can
    /// make a tree deeper than `PATH_MAX` one relative step at a time).
    fn tree(&mut self, src: &Path, dst: &Path) -> Result<bool> {
        let mut too_deep = false;
        let entries = std::fs::read_dir(src).map_err(|e| Error::io(src, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(src, e))?;
            let (from, to) = (entry.path(), dst.join(entry.file_name()));
            if too_long(&from) || too_long(&to) {
                too_deep = true;
                continue;
            }
            // `file_type` of a directory entry never follows a link.
            let kind = entry.file_type().map_err(|e| Error::io(&from, e))?;
            if kind.is_dir() {
                std::fs::create_dir(&to).map_err(|e| Error::io(&to, e))?;
                too_deep |= self.tree(&from, &to)?;
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&from).map_err(|e| Error::io(&from, e))?;
                std::os::unix::fs::symlink(&target, &to).map_err(|e| Error::io(&to, e))?;
                self.summary.symlinks += 1;
            } else if kind.is_file() {
                self.file(&from, &to)?;
            } else {
                self.warnings.push(format!(
                    "{}: not a regular file, directory or link (a fifo, socket or device): not collected",
                    from.display()
                ));
            }
        }
        Ok(too_deep)
    }

    /// Links or copies the regular file `from` to `to`.
    fn file(&mut self, from: &Path, to: &Path) -> Result<()> {
        let len = std::fs::symlink_metadata(from)
            .map_err(|e| Error::io(from, e))?
            .len();
        match std::fs::hard_link(from, to) {
            Ok(()) => self.summary.linked += 1,
            Err(e) if link_refused(&e) => {
                std::fs::copy(from, to).map_err(|e| Error::io(to, e))?;
                self.summary.copied += 1;
            }
            Err(e) => return Err(Error::io(to, e)),
        }
        self.summary.files += 1;
        self.summary.bytes += len;
        Ok(())
    }

    /// Moves the collected tree into place as `out/jobs`, replacing what an earlier merge left
    /// there. With nothing collected, an earlier merge's tree is removed (it would no longer
    /// match the new results.csv).
    ///
    /// # Errors
    /// A rename or removal the file system refuses.
    pub(crate) fn install(mut self, out: &Path) -> Result<FilesSummary> {
        let dst = out.join(DIR);
        remove_old(out, &dst)?;
        if self.summary.jobs == 0 {
            std::fs::remove_dir_all(&self.tmp).map_err(|e| Error::io(&self.tmp, e))?;
        } else {
            std::fs::rename(&self.tmp, &dst).map_err(|e| Error::io(&dst, e))?;
            crate::output::sync_dir(&dst);
        }
        Ok(std::mem::take(&mut self.summary))
    }
}

/// Removes the `jobs/` an earlier merge left in `out` (moved aside first, so that a crash
/// midway leaves a hidden directory, never a half `jobs/`).
pub(crate) fn remove_old(out: &Path, dst: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dst) {
        Ok(m) if m.is_dir() => {
            let old = out.join(format!(".jobs.old-{}", std::process::id()));
            std::fs::rename(dst, &old).map_err(|e| Error::io(dst, e))?;
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))
        }
        Ok(_) => std::fs::remove_file(dst).map_err(|e| Error::io(dst, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dst, e)),
    }
}

/// Removes the temporary trees a merge into `out` that was killed midway left behind
/// (`.jobs.tmp-<pid>`, `.jobs.old-<pid>`).
pub(super) fn remove_leftovers(out: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with(".jobs.tmp-") || name.starts_with(".jobs.old-");
        if ours && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let path = entry.path();
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// True when the system refuses `path` for its length (`PATH_MAX` counts the final NUL).
fn too_long(path: &Path) -> bool {
    path.as_os_str().len() >= libc::PATH_MAX as usize
}

/// Errors after which a copy may still work: another file system, links not supported or not
/// allowed, too many links to the file.
fn link_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EXDEV | libc::EPERM | libc::EMLINK | libc::ENOTSUP | libc::EACCES)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Link,
    Other,
}

/// The entries of `dir` by name and kind (links not followed); empty if it does not exist. A
/// `dir` that is a link is not read: a warning says so.
fn listing(dir: &Path, warnings: &mut Vec<String>) -> Result<HashMap<String, Kind>> {
    let mut map = HashMap::new();
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) if m.file_type().is_symlink() => {
            warnings.push(format!(
                "{}: a symbolic link, not followed: no files are collected from it",
                dir.display()
            ));
            return Ok(map);
        }
        Ok(_) => return Ok(map),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(map),
        Err(e) => return Err(Error::io(dir, e)),
    }
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let t = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        let kind = if t.is_symlink() {
            Kind::Link
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        map.insert(name, kind);
    }
    Ok(map)
}
