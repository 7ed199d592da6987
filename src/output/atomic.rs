//! Whole-file replacement that a crash cannot tear: write a temporary file beside the target,
//! fsync it, rename it over the target, fsync the directory. The temporary file is created
//! exclusively and never through a link (`fsx::create_temp`); the rename replaces a link at the
//! target's name, never writing through it.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Replaces `path` with `bytes` atomically. On any error the temporary file is removed and the
/// old file, if any, is left as it was.
///
/// # Errors
/// If the directory is not writable or the disk is full.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (mut f, tmp) = super::fsx::create_temp(path).map_err(|e| Error::io(path, e))?;
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_dir(path);
    Ok(())
}

/// Makes a rename in `path`'s directory durable (best effort).
pub(crate) fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
