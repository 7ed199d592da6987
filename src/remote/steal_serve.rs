//! The host side of stealing with no shared `OUT` (`--steal-remote`, docs/remote.md): a claim
//! made on this host's own disk for a named machine (`steal-claim`), and the launcher's view of
//! this host's share with its lease renewed or ended (`steal-look`).

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::wire;
use crate::error::{Error, Result};
use crate::output::claim::{claimed_blocks, read_claim, read_claim_like, ClaimRecord, Outcome};
use crate::output::manifest::StatusFile;
use crate::run::steal::remote;

/// The answer of `steal-claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClaimAnswer {
    /// True when the claim on this disk names the machine asked for (this request's run).
    pub won: bool,
    /// Who holds the block otherwise, if readable.
    pub holder: Option<ClaimRecord>,
}

/// `steal-claim DIR OUT LAYOUT BLOCK`, [`ClaimRecord`] lines on stdin (one or more, several
/// blocks claimed in one call): each claim made in `DIR/OUT/LAYOUT/claims/` (link(2) +
/// read-back), in order, answered by a [`ClaimAnswer`] line each. A claim refused (a fenced
/// machine, another layout) refuses the whole call before any claim is made.
pub(crate) fn claim(args: &[String], input: &mut dyn BufRead, out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, layout, block, ..] = args else {
        return Err(Error::remote("remote-serve steal-claim: too few arguments"));
    };
    let block: u64 = block
        .parse()
        .map_err(|_| Error::remote("remote-serve steal-claim: a bad block size"))?;
    let records: Vec<ClaimRecord> = wire::read_lines(input)
        .map_err(|e| Error::usage(format!("remote-serve steal-claim: {e}")))?;
    if records.is_empty() {
        return Err(Error::usage("remote-serve steal-claim: no claim given"));
    }
    let layout = remote::layout_dir(&Path::new(dir).join(outdir), layout)?;
    // All or none refused: a refusal never leaves some of the call's claims made unanswered.
    for record in &records {
        remote::may_claim(&layout, block, record)?;
    }
    for record in &records {
        let answer = match remote::claim_on_disk(&layout, block, record)? {
            Outcome::Won => ClaimAnswer {
                won: true,
                holder: None,
            },
            Outcome::Lost(holder) => ClaimAnswer { won: false, holder },
        };
        wire::write_line(out, &answer).map_err(|e| Error::usage(e.to_string()))?;
    }
    Ok(())
}

/// A block of the looked-at machine's share claimed for another machine: (block, holder).
pub(crate) type Held = (u64, String);

/// A block of another share claimed for the looked-at machine: (owner, block).
pub(crate) type Handed = (String, u64);

/// What `steal-look` answers, for one layout (one epoch of the study).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StealLook {
    /// The layout's mode on this disk (`steal-remote`; empty with no layout: the host has not
    /// seen this epoch).
    pub mode: String,
    /// The layout's jobs per block (0 with no layout).
    #[serde(default)]
    pub block: u64,
    /// The blocks of the machine's own share claimed on its disk.
    pub claimed: Vec<u64>,
    /// Whether the machine is fenced there (the fences of every epoch are in the first's).
    pub fenced: bool,
    /// Jobs of the blocks (of any share) whose claim on this disk names the machine: what it
    /// holds, handed blocks not yet taken up included.
    #[serde(default)]
    pub held: u64,
    /// Jobs the machine's run had ended by its status.json.
    #[serde(default)]
    pub done: u64,
    /// That status.json's age in seconds by this host's clock (`None` with no status.json).
    #[serde(default)]
    pub status_age_s: Option<f64>,
    /// Blocks of the machine's own share claimed there for another machine: (block, thief).
    #[serde(default)]
    pub stolen: Vec<Held>,
    /// Blocks of other shares claimed there for this machine (handed over): (owner, block).
    #[serde(default)]
    pub handed: Vec<Handed>,
    /// Every machine fenced there (a peer learns from it that it was declared dead).
    #[serde(default)]
    pub fences: Vec<String>,
    /// The machine's jobs per second, by its status.json when it runs and was refreshed
    /// lately (by this host's clock), as a thief on a shared `OUT` reads it.
    #[serde(default)]
    pub rate: Option<f64>,
    /// The machine's worker threads, by its manifest (0: not known).
    #[serde(default)]
    pub threads: u64,
}

