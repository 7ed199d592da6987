//! One merge at a time into an output directory: a merge holds an exclusive lock (flock) on
//! `--out` itself for as long as it writes there, and a second merge into the same directory
//! waits for it. Without it, each merge took the other's temporary tree for a leftover of a
//! killed merge and removed it, and one could end with files missing that its summary.json
//! counted. The lock is on the directory, so no lock file is left in it.

use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// How often a waiting merge tries the lock again.
const RETRY: Duration = Duration::from_millis(50);

/// The lock on an output directory; released when dropped.
pub(super) struct OutLock {
    _dir: File,
}

/// Creates `out` if needed and takes its lock, waiting while another merge holds it. A merge
/// that failed may remove the directory it created while this one waited: it is then created
/// again and locked anew, so the lock is always on the directory at `out`.
///
/// # Errors
/// If `out` cannot be created, opened or locked.
pub(super) fn lock_out(out: &Path) -> Result<OutLock> {
    loop {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(out)
            .map_err(|e| Error::io(out, e))?;
        while !crate::sys::try_lock_exclusive(&dir).map_err(|e| Error::io(out, e))? {
            std::thread::sleep(RETRY);
        }
        let held = dir.metadata().map_err(|e| Error::io(out, e))?;
        match std::fs::metadata(out) {
            Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                return Ok(OutLock { _dir: dir })
            }
            _ => continue,
        }
    }
}
