//! The laptop side of `jobsplit collect`: tell a host what `OUT/<machine>/` holds here, apply
//! the frames it answers with. Every file is checked against the SHA-256 the host computed
//! before it takes its place; nothing is written through a symbolic link (a link below
//! `OUT/<machine>/` is refused, a whole file is renamed over its name); the time of the host's
//! copy is kept, so a copy changed here since is newer and kept.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::hashing::Tee;
use super::quote::quote;
use super::ship::{Host, LaunchError};
use super::ssh::{Failure, Ssh};
use super::wire::{self, Entry, Frame, Line, Op};

/// What one collect of one host did.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// Files written whole.
    pub whole: u64,
    /// Files appended to.
    pub appended: u64,
    /// Bytes received into files.
    pub bytes: u64,
    /// Bytes that came over ssh in all (headers included).
    pub wire_bytes: u64,
    /// Files the same on both sides.
    pub same: u64,
    /// Files kept because the copy here is newer.
    pub newer_kept: Vec<String>,
    /// Files passed over on the host (links, odd names), with why.
    pub passed: Vec<String>,
    /// Files refused here (a link in the way, a hash that does not match), with why.
    pub refused: Vec<String>,
}

/// Brings `host`'s `OUT/<machine>/` (`out` relative to its study directory) into `local`.
///
/// # Errors
/// The host cannot be reached, or the stream breaks (files applied before that are kept).
pub fn collect(ssh: &Ssh, host: &Host, out: &str, local: &Path) -> Result<Collected, LaunchError> {
    collect_below(ssh, host, &[out, &host.machine], None, local)
}

/// Brings the claims of `host`'s own share, made on its disk (`OUT/.jobsplit/steal-*/claims/
/// <machine>/`, with each `layout.json`), into `local_out/.jobsplit/`: what proves the rows of
/// a `--steal-remote` study (docs/remote.md).
///
/// # Errors
/// As [`collect`].
pub fn collect_claims(
    ssh: &Ssh,
    host: &Host,
    out: &str,
    local_out: &Path,
) -> Result<Collected, LaunchError> {
    let root = crate::output::layout::ROOT;
    let local = local_out.join(root);
    collect_below(ssh, host, &[out, root], Some(&host.machine), &local)
}

/// Pulls the directory `parts` (joined, below the study directory) of `host` into `local`;
/// with `claims_of`, only the layouts and the claims of that machine's share.
fn collect_below(
    ssh: &Ssh,
    host: &Host,
    parts: &[&str],
    claims_of: Option<&str>,
    local: &Path,
) -> Result<Collected, LaunchError> {
    if std::fs::symlink_metadata(local).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(LaunchError::Refused(format!(
            "{} is a symbolic link: collect writes only into a real directory; replace the link",
            local.display()
        )));
    }
    std::fs::create_dir_all(local)
        .map_err(|e| LaunchError::Refused(format!("{}: {e}", local.display())))?;
    let held = inventory_of(local, &load_verified(local));
    let mut inventory = Vec::new();
    for e in &held {
        let _ = wire::write_line(&mut inventory, e);
    }
    let dir = host.dir.strip_prefix("~/").unwrap_or(&host.dir);
    let mut mdir = Path::new(if dir.is_empty() { "." } else { dir }).to_path_buf();
    for p in parts {
        mdir.push(p);
    }
    let filter = claims_of
        .map(|m| format!(" {}", quote(m)))
        .unwrap_or_default();
    let script = format!(
        "B={}/{}/jobsplit-$(uname -m) && exec \"$B\" remote-serve pull {}{filter}",
        host.dir_word(),
        quote(super::serve::STATE_DIR),
        quote(&mdir.to_string_lossy())
    );
    let mut done = Collected::default();
    let result = ssh.run(&host.dest, &script, &inventory, |r| {
        let mut counted = CountingRead { inner: r, n: 0 };
        let applied = apply_all(local, &mut BufReader::new(&mut counted), &mut done);
        done.wire_bytes = counted.n;
        applied
    });
    // What is here now, for the next collect (files applied before a break count too).
    save_verified(local, &inventory_of(local, &held));
    match result {
        Ok(()) => Ok(done),
        Err(Failure::Remote(0, why)) => Err(LaunchError::Host(Failure::Remote(0, why))),
        Err(f) => Err(LaunchError::Host(f)),
    }
}

struct CountingRead<'a> {
    inner: &'a mut dyn Read,
    n: u64,
}

impl Read for CountingRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// Applies frames until the end line.
fn apply_all(local: &Path, input: &mut dyn BufRead, done: &mut Collected) -> std::io::Result<()> {
    loop {
        let line: Option<Line> = wire::read_line(input)?;
        match line {
            None => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the host's answer ended early (files before the break are kept)",
                ))
            }
            Some(Line::End(end)) => {
                done.same = end.same;
                done.newer_kept = end.newer_kept;
                done.passed = end.passed;
                return Ok(());
            }
            Some(Line::Frame(frame)) => {
                if !wire::safe_relative(&frame.path) {
                    return Err(std::io::Error::other(format!(
                        "the host sent a path outside the directory: `{}`",
                        frame.path
                    )));
                }
                apply(local, &frame, input, done)?;
            }
        }
    }
}

