//! The host side of stealing with no shared `OUT` (`--steal-remote`, docs/remote.md): a claim
//! made on this host's own disk for a named machine (`steal-claim`), and the launcher's view of
//! this host's share with its lease renewed or ended (`steal-look`).

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::wire;
use crate::error::{Error, Result};
use crate::output::claim::{claimed_blocks, ClaimRecord, Outcome};
use crate::run::steal::remote;

/// The answer of `steal-claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimAnswer {
    /// True when the claim on this disk names the machine asked for (this request's run).
    pub won: bool,
    /// Who holds the block otherwise, if readable.
    pub holder: Option<ClaimRecord>,
}

/// `steal-claim DIR OUT LAYOUT BLOCK`, a [`ClaimRecord`] on stdin: the claim made in
/// `DIR/OUT/LAYOUT/claims/` (link(2) + read-back), answered as a [`ClaimAnswer`].
pub(crate) fn claim(args: &[String], input: &mut dyn BufRead, out: &mut dyn Write) -> Result<()> {
    let [dir, outdir, layout, block, ..] = args else {
        return Err(Error::usage("remote-serve steal-claim: too few arguments"));
    };
    let block: u64 = block
        .parse()
        .map_err(|_| Error::usage("remote-serve steal-claim: a bad block size"))?;
    let records: Vec<ClaimRecord> = wire::read_lines(input)
        .map_err(|e| Error::usage(format!("remote-serve steal-claim: {e}")))?;
    let [record] = records.as_slice() else {
        return Err(Error::usage("remote-serve steal-claim: one claim expected"));
    };
    let layout = remote::layout_dir(&Path::new(dir).join(outdir), layout)?;
    let answer = match remote::claim_on_disk(&layout, block, record)? {
        Outcome::Won => ClaimAnswer {
            won: true,
            holder: None,
        },
        Outcome::Lost(holder) => ClaimAnswer { won: false, holder },
    };
    wire::write_line(out, &answer).map_err(|e| Error::usage(e.to_string()))
}

/// A block of the looked-at machine's share claimed for another machine: (block, holder).
pub type Held = (u64, String);

/// A block of another share claimed for the looked-at machine: (owner, block).
pub type Handed = (String, u64);

/// What `steal-look` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StealLook {
    /// The layout's mode on this disk (`steal-remote`; empty with no layout).
    pub mode: String,
    /// The blocks of the machine's own share claimed on its disk.
    pub claimed: Vec<u64>,
    /// Whether the machine is fenced there.
    pub fenced: bool,
    /// Blocks of the machine's own share claimed there for another machine: (block, thief).
    #[serde(default)]
    pub stolen: Vec<Held>,
    /// Blocks of other shares claimed there for this machine (handed over): (owner, block).
    #[serde(default)]
    pub handed: Vec<Handed>,
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
    let mut claimed = claimed_blocks(&layout.join("claims"), machine);
    claimed.sort_unstable();
    let layout_file = layout.join(crate::output::layout::LayoutFile::FILE);
    let mode =
        crate::output::claim::read_claim_like::<crate::output::layout::LayoutFile>(&layout_file)
            .map(|l| l.mode)
            .unwrap_or_default();
    let (stolen, handed) = holders(&layout.join("claims"), machine, &claimed);
    let answer = StealLook {
        mode,
        claimed,
        fenced: crate::output::fence::fenced(&layout, machine),
        stolen,
        handed,
    };
    wire::write_line(out, &answer).map_err(|e| Error::usage(e.to_string()))
}

/// Who holds what in the claims directory `claims` of `machine`'s disk: the blocks of its own
/// share (`claimed`) whose claim names another machine, and the blocks of other shares whose
/// claim names it. A record being written is left for the next look.
fn holders(claims: &Path, machine: &str, claimed: &[u64]) -> (Vec<Held>, Vec<Handed>) {
    let holder = |owner: &str, b: u64| {
        crate::output::claim::read_claim(&claims.join(owner).join(b.to_string()))
            .ok()
            .flatten()
            .map(|c| c.machine)
    };
    let stolen = claimed
        .iter()
        .filter_map(|&b| Some((b, holder(machine, b)?)))
        .filter(|(_, m)| m != machine)
        .collect();
    let mut handed = Vec::new();
    let mut owners: Vec<String> = std::fs::read_dir(claims)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|o| o != machine)
        .collect();
    owners.sort();
    for owner in owners {
        let mut blocks = claimed_blocks(claims, &owner);
        blocks.sort_unstable();
        for b in blocks {
            if holder(&owner, b).is_some_and(|m| m == machine) {
                handed.push((owner.clone(), b));
            }
        }
    }
    (stolen, handed)
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
