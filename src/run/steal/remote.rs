//! Stealing with no shared `OUT` (`--steal-remote`): every host keeps the claims of its own
//! share in its own `OUT`, and the owner's disk is the arbiter of every block of its share.
//!
//! - The owner claims its own blocks there before running each, from the head, as with a
//!   shared `OUT` (a local [`Claimer`] claim: it never asks anyone).
//! - A block of owner X goes to thief T only by the same claim (link(2) + read-back) made **on
//!   X's disk** for T ([`claim_on_disk`], served there by `jobsplit remote-serve steal-claim`),
//!   naming T's machine, host and run. Then the same record is claimed on T's disk: the hand-over.
//!   A running `--steal-remote` host takes every claim naming it that appears in its own claims
//!   directory under another share, and resumes them after a crash as its own earlier claims.
//! - While its own share lasts a host never waits; once it is claimed whole, the host waits
//!   for handed blocks only while the launcher's lease ([`LEASE_FILE`], renewed by
//!   `jobsplit watch`) is fresh; a launcher gone means stealing stops and each host finishes
//!   what it holds.
//! - A machine declared dead is fenced on its own disk ([`crate::output::fence`]): no claim is made for
//!   it there or elsewhere, and its run, which reads the fence before each block, stops.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::output::claim::{ClaimRecord, Claimer, Outcome};
use crate::output::layout::{LayoutFile, MODE_REMOTE};

/// The lease file in a layout directory: a host out of work waits for handed blocks while it
/// was written less than [`LEASE`] ago (by its own clock).
pub(crate) const LEASE_FILE: &str = "lease";

/// How long a lease lasts after its last renewal.
pub(crate) const LEASE: Duration = Duration::from_secs(12);

use crate::output::fence::fenced;
use crate::output::fence::safe_name;

/// The layout directory `rel` under `out`, checked to be one (`.jobsplit/steal-<16 hex>`).
///
/// # Errors
/// `rel` is not a layout directory's name.
pub(crate) fn layout_dir(out: &Path, rel: &str) -> Result<PathBuf> {
    let ok = rel
        .strip_prefix(".jobsplit/steal-")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !ok {
        return Err(Error::remote(format!(
            "`{}` is not a stealing layout directory (.jobsplit/steal-<16 hex digits>)",
            crate::text::escape(rel)
        )));
    }
    Ok(out.join(rel))
}

/// Claims `record`'s block on this disk for `record.machine`: the layout in `dir` must be a
/// `--steal-remote` one with blocks of `block` jobs, and the machine not fenced.
///
/// # Errors
/// No such layout, another mode or block size, a fenced machine, or a claim that cannot be
/// made (one line each).
pub(crate) fn claim_on_disk(dir: &Path, block: u64, record: &ClaimRecord) -> Result<Outcome> {
    may_claim(dir, block, record)?;
    Claimer::new(dir.join("claims")).claim(record)
}

/// Checks, making nothing, that `record`'s block may be claimed on this disk: what
/// [`claim_on_disk`] refuses, it refuses.
///
/// # Errors
/// As [`claim_on_disk`], but never a failure to claim.
pub(crate) fn may_claim(dir: &Path, block: u64, record: &ClaimRecord) -> Result<()> {
    let file = dir.join(LayoutFile::FILE);
    let layout: LayoutFile = crate::output::claim::read_claim_like(&file).ok_or_else(|| {
        Error::invalid(
            crate::ErrorKind::Remote,
            Some(&file),
            None,
            "no stealing layout here: the host has not started this study with --steal-remote",
        )
    })?;
    if layout.mode != MODE_REMOTE || layout.block != block {
        return Err(Error::invalid(crate::ErrorKind::Remote,
            Some(&file),
            None,
            format!(
                "this host steals in mode {} with blocks of {}, but the claim is for mode {MODE_REMOTE} with blocks of {block}: give every host the same balance flags",
                layout.mode, layout.block
            ),
        ));
    }
    // The fences of every epoch are in the study's first layout.
    let first = crate::output::layout::first_dir(dir);
    for name in [&record.machine, &record.owner] {
        if fenced(&first, name) {
            return Err(Error::remote(format!(
                "machine `{name}` was declared dead (fenced): no block is claimed for or from it"
            )));
        }
    }
    if !safe_name(&record.owner) || !safe_name(&record.machine) {
        return Err(Error::remote(
            "a claim names no machine directory".to_owned(),
        ));
    }
    Ok(())
}

