//! `[run] workdir = "job"`: each attempt of a command job runs in its own fresh directory,
//! `OUT/<machine>/jobs/<index>/`, made empty before it starts, so the directory always holds the
//! latest attempt's files on this machine (what `merge` collects).

use std::io;
use std::path::Path;

/// Makes `dir` a fresh, empty directory: whatever an earlier attempt left there is removed
/// first. Nothing is followed: a symbolic link at `dir` or inside it is removed as a link, never
/// the files it points to. Its parent must exist.
///
/// # Errors
/// What the file system says: a parent that is not a directory, a full disk, no permission.
pub(super) fn fresh_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        // `remove_dir_all` does not follow links inside the tree (std makes that a promise).
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(dir)?,
        Ok(_) => std::fs::remove_file(dir)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_attempts_files_go_and_links_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        let dir = t.path().join("7");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/old"), "old").unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        fresh_dir(&dir).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        // The directory itself a link: the link goes, its target stays.
        std::fs::remove_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&outside, &dir).unwrap();
        fresh_dir(&dir).unwrap();
        assert!(std::fs::symlink_metadata(&dir).unwrap().is_dir());
        assert_eq!(std::fs::read_to_string(outside.join("keep")).unwrap(), "x");
    }
}
