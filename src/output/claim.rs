//! One claim: a block taken by one atomic file-system operation that the file server decides,
//! then read back, so that a lost reply or a misleading error code (sshfs answers a lost
//! `O_EXCL` or `link` race with `EPERM` as often as `EEXIST`) can never give a block to two
//! hosts. Claims are never deleted or renamed.
//!
//! The record is written whole to a temporary file and hard-linked to its name (`link(2)`
//! refuses an existing name atomically, and a reader never sees half a record); where the file
//! system refuses hard links, the name is created with `O_CREAT|O_EXCL` and the record written
//! into it (a reader may then briefly see it empty: it is held, by someone not yet known).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a claim file says: who holds the block, and which jobs it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClaimRecord {
    /// The machine whose share the block is in.
    pub owner: String,
    /// The block's number in that share (0 is its head).
    pub block: u64,
    /// The machine that holds it (runs its jobs and writes their rows).
    pub machine: String,
    /// The host that claimed it.
    pub host: String,
    /// The claiming process.
    pub pid: u32,
    /// The random id of the claiming run (32 hex digits).
    pub run: String,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The job indices of the block, in plan order.
    pub jobs: Vec<u64>,
}

/// How a claim ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// This run holds the block.
    Won,
    /// Another run holds it (its record, if already readable).
    Lost(Option<ClaimRecord>),
}

/// The claims of one layout: `<layout dir>/claims/<owner>/<block>`.
#[derive(Debug)]
pub(crate) struct Claimer {
    dir: PathBuf,
    /// Owner directories known to exist.
    made: std::sync::Mutex<std::collections::HashSet<String>>,
    /// False once the file system refused a hard link: `O_EXCL` from then on.
    links: AtomicBool,
}

impl Claimer {
    /// Claims under `dir` (the layout's `claims` directory).
    pub(crate) fn new(dir: PathBuf) -> Claimer {
        Claimer {
            dir,
            made: std::sync::Mutex::default(),
            links: AtomicBool::new(true),
        }
    }

    /// The claims directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of block `block` of `owner`'s share.
    pub(crate) fn path(&self, owner: &str, block: u64) -> PathBuf {
        self.dir.join(owner).join(block.to_string())
    }

    /// Tries to claim `record`'s block for `record.run`: one atomic operation, then the claim
    /// is read back and its run id compared; the error code of the operation is never trusted.
    ///
    /// # Errors
    /// A claims directory that cannot be created or read.
    pub(crate) fn claim(&self, record: &ClaimRecord) -> Result<Outcome> {
        let owner_dir = self.dir.join(&record.owner);
        {
            let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
            if !made.contains(&record.owner) {
                std::fs::create_dir_all(&owner_dir).map_err(|e| Error::io(&owner_dir, e))?;
                made.insert(record.owner.clone());
            }
        }
        let target = self.path(&record.owner, record.block);
        let mut bytes = serde_json::to_vec(record).expect("serializing plain data");
        bytes.push(b'\n');
        let links = self.links.load(Ordering::Relaxed);
        if links {
            if let Some(outcome) = self.by_link(&owner_dir, &target, record, &bytes)? {
                return Ok(outcome);
            }
        }
        // O_CREAT|O_EXCL: whatever the answer, the claim read back decides.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
        {
            Ok(mut f) => {
                // The name was free, so the link before was refused for want of hard links.
                if links {
                    self.links.store(false, Ordering::Relaxed);
                }
                f.write_all(&bytes).map_err(|e| Error::io(&target, e))?;
            }
            Err(e) if !appears(&target) => return Err(Error::io(&target, e)),
            Err(_) => {}
        }
        self.read_back(&target, record)
    }

    /// The hard-link way; `None` when the file system refuses hard links here.
    fn by_link(
        &self,
        owner_dir: &Path,
        target: &Path,
        record: &ClaimRecord,
        bytes: &[u8],
    ) -> Result<Option<Outcome>> {
        let tmp = owner_dir.join(format!(".{}.{}.tmp", record.block, record.run));
        // Not fsynced, as results.csv is not by default: a claim whose content a power loss
        // of the file server took is held by nobody (never by two); merge lists its block.
        let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        let linked = std::fs::hard_link(&tmp, target);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            // Linked: the read back decides (the reply may have been for a retransmission).
            Ok(()) => self.read_back(target, record).map(Some),
            // Refused (EEXIST, or EPERM from sshfs): either way the name exists
            // and its content decides.
            _ if appears(target) => self.read_back(target, record).map(Some),
            // No name and an error: perhaps no hard links here; the caller tries O_EXCL.
            Err(_) => Ok(None),
        }
    }

    fn read_back(&self, target: &Path, record: &ClaimRecord) -> Result<Outcome> {
        let held = read_claim(target)?;
        Ok(match held {
            Some(h) if h.run == record.run => Outcome::Won,
            other => Outcome::Lost(other),
        })
    }
}