/// Renews the lease in `dir` (`open`), or ends it (`!open`): hosts then stop waiting.
///
/// # Errors
/// The file cannot be written.
pub(crate) fn lease(dir: &Path, open: bool) -> Result<()> {
    let file = dir.join(LEASE_FILE);
    if open {
        crate::output::write_atomic(&file, b"open\n")
    } else {
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&file, e)),
            _ => Ok(()),
        }
    }
}

/// Whether the lease in `dir` was renewed less than [`LEASE`] ago.
pub(crate) fn lease_open(dir: &Path) -> bool {
    std::fs::metadata(dir.join(LEASE_FILE))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < LEASE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(dir: &Path, mode: &str, block: u64) {
        std::fs::create_dir_all(dir).unwrap();
        let l = LayoutFile {
            format: crate::output::layout::FORMAT.into(),
            mode: mode.into(),
            block,
            plan_digest: "p".into(),
            work_digest: "w".into(),
            excluded: 0,
            epoch: None,
            earlier: Vec::new(),
            created_by: record("x", "x", "r0"),
        };
        std::fs::write(dir.join(LayoutFile::FILE), serde_json::to_vec(&l).unwrap()).unwrap();
    }

    fn record(owner: &str, machine: &str, run: &str) -> ClaimRecord {
        ClaimRecord {
            owner: owner.into(),
            block: 3,
            machine: machine.into(),
            host: "h".into(),
            pid: 1,
            run: run.into(),
            at: "t".into(),
            jobs: vec![6, 7],
        }
    }

    #[test]
    fn one_claim_per_block_on_the_owners_disk() {
        let t = tempfile::tempdir().unwrap();
        layout(t.path(), MODE_REMOTE, 2);
        let won = claim_on_disk(t.path(), 2, &record("x", "y", "r1")).unwrap();
        assert_eq!(won, Outcome::Won);
        let lost = claim_on_disk(t.path(), 2, &record("x", "x", "r2")).unwrap();
        assert!(matches!(lost, Outcome::Lost(Some(r)) if r.machine == "y"));
    }

    #[test]
    fn another_mode_block_size_or_a_fence_refuses() {
        let t = tempfile::tempdir().unwrap();
        layout(t.path(), "steal", 2);
        assert!(claim_on_disk(t.path(), 2, &record("x", "y", "r")).is_err());
        layout(t.path(), MODE_REMOTE, 4);
        assert!(claim_on_disk(t.path(), 2, &record("x", "y", "r")).is_err());
        layout(t.path(), MODE_REMOTE, 2);
        std::fs::create_dir_all(t.path().join(crate::output::fence::FENCED_DIR)).unwrap();
        std::fs::write(
            t.path().join(crate::output::fence::FENCED_DIR).join("y"),
            b"",
        )
        .unwrap();
        assert!(claim_on_disk(t.path(), 2, &record("x", "y", "r")).is_err());
        assert!(!t.path().join("claims/x/3").exists(), "nothing claimed");
    }

    #[test]
    fn the_lease_opens_and_closes() {
        let t = tempfile::tempdir().unwrap();
        assert!(!lease_open(t.path()));
        lease(t.path(), true).unwrap();
        assert!(lease_open(t.path()));
        lease(t.path(), false).unwrap();
        assert!(!lease_open(t.path()));
    }

    #[test]
    fn only_layout_directories() {
        assert!(layout_dir(Path::new("o"), ".jobsplit/steal-0123456789abcdef").is_ok());
        assert!(layout_dir(Path::new("o"), "../etc").is_err());
    }
}