/// `steal-look DIR OUT LAYOUT MACHINE open|close|keep [LAYOUT...]`: renews (or ends, or leaves
/// as it is: a peer's look, docs/remote.md) the lease of the study (in its first epoch's
/// layout), answers a [`StealLook`] line for each layout named, in order (a study that grew:
/// one per epoch).
pub(crate) fn look(args: &[String], out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, layout, machine, lease, more @ ..] = args else {
        return Err(Error::remote("remote-serve steal-look: too few arguments"));
    };
    let root = Path::new(dir).join(outdir);
    let first = remote::layout_dir(&root, layout)?;
    let study = crate::output::layout::first_dir(&first);
    if study.join("claims").is_dir() && lease != "keep" {
        remote::lease(&study, lease == "open")?;
    }
    let mdir = root.join(machine);
    let (done, status_age_s, rate) = status_of(&mdir);
    let threads = read_claim_like::<crate::output::manifest::Manifest>(
        &mdir.join(crate::output::manifest::Manifest::FILE),
    )
    .map_or(0, |m| m.threads);
    // What holds for the machine in every epoch.
    let base = StealLook {
        done,
        status_age_s,
        rate,
        threads,
        fenced: crate::output::fence::fenced(&study, machine),
        fences: crate::output::fence::fences(&study),
        ..StealLook::default()
    };
    for rel in std::iter::once(layout).chain(more) {
        let layout = remote::layout_dir(&root, rel)?;
        let answer = look_at(&layout, machine, base.clone());
        wire::write_line(out, &answer).map_err(|e| Error::remote(e.to_string()))?;
    }
    Ok(())
}

/// What the layout in `layout` says of `machine`'s share and holdings, beside `base`.
fn look_at(layout: &Path, machine: &str, base: StealLook) -> StealLook {
    let claims = layout.join("claims");
    let mut claimed = claimed_blocks(&claims, machine);
    claimed.sort_unstable();
    let file = layout.join(crate::output::layout::LayoutFile::FILE);
    let (mode, block) = read_claim_like::<crate::output::layout::LayoutFile>(&file)
        .map(|l| (l.mode, l.block))
        .unwrap_or_default();
    let Holdings {
        held,
        stolen,
        handed,
    } = holdings(&claims, machine);
    StealLook {
        mode,
        block,
        claimed,
        held,
        stolen,
        handed,
        ..base
    }
}

/// The jobs ended by the run writing `mdir/status.json`, the file's age, and the run's rate
/// if it runs and the file is fresh.
fn status_of(mdir: &Path) -> (u64, Option<f64>, Option<f64>) {
    let file = mdir.join(StatusFile::FILE);
    let Some(status) = read_claim_like::<StatusFile>(&file) else {
        return (0, None, None);
    };
    let now = std::time::SystemTime::now();
    let age = crate::output::parse_rfc3339(&status.updated_at)
        .and_then(|t| now.duration_since(t).ok())
        .map(|d| d.as_secs_f64());
    let rate = crate::run::steal::victim::live_rate(
        status.state == crate::model::RunState::Running,
        &status.updated_at,
        status.rate_per_s,
        now,
    );
    (status.progress.done, age.or(Some(0.0)), rate)
}

/// What `machine`'s disk says about who holds what, read in one pass over the claims
/// directory `claims`: the jobs of the blocks (of any share) whose claim names `machine`, the
/// blocks of its own share claimed for another machine, and the blocks of other shares claimed
/// for it. A record being written is left for the next look.
struct Holdings {
    held: u64,
    stolen: Vec<Held>,
    handed: Vec<Handed>,
}

fn holdings(claims: &Path, machine: &str) -> Holdings {
    let mut h = Holdings {
        held: 0,
        stolen: Vec::new(),
        handed: Vec::new(),
    };
    let mut owners: Vec<String> = std::fs::read_dir(claims)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    owners.sort();
    for owner in owners {
        let mut blocks = claimed_blocks(claims, &owner);
        blocks.sort_unstable();
        for b in blocks {
            let Ok(Some(c)) = read_claim(&claims.join(&owner).join(b.to_string())) else {
                continue;
            };
            if c.machine == machine {
                h.held += c.jobs.len() as u64;
                if owner != machine {
                    h.handed.push((owner.clone(), b));
                }
            } else if owner == machine {
                h.stolen.push((b, c.machine));
            }
        }
    }
    h
}

