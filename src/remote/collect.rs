//! The laptop side of `jobsplit collect`: tell a host what `OUT/<machine>/` holds here, apply
//! the frames it answers with. Every file is checked against the SHA-256 the host computed
//! before it takes its place; nothing is written through a symbolic link (a link below
//! `OUT/<machine>/` is refused, a whole file is renamed over its name); the time of the host's
//! copy is kept, so a copy changed here since is newer and kept.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::hashing::Tee;
use super::inventory::{inventory_of, load_verified, named_inventory, save_verified};
use super::pull::Select;
use super::quote::quote;
use super::ship::{Host, LaunchError};
use super::ssh::{Failure, Ssh};
use super::wire::{self, Entry, Frame, Line, Op};

/// What one collect of one host did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collected {
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
pub(crate) fn collect(
    ssh: &Ssh,
    host: &Host,
    out: &str,
    local: &Path,
) -> Result<Collected, LaunchError> {
    collect_below(ssh, host, &[out, &host.machine], &Select::All, local)
}

/// Brings only the files `names` of `host`'s `OUT/<machine>/` (those it has) into `local`, as
/// [`collect`] brings them (verified, appended when the copy here is a prefix, the host's
/// time kept): what `status`, `report` need of a launched run, without pulling every file.
///
/// # Errors
/// As [`collect`].
pub(crate) fn collect_only(
    ssh: &Ssh,
    host: &Host,
    out: &str,
    local: &Path,
    names: &[&str],
) -> Result<Collected, LaunchError> {
    let only = Select::Only(names.iter().map(|n| (*n).to_owned()).collect());
    collect_below(ssh, host, &[out, &host.machine], &only, local)
}

/// Brings the claims of `host`'s own share, made on its disk (`OUT/.jobsplit/steal-*/claims/
/// <machine>/`, with each `layout.json`), into `local_out/.jobsplit/`: what proves the rows of
/// a `--steal-remote` study (docs/remote.md).
///
/// # Errors
/// As [`collect`].
pub(crate) fn collect_claims(
    ssh: &Ssh,
    host: &Host,
    out: &str,
    local_out: &Path,
) -> Result<Collected, LaunchError> {
    let root = crate::output::layout::ROOT;
    let local = local_out.join(root);
    let claims = Select::ClaimsOf(host.machine.clone());
    collect_below(ssh, host, &[out, root], &claims, &local)
}

/// Pulls the directory `parts` (joined, below the study directory) of `host` into `local`,
/// the files `select` names.
fn collect_below(
    ssh: &Ssh,
    host: &Host,
    parts: &[&str],
    select: &Select,
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
    let verified = load_verified(local);
    // With named files, only they are looked at and told; the record keeps every other's.
    let inventory_here = |known: &[Entry]| match select {
        Select::Only(names) => named_inventory(local, names, known),
        _ => inventory_of(local, known),
    };
    let held = inventory_here(&verified);
    let mut inventory = Vec::new();
    for e in &held {
        let _ = wire::write_line(&mut inventory, e);
    }
    let dir = host.dir.strip_prefix("~/").unwrap_or(&host.dir);
    let mut mdir = Path::new(if dir.is_empty() { "." } else { dir }).to_path_buf();
    for p in parts {
        mdir.push(p);
    }
    let filter: String = select
        .to_args()
        .iter()
        .map(|a| format!(" {}", quote(a)))
        .collect();
    let script = format!(
        "B={}/{}/jobsplit-$(uname -m) && exec \"$B\" remote-serve pull {}{filter}",
        host.dir_word(),
        quote(super::state_dir::STATE_DIR),
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
    let now = inventory_here(&held);
    match select {
        Select::Only(names) => {
            let mut kept: Vec<Entry> = verified
                .into_iter()
                .filter(|e| !names.contains(&e.path))
                .collect();
            kept.extend(now.into_iter().filter(|e| names.contains(&e.path)));
            save_verified(local, &kept);
        }
        _ => save_verified(local, &now),
    }
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
