//! What a path is, not how it was spelled: `out`, `./out`, `a/../out` and a symbolic link to
//! `out` name one directory, and jobsplit must treat them as one (one run per machine
//! directory, the jobs a killed run left behind, a merge that never writes into its inputs).

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// The canonical form of a path that may not exist yet: its nearest existing ancestor,
/// canonicalized (links resolved), joined with the rest (`.` dropped, `..` applied).
///
/// # Errors
/// When the working directory cannot be read or no ancestor can be canonicalized.
pub(crate) fn canonical_future(path: &Path) -> std::io::Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut rest: Vec<OsString> = Vec::new();
    let mut base = abs.as_path();
    loop {
        match base.canonicalize() {
            Ok(mut c) => {
                for part in rest.iter().rev() {
                    match Path::new(part).components().next() {
                        Some(Component::ParentDir) => {
                            c.pop();
                        }
                        Some(Component::CurDir) => {}
                        _ => c.push(part),
                    }
                }
                return Ok(c);
            }
            Err(e) => match (base.parent(), base.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    base = parent;
                }
                // `file_name` is None for a path ending in `..`: keep it for the tail.
                (Some(parent), None) if base.ends_with("..") => {
                    rest.push(OsString::from(".."));
                    base = parent;
                }
                _ => return Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_directory_agree() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, t.path().join("link")).unwrap();
        let want = real.canonicalize().unwrap().join("m");
        for spelling in [
            "real/m",
            "link/m",
            "real/../real/m",
            "link/./m",
            "real/x/../m",
        ] {
            assert_eq!(
                canonical_future(&t.path().join(spelling)).unwrap(),
                want,
                "{spelling}"
            );
        }
    }
}