/// `steal-fence DIR OUT LAYOUT MACHINE...`: fences every MACHINE in the layout directory
/// (made if missing) and answers the machines fenced there (a JSON list).
pub(crate) fn fence(args: &[String], out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, layout, names @ ..] = args else {
        return Err(Error::usage("remote-serve steal-fence: too few arguments"));
    };
    let layout = remote::layout_dir(&Path::new(dir).join(outdir), layout)?;
    for name in names {
        crate::output::fence::fence(&layout, name)?;
    }
    wire::write_line(out, &crate::output::fence::fences(&layout))
        .map_err(|e| Error::usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::layout::{LayoutFile, FORMAT, MODE_REMOTE};

    const REL: &str = ".jobsplit/steal-0123456789abcdef";

    fn record(block: u64, machine: &str) -> ClaimRecord {
        ClaimRecord {
            owner: "x".into(),
            block,
            machine: machine.into(),
            host: "h".into(),
            pid: 0,
            run: format!("run-{machine}"),
            at: "t".into(),
            jobs: vec![block * 2, block * 2 + 1],
        }
    }

    /// A `--steal-remote` layout of blocks of 2 under `dir/out`; the layout directory.
    fn study(dir: &Path) -> std::path::PathBuf {
        let layout = dir.join("out").join(REL);
        std::fs::create_dir_all(&layout).unwrap();
        let l = LayoutFile {
            format: FORMAT.into(),
            mode: MODE_REMOTE.into(),
            block: 2,
            plan_digest: "p".into(),
            work_digest: "w".into(),
            excluded: 0,
            epoch: None,
            earlier: Vec::new(),
            created_by: record(0, "x"),
        };
        std::fs::write(
            layout.join(LayoutFile::FILE),
            serde_json::to_vec(&l).unwrap(),
        )
        .unwrap();
        layout
    }

    fn call(dir: &Path, records: &[ClaimRecord]) -> Result<Vec<ClaimAnswer>> {
        let mut input = Vec::new();
        for r in records {
            wire::write_line(&mut input, r).unwrap();
        }
        let args = [dir.to_str().unwrap(), "out", REL, "2"].map(str::to_owned);
        let mut out = Vec::new();
        claim(&args, &mut input.as_slice(), &mut out)?;
        Ok(wire::read_lines(&mut out.as_slice()).unwrap())
    }

    #[test]
    fn several_claims_in_one_call_are_answered_in_order() {
        let t = tempfile::tempdir().unwrap();
        study(t.path());
        let first = call(t.path(), &[record(5, "y"), record(4, "z")]).unwrap();
        assert_eq!(
            first.iter().map(|a| a.won).collect::<Vec<_>>(),
            [true, true]
        );
        let again = call(t.path(), &[record(3, "z"), record(5, "z")]).unwrap();
        assert!(again[0].won);
        assert!(!again[1].won);
        assert_eq!(again[1].holder.as_ref().unwrap().machine, "y");
    }

    #[test]
    fn one_refused_claim_refuses_the_call_before_any_is_made() {
        let t = tempfile::tempdir().unwrap();
        let layout = study(t.path());
        std::fs::create_dir_all(layout.join(crate::output::fence::FENCED_DIR)).unwrap();
        std::fs::write(
            layout.join(crate::output::fence::FENCED_DIR).join("dead"),
            b"",
        )
        .unwrap();
        assert!(call(t.path(), &[record(5, "y"), record(4, "dead")]).is_err());
        assert!(!layout.join("claims/x/5").exists(), "nothing claimed");
    }

    #[test]
    fn a_look_counts_the_jobs_a_machine_holds_on_this_disk() {
        let t = tempfile::tempdir().unwrap();
        let layout = study(t.path());
        call(t.path(), &[record(5, "y"), record(4, "y"), record(3, "z")]).unwrap();
        let args = [t.path().to_str().unwrap(), "out", REL, "y", "open"].map(str::to_owned);
        let mut out = Vec::new();
        look(&args, &mut out).unwrap();
        let seen: StealLook = serde_json::from_slice(&out).unwrap();
        assert_eq!((seen.held, seen.done, seen.status_age_s), (4, 0, None));
        assert!(remote::lease_open(&layout));
    }

    #[test]
    fn a_peers_look_keeps_the_lease_and_says_who_is_fenced() {
        let t = tempfile::tempdir().unwrap();
        let layout = study(t.path());
        call(t.path(), &[record(5, "y")]).unwrap();
        crate::output::fence::fence(&layout, "z").unwrap();
        let look_with = |lease: &str| {
            let args = [t.path().to_str().unwrap(), "out", REL, "x", lease].map(str::to_owned);
            let mut out = Vec::new();
            look(&args, &mut out).unwrap();
            serde_json::from_slice::<StealLook>(&out).unwrap()
        };
        let seen = look_with("keep");
        assert!(!remote::lease_open(&layout), "a peer's look opens no lease");
        assert_eq!(seen.fences, ["z"]);
        assert_eq!(seen.claimed, [5]);
        assert_eq!((seen.rate, seen.threads), (None, 0), "no run there yet");
        look_with("open");
        look_with("keep");
        assert!(remote::lease_open(&layout), "nor ends one");
    }
}
