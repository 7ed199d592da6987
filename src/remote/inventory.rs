//! What a machine directory here holds, as a collect tells the host: every file's path, size,
//! time and SHA-256, read again only when its size or time changed since it was verified (as
//! rsync's quick check), and the record of what was verified (`.collected`).

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;

use super::uncollected::{passed_over, VERIFIED};
use super::wire::{self, Entry};

/// The entries recorded last time (none when the file is missing or unreadable).
pub(super) fn load_verified(local: &Path) -> Vec<Entry> {
    std::fs::File::open(local.join(VERIFIED))
        .ok()
        .and_then(|f| wire::read_lines(&mut BufReader::new(f)).ok())
        .unwrap_or_default()
}

/// Records `entries` (best effort: without it the next collect hashes every file again).
pub(super) fn save_verified(local: &Path, entries: &[Entry]) {
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

/// As [`inventory_of`], of the files `names` directly in `local` only.
pub(super) fn named_inventory(local: &Path, names: &[String], known: &[Entry]) -> Vec<Entry> {
    let known: HashMap<&str, &Entry> = known.iter().map(|e| (e.path.as_str(), e)).collect();
    names
        .iter()
        .filter_map(|n| entry(&local.join(n), n, &known))
        .collect()
}

/// The entry of the regular file `path` (`rel` below the root), its hash read again only when
/// its size or time is not that of its entry in `known`.
fn entry(path: &Path, rel: &str, known: &HashMap<&str, &Entry>) -> Option<Entry> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let (size, mtime) = (meta.len(), wire::mtime_ns(&meta));
    let sha256 = match known.get(rel) {
        Some(k) if k.size == size && k.mtime == mtime => k.sha256.clone(),
        _ => wire::sha256_file(path).ok()?,
    };
    Some(Entry {
        path: rel.to_owned(),
        size,
        sha256,
        mtime,
    })
}

fn walk(dir: &Path, prefix: &str, known: &HashMap<&str, &Entry>, out: &mut Vec<Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if passed_over(prefix, &name) {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), known, out);
        } else if kind.is_file() {
            out.extend(self::entry(&entry.path(), &rel, known));
        }
    }
}
