//! The payload: the files `jobsplit launch` sends to every host (the config, the job list, the
//! machines file and `[ship] files`), each by its path relative to the study directory, and
//! their digest: SHA-256 over the lines `<sha256>  <path>\n` sorted by path (what `sha256sum`
//! prints), so the same files give the same digest on any machine.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::wire::{self, Entry};

/// One file of the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PayloadFile {
    /// Its path relative to the study directory, `/`-separated.
    pub rel: String,
    /// Where it is here.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// True when it is executable.
    pub exec: bool,
}

/// The files shipped and their digest.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    /// Sorted by path, no path twice.
    pub files: Vec<PayloadFile>,
    /// SHA-256 of the list (hex).
    pub digest: String,
}

impl Payload {
    /// Gathers `named` (files that must exist) and `patterns` (`[ship] files`: files,
    /// directories taken whole, globs with `*` and `?` inside one path component), all
    /// relative to `root` (named ones may be absolute but must lie below it).
    ///
    /// # Errors
    /// A file outside the study directory, a pattern that matches nothing, an unreadable file.
    pub(crate) fn gather(root: &Path, named: &[PathBuf], patterns: &[String]) -> Result<Payload> {
        let mut files = Vec::new();
        for path in named {
            let rel = relative(root, path)?;
            add(root, &rel, &mut files)?;
        }
        for pattern in patterns {
            let rel = pattern.trim_end_matches('/');
            if !wire::safe_relative(rel) {
                return Err(Error::config(None, None, format!(
                    "[ship] files: `{pattern}` is not a path inside the study directory {}: name files relative to it",
                    root.display()
                )));
            }
            let found = expand(root, rel);
            if found.is_empty() {
                return Err(Error::config(
                    None,
                    None,
                    format!(
                    "[ship] files: `{pattern}` matches nothing in {}: fix the name or remove it",
                    root.display()
                ),
                ));
            }
            for rel in found {
                add(root, &rel, &mut files)?;
            }
        }
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        files.dedup_by(|a, b| a.rel == b.rel);
        let listing: String = files
            .iter()
            .map(|f| format!("{}  {}\n", f.sha256, f.rel))
            .collect();
        Ok(Payload {
            digest: wire::sha256_bytes(listing.as_bytes()),
            files,
        })
    }

    /// Adds `other`'s files to those shipped, leaving the digest as it is (files that travel
    /// with a launch but are not the study's own, such as a rescue's merge output).
    pub(crate) fn add_files(&mut self, other: &Payload) {
        self.files.extend(other.files.iter().cloned());
        self.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        self.files.dedup_by(|a, b| a.rel == b.rel);
    }

    /// The inventory a host compares with what it holds.
    pub(crate) fn entries(&self) -> Vec<Entry> {
        self.files
            .iter()
            .map(|f| Entry {
                path: f.rel.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                mtime: 0,
            })
            .collect()
    }
}

/// `path` relative to `root`, `/`-separated, refused outside it.
pub(crate) fn relative(root: &Path, path: &Path) -> Result<String> {
    let abs = |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io(p, e));
    let (root_abs, path_abs) = (abs(root)?, abs(path)?);
    let rel = path_abs.strip_prefix(&root_abs).map_err(|_| {
        Error::remote(format!(
            "{} is outside the study directory {}: move it in, so every host finds it at the same place",
            path.display(),
            root.display()
        ))
    })?;
    let text = rel.to_str().ok_or_else(|| {
        Error::remote(format!(
            "{}: a name that is not UTF-8 cannot be shipped",
            path.display()
        ))
    })?;
    Ok(text.to_owned())
}

/// Adds the file or, for a directory, every file below it.
fn add(root: &Path, rel: &str, files: &mut Vec<PayloadFile>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = root.join(rel);
    let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
    if meta.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .map_err(|e| Error::io(&path, e))?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        for name in names {
            add(root, &format!("{rel}/{name}"), files)?;
        }
        return Ok(());
    }
    if !meta.is_file() {
        return Ok(());
    }
    let sha256 = wire::sha256_file(&path).map_err(|e| Error::io(&path, e))?;
    files.push(PayloadFile {
        rel: rel.to_owned(),
        size: meta.len(),
        sha256,
        exec: meta.permissions().mode() & 0o111 != 0,
        path,
    });
    Ok(())
}

/// The paths below `root` matching `pattern` component by component.
fn expand(root: &Path, pattern: &str) -> Vec<String> {
    let mut found = vec![String::new()];
    for part in pattern.split('/') {
        let mut next = Vec::new();
        for base in &found {
            let dir = if base.is_empty() {
                root.to_path_buf()
            } else {
                root.join(base)
            };
            let join = |name: &str| {
                if base.is_empty() {
                    name.to_owned()
                } else {
                    format!("{base}/{name}")
                }
            };
            if !part.contains(['*', '?']) {
                if dir.join(part).exists() {
                    next.push(join(part));
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| !n.starts_with('.') && glob_match(part.as_bytes(), n.as_bytes()))
                .collect();
            names.sort();
            next.extend(names.iter().map(|n| join(n)));
        }
        found = next;
    }
    found
}

/// `*` matches any run of bytes, `?` one byte, anything else itself.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_dirs_and_globs_make_one_sorted_payload() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        for f in [
            "sim.py",
            "a.cfg",
            "b.cfg",
            "data/x",
            "data/sub/y",
            "jobs.txt",
        ] {
            std::fs::write(root.join(f), f).unwrap();
        }
        let p = Payload::gather(
            root,
            &[root.join("jobs.txt")],
            &["sim.py".into(), "data/".into(), "*.cfg".into()],
        )
        .unwrap();
        let rels: Vec<&str> = p.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "a.cfg",
                "b.cfg",
                "data/sub/y",
                "data/x",
                "jobs.txt",
                "sim.py"
            ]
        );
        let again = Payload::gather(root, &[], &["*".into()]).unwrap();
        assert_eq!(again.digest, p.digest, "the same files, named otherwise");
        let fewer = Payload::gather(root, &[], &["sim.py".into()]).unwrap();
        assert_ne!(fewer.digest, p.digest);
        std::fs::write(root.join("sim.py"), "changed").unwrap();
        let changed = Payload::gather(
            root,
            &[root.join("jobs.txt")],
            &["sim.py".into(), "data/".into(), "*.cfg".into()],
        )
        .unwrap();
        assert_ne!(changed.digest, p.digest);
        let err = Payload::gather(root, &[], &["nope*".into()]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("matches nothing"), "{err}");
        let err = Payload::gather(root, &[], &["../x".into()]).unwrap_err();
        assert!(err.to_string().contains("not a path inside"), "{err}");
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*.cfg", b"a.cfg"));
        assert!(!glob_match(b"*.cfg", b"a.cfgx"));
        assert!(glob_match(b"a?c*", b"abcdef"));
    }
}
