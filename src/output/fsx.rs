//! Creating and opening the files jobsplit writes without ever writing through a symbolic link.
//!
//! An output directory is the user's (and may be shared): a name in it planted as a link, or
//! left as one, must never make jobsplit write a file elsewhere. So a temporary file is created
//! exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`), under a fresh name when its usual one is taken;
//! a file written in place (results.csv, log.gz) is opened with `O_NOFOLLOW`; and a run refuses
//! a directory whose output files are links before it writes anything. Directories may be links
//! (a symlinked `OUT` on scratch space is a common, legitimate setup).

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The files a run writes in `OUT/<machine>/` (besides `logs/*.log.gz`): none may be a link.
const RUN_FILES: [&str; 6] = [
    "results.csv",
    "results.csv.pending",
    "log.gz",
    "manifest.json",
    "status.json",
    ".lock",
];

/// How many fresh names [`create_temp`] tries after `NAME.tmp` before giving up.
const FRESH_TRIES: usize = 32;

/// Creates a new, empty temporary file beside `path` (readable and writable) and returns it with
/// its name: `NAME.tmp`, or `NAME.tmp-<16 hex digits>` when that name is taken (by a link, a
/// leftover of a crash, or anything else, which is left as it is). Never follows a link.
///
/// # Errors
/// If the directory is not writable, or no fresh name could be created.
pub(crate) fn create_temp(path: &Path) -> io::Result<(File, PathBuf)> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let first = path.with_file_name(&name);
    match create_new(&first) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        other => return other.map(|f| (f, first)),
    }
    let mut last = None;
    for _ in 0..FRESH_TRIES {
        let mut fresh = name.clone();
        fresh.push(format!("-{:016x}", fresh_suffix()));
        let candidate = path.with_file_name(fresh);
        match create_new(&candidate) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            other => return other.map(|f| (f, candidate)),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// Creates `path` exclusively, refusing to follow a link there.
fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o666)
        .open(path)
}

/// A number no other temporary name of this process has used, and hard to guess for another
/// one: a per-process random hash (std's `RandomState` keys come from the OS) of the time, the
/// process id and a counter. Not part of anything deterministic.
fn fresh_suffix() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.finish()
}

/// Opens an output file with `opts`, refusing to follow a link at `path` (with the same line as
/// [`refuse_link`]).
///
/// # Errors
/// If `path` is a link, or opening fails.
pub(crate) fn open_output(opts: &mut OpenOptions, path: &Path) -> Result<File> {
    opts.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) if is_link(path) => link_refused(path),
            _ => Error::io(path, e),
        })
}

/// Refuses `path` if it is a symbolic link (dangling or not).
///
/// # Errors
/// One line naming the file and the fix.
pub(crate) fn refuse_link(path: &Path) -> Result<()> {
    match is_link(path) {
        true => Err(link_refused(path)),
        false => Ok(()),
    }
}

/// Refuses a machine directory in which a file a run writes is a link: checked before the run
/// takes the directory's lock or writes anything. A `dir` that is itself a link to a directory
/// is fine, and so are links to directories below it.
///
/// # Errors
/// One line naming the first such file and the fix.
pub(crate) fn refuse_output_links(dir: &Path) -> Result<()> {
    for name in RUN_FILES {
        refuse_link(&dir.join(name))?;
    }
    // A run reads and removes the cancel requests in `cancel/`: through a link it would read
    // and delete another directory's `*.txt` files.
    refuse_link(&dir.join("cancel"))?;
    // Per-job logs (`--job-logs`) are written in place too.
    if let Ok(entries) = std::fs::read_dir(dir.join("logs")) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                return Err(link_refused(&entry.path()));
            }
        }
    }
    Ok(())
}

/// Removes the temporary files [`create_temp`] made for `dir/NAME` (for each of `names`) that a
/// killed run left behind: plain files only, a link there is left alone. Call it with the
/// directory's lock held.
pub(crate) fn remove_stale_temps(dir: &Path, names: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let stale = names.iter().any(|base| {
            name.strip_prefix(base)
                .and_then(|rest| rest.strip_prefix(".tmp"))
                .is_some_and(|rest| {
                    rest.is_empty()
                        || rest.strip_prefix('-').is_some_and(|h| {
                            h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit())
                        })
                })
        });
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn link_refused(path: &Path) -> Error {
    Error::output_dir(None, None, format!(
        "{} is a symbolic link: jobsplit never writes through links; replace it with the file itself (or remove it)",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_temporary_name_taken_by_a_link_gets_a_fresh_name() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let target = dir.path().join("results.csv");
        symlink(&victim, dir.path().join("results.csv.tmp")).unwrap();
        let (mut f, tmp) = create_temp(&target).unwrap();
        std::io::Write::write_all(&mut f, b"new").unwrap();
        let name = tmp.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("results.csv.tmp-"), "{name}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        // A second one while the first exists gets yet another name.
        let (_, other) = create_temp(&target).unwrap();
        assert_ne!(other, tmp);
        remove_stale_temps(dir.path(), &["results.csv"]);
        assert!(!tmp.exists() && !other.exists());
        assert!(
            is_link(&dir.path().join("results.csv.tmp")),
            "links are left alone"
        );
    }

    #[test]
    fn the_usual_temporary_name_when_free() {
        let dir = tempfile::tempdir().unwrap();
        let (_, tmp) = create_temp(&dir.path().join("manifest.json")).unwrap();
        assert_eq!(tmp, dir.path().join("manifest.json.tmp"));
    }

    #[test]
    fn links_are_refused_with_the_fix_and_directories_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::create_dir(real.join("logs")).unwrap();
        symlink(&real, dir.path().join("m")).unwrap();
        symlink(dir.path(), real.join("jobs")).unwrap();
        let m = dir.path().join("m");
        assert!(refuse_output_links(&m).is_ok());
        symlink(dir.path().join("nowhere"), real.join("logs/3.log.gz")).unwrap();
        let e = refuse_output_links(&m).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::OutputDir, "{e}");
        assert!(
            e.to_string().contains("logs/3.log.gz is a symbolic link"),
            "{e}"
        );
        let e = open_output(
            OpenOptions::new().append(true).create(true),
            &m.join("logs/3.log.gz"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("replace it with the file itself"), "{e}");
        assert!(!dir.path().join("nowhere").exists());
    }
}
