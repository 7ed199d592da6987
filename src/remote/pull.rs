//! The host side of `jobsplit collect`: given what the laptop holds of `OUT/<machine>/`, send
//! what it lacks. Only whole rows of results.csv and whole gzip members of the logs are sent
//! (what a run is writing now comes next time); an append-only file the laptop holds a prefix
//! of sends only its new bytes; a file the laptop holds a newer copy of is left alone.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::uncollected::passed_over;
use super::wire::{self, End, Entry, Frame, Op};
use crate::error::{Error, Result};

/// Files only ever appended to while a run writes them.
pub(crate) fn append_only(rel: &str) -> bool {
    rel == "results.csv"
        || rel == "log.gz"
        || (rel.starts_with("logs/") && rel.ends_with(".log.gz") && rel.matches('/').count() == 1)
}

/// Which files of ROOT a pull sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Select {
    /// Every file below ROOT (`pull ROOT`).
    All,
    /// ROOT is `OUT/.jobsplit`: each layout's `layout.json` and the claims of this machine's
    /// share (`pull ROOT MACHINE`).
    ClaimsOf(String),
    /// Only these files directly in ROOT, those that are regular files there (`pull ROOT
    /// --only NAME...`): what `status`, `report` read of a launched run.
    Only(Vec<String>),
}

impl Select {
    /// From the arguments after ROOT.
    pub(crate) fn from_args(rest: &[String]) -> Select {
        match rest {
            [] => Select::All,
            [only, names @ ..] if only == "--only" => Select::Only(names.to_vec()),
            [m, ..] => Select::ClaimsOf(m.clone()),
        }
    }

    /// The arguments after ROOT.
    pub(crate) fn to_args(&self) -> Vec<String> {
        match self {
            Select::All => Vec::new(),
            Select::ClaimsOf(m) => vec![m.clone()],
            Select::Only(names) => std::iter::once("--only".to_owned())
                .chain(names.iter().cloned())
                .collect(),
        }
    }
}

/// `pull ROOT [MACHINE | --only NAME...]`: reads the laptop's inventory, answers with frames
/// and an [`End`]; [`Select`] says which files.
pub(crate) fn pull(
    root: &Path,
    select: &Select,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<()> {
    let io = |e: std::io::Error| Error::remote(format!("remote-serve pull: {e}"));
    let local: HashMap<String, Entry> = wire::read_lines::<Entry>(input)
        .map_err(io)?
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect();
    let mut end = End {
        end: true,
        ..End::default()
    };
    let mut files = Vec::new();
    match select {
        // Named files only: no walk over every job's files.
        Select::Only(names) => files.extend(
            names
                .iter()
                .filter(|n| {
                    wire::safe_relative(n)
                        && !n.contains('/')
                        && std::fs::symlink_metadata(root.join(n))
                            .is_ok_and(|m| m.file_type().is_file())
                })
                .cloned(),
        ),
        _ => walk(root, "", &mut files, &mut end.passed),
    }
    if let Select::ClaimsOf(m) = select {
        files.retain(|rel| own_claim_or_layout(rel, m));
    }
    let mut out = Counted { inner: out, n: 0 };
    for rel in files {
        let path = root.join(&rel);
        let before = out.n;
        if let Err(e) = one(&path, &rel, local.get(&rel), &mut out, &mut end) {
            // Once a frame has begun, the stream cannot go on: the laptop keeps the files
            // before it and gets the rest next time.
            if out.n != before || e.kind() == std::io::ErrorKind::BrokenPipe {
                return Err(io(e));
            }
            end.passed.push(format!("{rel}: {e}"));
        }
    }
    let out = out.inner;
    wire::write_line(out, &end).map_err(io)?;
    out.flush().map_err(io)
}

/// `steal-<plan>/layout.json` or `steal-<plan>/claims/<machine>/<block>`.
fn own_claim_or_layout(rel: &str, machine: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        [layout, "layout.json"] => layout.starts_with("steal-"),
        [layout, "claims", m, b] => {
            layout.starts_with("steal-") && *m == machine && b.parse::<u64>().is_ok()
        }
        _ => false,
    }
}