/// Applies one frame; a file refused here is skipped (its bytes read and dropped).
fn apply(
    local: &Path,
    frame: &Frame,
    input: &mut dyn BufRead,
    done: &mut Collected,
) -> std::io::Result<()> {
    let target = local.join(&frame.path);
    if let Some(link) = link_below(local, &frame.path) {
        std::io::copy(
            &mut Read::take(&mut *input, frame.len),
            &mut std::io::sink(),
        )?;
        wire::read_trailer(input)?;
        done.refused
            .push(format!("{}: {link} is a symbolic link", frame.path));
        return Ok(());
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let ok = match frame.op {
        Op::Whole => whole(&target, frame, input)?,
        Op::Append => append(&target, frame, input)?,
    };
    match ok {
        Ok(()) => {
            done.bytes += frame.len;
            if frame.op == Op::Whole {
                done.whole += 1;
            } else {
                done.appended += 1;
            }
        }
        Err(why) => done.refused.push(format!("{}: {why}", frame.path)),
    }
    Ok(())
}

/// The first component of `rel` below `root` that is a symbolic link here, if any.
fn link_below(root: &Path, rel: &str) -> Option<String> {
    let mut path = root.to_path_buf();
    let mut shown = String::new();
    for part in rel.split('/') {
        path.push(part);
        if !shown.is_empty() {
            shown.push('/');
        }
        shown.push_str(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Some(shown),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

type Applied = std::result::Result<(), String>;

/// A whole file: to a temporary file beside it, verified, renamed over the name.
fn whole(target: &Path, frame: &Frame, input: &mut dyn BufRead) -> std::io::Result<Applied> {
    let (file, tmp) = crate::output::create_temp(target)?;
    let mut tee = Tee::new(&file);
    let n = std::io::copy(&mut Read::take(&mut *input, frame.len), &mut tee)?;
    let hash = tee.finish();
    let expected = wire::read_trailer(input)?;
    if n != frame.len || hash != expected {
        let _ = std::fs::remove_file(&tmp);
        return Ok(Err(
            "its SHA-256 does not match the host's: collect again".into()
        ));
    }
    finish(&file, frame)?;
    std::fs::rename(&tmp, target)?;
    Ok(Ok(()))
}

/// New bytes of an append-only file: appended after checking the copy here is the prefix the
/// host built on; cut back if the result does not verify.
fn append(target: &Path, frame: &Frame, input: &mut dyn BufRead) -> std::io::Result<Applied> {
    let skip = |input: &mut dyn BufRead, why: &str| -> std::io::Result<Applied> {
        std::io::copy(
            &mut Read::take(&mut *input, frame.len),
            &mut std::io::sink(),
        )?;
        wire::read_trailer(input)?;
        Ok(Err(why.to_owned()))
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(target);
    let Ok(mut file) = file else {
        return skip(input, "it is gone here: collect again");
    };
    if file.metadata()?.len() != frame.offset {
        return skip(input, "it changed here meanwhile: collect again");
    }
    let mut tee = Tee::new(std::io::sink());
    std::io::copy(&mut Read::take(&mut file, frame.offset), &mut tee)?;
    let mut tee = tee.chain_into(&mut file);
    let n = std::io::copy(&mut Read::take(&mut *input, frame.len), &mut tee)?;
    let hash = tee.finish();
    let expected = wire::read_trailer(input)?;
    if n != frame.len || hash != expected {
        file.set_len(frame.offset)?;
        return Ok(Err(
            "its SHA-256 does not match the host's: collect again".into()
        ));
    }
    finish(&file, frame)?;
    Ok(Ok(()))
}

/// Syncs the file and gives it the host's modification time.
fn finish(file: &File, frame: &Frame) -> std::io::Result<()> {
    file.sync_all()?;
    if let Ok(ns) = u64::try_from(frame.mtime) {
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_nanos(ns))?;
    }
    Ok(())
}

/// The file in `OUT/<machine>/` here recording each file's size, time and SHA-256 as last
/// verified (JSON lines of inventory entries); never sent, never collected.
pub(crate) const VERIFIED: &str = ".collected";

/// The entries recorded last time (none when the file is missing or unreadable).
fn load_verified(local: &Path) -> Vec<Entry> {
    std::fs::File::open(local.join(VERIFIED))
        .ok()
        .and_then(|f| wire::read_lines(&mut BufReader::new(f)).ok())
        .unwrap_or_default()
}

/// Records `entries` (best effort: without it the next collect hashes every file again).
fn save_verified(local: &Path, entries: &[Entry]) {
    let mut text = Vec::new();
    for e in entries {
        let _ = wire::write_line(&mut text, e);
    }
    let target = local.join(VERIFIED);
    if let Ok((mut file, tmp)) = crate::output::create_temp(&target) {
        let written = std::io::Write::write_all(&mut file, &text).is_ok();
        if !(written && std::fs::rename(&tmp, &target).is_ok()) {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// What `local` holds: every regular file (links passed over), with size, hash and time. A
/// file whose size and time are those of its entry in `known` is not read again: its hash is
/// the one verified then (as rsync's quick check).
pub(crate) fn inventory_of(local: &Path, known: &[Entry]) -> Vec<Entry> {
    let known: HashMap<&str, &Entry> = known.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = Vec::new();
    walk(local, "", &known, &mut out);
    out
}

fn walk(dir: &Path, prefix: &str, known: &HashMap<&str, &Entry>, out: &mut Vec<Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if super::pull::not_collected(&name) || (prefix.is_empty() && name == VERIFIED) {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), known, out);
        } else if kind.is_file() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let (size, mtime) = (meta.len(), wire::mtime_ns(&meta));
            let sha256 = match known.get(rel.as_str()) {
                Some(k) if k.size == size && k.mtime == mtime => k.sha256.clone(),
                _ => match wire::sha256_file(&path) {
                    Ok(h) => h,
                    Err(_) => continue,
                },
            };
            out.push(Entry {
                path: rel,
                size,
                sha256,
                mtime,
            });
        }
    }
}
