//! The fences of a `--steal-remote` layout (docs/remote.md, "Declaring a host dead"):
//! `OUT/.jobsplit/steal-<plan16>/fenced/<machine>` exists once the machine was declared dead.
//! A disk holding it claims no block for or from that machine, and the machine's run there
//! starts no other block.

use std::path::Path;

use crate::error::{Error, Result};

/// The directory of fences in a layout directory.
pub(crate) const FENCED_DIR: &str = "fenced";

/// Whether `name` can be a machine's directory (and file) name: not empty, no leading dot, no
/// separator.
pub(crate) fn safe_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

/// Whether machine `name` is fenced in the layout directory `dir`.
pub(crate) fn fenced(dir: &Path, name: &str) -> bool {
    safe_name(name) && dir.join(FENCED_DIR).join(name).exists()
}

/// Fences machine `name` in the layout directory `dir` (made if missing: a host that never
/// started this plan learns it too): from now on no block is claimed there for or from it, and
/// its run there starts no other block. Writing it again changes nothing.
///
/// # Errors
/// A name that is no machine directory, or the file cannot be written.
pub(crate) fn fence(dir: &Path, name: &str) -> Result<()> {
    if !safe_name(name) {
        return Err(Error::usage(format!(
            "`{}` is not a machine name",
            crate::text::escape(name)
        )));
    }
    let fences = dir.join(FENCED_DIR);
    std::fs::create_dir_all(&fences).map_err(|e| Error::io(&fences, e))?;
    let file = fences.join(name);
    if file.exists() {
        return Ok(());
    }
    super::write_atomic(&file, b"declared dead\n")
}

/// The machines fenced in the layout directory `dir`, sorted.
pub(crate) fn fences(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(FENCED_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| safe_name(n) && !n.ends_with(".tmp") && !n.contains(".tmp-"))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_is_written_once_and_read_back() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("steal-x");
        assert!(fences(&dir).is_empty());
        fence(&dir, "ws3").unwrap();
        fence(&dir, "ws3").unwrap();
        fence(&dir, "ws1").unwrap();
        assert_eq!(fences(&dir), ["ws1", "ws3"]);
        assert!(fenced(&dir, "ws3") && !fenced(&dir, "ws2"));
        assert!(fence(&dir, "../x").is_err());
    }
}