/// A writer that counts the bytes written.
struct Counted<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Every regular file below `dir` (links and odd names passed over, with why), sorted.
fn walk(dir: &Path, prefix: &str, files: &mut Vec<String>, passed: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            passed.push(format!(
                "{prefix}{}: a name that is not UTF-8",
                entry.file_name().to_string_lossy()
            ));
            continue;
        };
        if passed_over(prefix, &name) || name.contains(['\n', '\r']) {
            continue;
        }
        let rel = format!("{prefix}{name}");
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&entry.path(), &format!("{rel}/"), files, passed),
            Ok(t) if t.is_file() => files.push(rel),
            Ok(t) if t.is_symlink() => passed.push(format!("{rel}: a symbolic link")),
            _ => {}
        }
    }
}

/// How many bytes of `path` are whole: rows of results.csv, members of a log, else all.
fn whole_len(path: &Path, rel: &str, size: u64) -> u64 {
    if rel == "results.csv" {
        return whole_rows(path).unwrap_or(0);
    }
    if rel.ends_with(".log.gz") || rel == "log.gz" {
        return crate::output::complete_gzip_prefix(path).map_or(0, |(n, _)| n);
    }
    size
}

/// The length of results.csv up to the end of its last whole row (its header at least).
fn whole_rows(path: &Path) -> Option<u64> {
    let mut reader = crate::output::results::ResultsReader::open(path).ok()?;
    let mut end = reader.position();
    loop {
        match reader.next_row() {
            Ok(Some(row)) => end = row.end(),
            Ok(None) | Err(_) => return Some(end),
        }
    }
}

/// Decides and sends one file.
fn one(
    path: &Path,
    rel: &str,
    local: Option<&Entry>,
    out: &mut dyn Write,
    end: &mut End,
) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let mtime = wire::mtime_ns(&meta);
    // The laptop's copy has this file's size and time (a collect gives it the host's time):
    // unchanged since it was verified there, so nothing is read (as rsync's quick check).
    if local.is_some_and(|l| l.size == meta.len() && l.mtime == mtime) {
        end.same += 1;
        return Ok(());
    }
    let safe = whole_len(path, rel, meta.len());
    let exec = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    };
    let mut file = std::fs::File::open(path)?;
    let from = match local {
        None => 0,
        Some(l) => {
            let at = l.size.min(safe);
            let mut hasher = Sha256::new();
            copy_hashing(&mut file, at, &mut hasher, None)?;
            let prefix = hex::encode(hasher.clone().finalize());
            if l.size == safe && prefix == l.sha256 {
                end.same += 1;
                return Ok(());
            }
            if append_only(rel) && l.size < safe && prefix == l.sha256 {
                let frame = Frame {
                    path: rel.to_owned(),
                    op: Op::Append,
                    offset: at,
                    len: safe - at,
                    mtime,
                    exec,
                };
                wire::write_line(out, &frame)?;
                copy_hashing(&mut file, safe - at, &mut hasher, Some(out))?;
                return wire::write_trailer(out, &hex::encode(hasher.finalize()));
            }
            if l.mtime > mtime {
                end.newer_kept.push(rel.to_owned());
                return Ok(());
            }
            file = std::fs::File::open(path)?;
            0
        }
    };
    let frame = Frame {
        path: rel.to_owned(),
        op: Op::Whole,
        offset: from,
        len: safe,
        mtime,
        exec,
    };
    wire::write_line(out, &frame)?;
    let mut hasher = Sha256::new();
    copy_hashing(&mut file, safe, &mut hasher, Some(out))?;
    wire::write_trailer(out, &hex::encode(hasher.finalize()))
}

/// Reads exactly `len` bytes of `file` into `hasher` (and `out`). A file that shrank under us
/// is an error: the frame is then cut, and the laptop refuses it.
fn copy_hashing(
    file: &mut std::fs::File,
    len: u64,
    hasher: &mut Sha256,
    mut out: Option<&mut dyn Write>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank while it was read",
            ));
        }
        hasher.update(&buf[..n]);
        if let Some(o) = out.as_mut() {
            o.write_all(&buf[..n])?;
        }
        left -= n as u64;
    }
    Ok(())
}