/// Whether `path` exists, looking again for a moment if not: a host that lost a race on a
/// network file system may be told so before its cached view of the directory shows the name.
fn appears(path: &Path) -> bool {
    let mut wait = std::time::Duration::from_millis(5);
    for _ in 0..7 {
        if path.exists() {
            return true;
        }
        std::thread::sleep(wait);
        wait *= 2;
    }
    path.exists()
}

/// Reads one claim file: `None` while its record is not readable yet (an `O_EXCL` claim being
/// written, or one whose writer died before writing).
///
/// # Errors
/// A file that cannot be read.
pub(crate) fn read_claim(path: &Path) -> Result<Option<ClaimRecord>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(serde_json::from_slice(&bytes).ok())
}

/// Reads a small JSON record file: `None` if it is missing, empty or not such a record.
pub(crate) fn read_claim_like<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The blocks of `owner`'s share that are claimed, by number (from the directory listing only).
pub(crate) fn claimed_blocks(claims: &Path, owner: &str) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(claims.join(owner)) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .collect()
}

/// A fresh random run id: 32 hex digits from the system's random source.
pub(crate) fn run_id() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    let got = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if got.is_err() {
        // No /dev/urandom: time and process id are unique enough for one host at a time.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = (t ^ (u128::from(std::process::id()) << 96)).to_le_bytes();
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(block: u64, run: &str) -> ClaimRecord {
        ClaimRecord {
            owner: "a".into(),
            block,
            machine: "m".into(),
            host: "h".into(),
            pid: 1,
            run: run.into(),
            at: "now".into(),
            jobs: vec![block * 2, block * 2 + 1],
        }
    }

    #[test]
    fn one_winner_per_block_among_threads() {
        let dir = tempfile::tempdir().unwrap();
        let claimer = Claimer::new(dir.path().join("claims"));
        let runs: Vec<String> = (0..8).map(|_| run_id()).collect();
        let wins: Vec<Vec<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = runs
                .iter()
                .map(|run| {
                    let claimer = &claimer;
                    s.spawn(move || {
                        (0..50)
                            .filter(|&b| claimer.claim(&record(b, run)).unwrap() == Outcome::Won)
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<u64> = wins.concat();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..50).collect::<Vec<_>>(),
            "each block won exactly once"
        );
        for b in 0..50 {
            let held = read_claim(&claimer.path("a", b)).unwrap().unwrap();
            let winner = wins.iter().position(|w| w.contains(&b)).unwrap();
            assert_eq!(held.run, runs[winner]);
        }
        let mut listed = claimed_blocks(claimer.dir(), "a");
        listed.sort_unstable();
        assert_eq!(
            listed,
            (0..50).collect::<Vec<_>>(),
            "no temporary file left"
        );
    }

    #[test]
    fn a_claim_is_never_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let claimer = Claimer::new(dir.path().join("claims"));
        assert_eq!(claimer.claim(&record(3, "one")).unwrap(), Outcome::Won);
        let lost = claimer.claim(&record(3, "two")).unwrap();
        assert_eq!(lost, Outcome::Lost(Some(record(3, "one"))));
        // The same run asking again still holds it (a retried request after a lost reply).
        assert_eq!(claimer.claim(&record(3, "one")).unwrap(), Outcome::Won);
    }

    #[test]
    fn the_exclusive_create_fallback_decides_by_reading_back() {
        let dir = tempfile::tempdir().unwrap();
        let claimer = Claimer::new(dir.path().join("claims"));
        claimer.links.store(false, Ordering::Relaxed);
        assert_eq!(claimer.claim(&record(0, "one")).unwrap(), Outcome::Won);
        assert!(matches!(
            claimer.claim(&record(0, "two")).unwrap(),
            Outcome::Lost(Some(r)) if r.run == "one"
        ));
        // An empty claim (its writer died between create and write) is held by nobody known.
        std::fs::write(claimer.path("a", 1), b"").unwrap();
        assert_eq!(
            claimer.claim(&record(1, "two")).unwrap(),
            Outcome::Lost(None)
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the order of attempts, by links or by exclusive creates: each block's first
        /// claimant wins it, every later attempt by another run loses, and the holder never
        /// changes.
        #[test]
        fn the_first_claimant_holds_a_block_for_good(
            attempts in proptest::collection::vec((0u64..6, 0usize..4), 1..40),
            links in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let claimer = Claimer::new(dir.path().join("claims"));
            claimer.links.store(links, Ordering::Relaxed);
            let mut holder: std::collections::HashMap<u64, usize> = Default::default();
            for (block, run) in attempts {
                let record = ClaimRecord {
                    owner: "o".into(),
                    block,
                    machine: format!("m{run}"),
                    host: "h".into(),
                    pid: 1,
                    run: format!("run{run}"),
                    at: "t".into(),
                    jobs: vec![block],
                };
                let first = *holder.entry(block).or_insert(run);
                let won = claimer.claim(&record).unwrap() == Outcome::Won;
                prop_assert_eq!(won, first == run);
                let held = read_claim(&claimer.path("o", block)).unwrap().unwrap();
                prop_assert_eq!(held.run, format!("run{first}"));
            }
        }
    }
}
