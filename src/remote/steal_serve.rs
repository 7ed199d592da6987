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
pub struct ClaimAnswer {
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
        return Err(Error::usage("remote-serve steal-claim: too few arguments"));
    };
    let block: u64 = block
        .parse()
        .map_err(|_| Error::usage("remote-serve steal-claim: a bad block size"))?;
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

/// What `steal-look` answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StealLook {
    /// The layout's mode on this disk (`steal-remote`; empty with no layout).
    pub mode: String,
    /// The blocks of the machine's own share claimed on its disk.
    pub claimed: Vec<u64>,
    /// Whether the machine is fenced there.
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
}

/// `steal-look DIR OUT LAYOUT MACHINE open|close`: renews (or ends) the lease, answers a
/// [`StealLook`].
pub(crate) fn look(args: &[String], out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, layout, machine, lease, ..] = args else {
        return Err(Error::usage("remote-serve steal-look: too few arguments"));
    };
    let layout = remote::layout_dir(&Path::new(dir).join(outdir), layout)?;
    if layout.join("claims").is_dir() {
        remote::lease(&layout, lease == "open")?;
    }
    let claims = layout.join("claims");
    let mut claimed = claimed_blocks(&claims, machine);
    claimed.sort_unstable();
    let (done, status_age_s) = status_of(&Path::new(dir).join(outdir).join(machine));
    let layout_file = layout.join(crate::output::layout::LayoutFile::FILE);
    let mode =
        crate::output::claim::read_claim_like::<crate::output::layout::LayoutFile>(&layout_file)
            .map(|l| l.mode)
            .unwrap_or_default();
    let answer = StealLook {
        mode,
        claimed,
        fenced: remote::fenced(&layout, machine),
        held: held_by(&claims, machine),
        done,
        status_age_s,
    };
    wire::write_line(out, &answer).map_err(|e| Error::usage(e.to_string()))
}

/// Jobs in the blocks whose claim in `claims` (every share's directory) names `machine`.
fn held_by(claims: &Path, machine: &str) -> u64 {
    let Ok(owners) = std::fs::read_dir(claims) else {
        return 0;
    };
    let mut jobs = 0;
    for owner in owners.flatten() {
        let Ok(blocks) = std::fs::read_dir(owner.path()) else {
            continue;
        };
        for b in blocks.flatten() {
            if let Ok(Some(c)) = read_claim(&b.path()) {
                if c.machine == machine {
                    jobs += c.jobs.len() as u64;
                }
            }
        }
    }
    jobs
}

/// The jobs ended by the run writing `mdir/status.json`, and the file's age.
fn status_of(mdir: &Path) -> (u64, Option<f64>) {
    let file = mdir.join(StatusFile::FILE);
    let Some(status) = read_claim_like::<StatusFile>(&file) else {
        return (0, None);
    };
    let age = crate::output::parse_rfc3339(&status.updated_at)
        .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
        .map(|d| d.as_secs_f64());
    (status.progress.done, age.or(Some(0.0)))
}
