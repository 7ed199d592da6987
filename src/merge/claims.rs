//! Merge's proof of a stealing study: every row is covered by a claim naming the machine that
//! wrote it (so no job has rows from two machines), every manifest agrees with the layout, and
//! what was claimed but not finished is listed. Anything else is refused, never merged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::discover::MachineDir;
use super::report::{BalanceSummary, FencedMachine, StealCredit, Unfinished};
use crate::error::{Error, Result};
use crate::model::Status;
use crate::output::claim::{read_claim, ClaimRecord};
use crate::output::layout::LayoutFile;
use crate::output::results::ResultsReader;

/// The claims of one plan, read.
struct PlanClaims {
    /// The plan's digest.
    plan: String,
    /// job index -> position in `records`.
    of_job: HashMap<u64, usize>,
    records: Vec<(String, ClaimRecord)>,
    /// Claim files with no record yet.
    empty: Vec<String>,
}

/// What [`prove`] found, to finish once the merged table knows which jobs are ok.
pub(super) struct Proof {
    plans: Vec<PlanClaims>,
    credit: BTreeMap<String, (u64, u64)>,
    empty: Vec<String>,
    /// The machines among the inputs.
    inputs: HashSet<String>,
    /// Machines declared dead (fenced) in the layouts read.
    fenced: std::collections::BTreeSet<String>,
}

#[path = "claims_layouts.rs"]
mod layouts;
use layouts::{chain, check_group, find_layout, read_layout};

/// The claims of every epoch of a stealing study, by plan digest D_e, with their directory.
type EpochClaims = BTreeMap<String, (PathBuf, PlanClaims)>;

/// Checks the stealing inputs among `dirs`: `None` when there are none. A study that grew is
/// balanced epoch by epoch: each epoch's claims (under its own plan digest) prove the rows of
/// its jobs.
///
/// # Errors
/// A stealing and a static run of one plan, manifests disagreeing with their layout or each
/// other, a missing layout, a row no claim covers or covered by another machine's claim.
pub(super) fn prove(dirs: &[MachineDir]) -> Result<Option<Proof>> {
    let mut by_plan: BTreeMap<&str, Vec<&MachineDir>> = BTreeMap::new();
    for d in dirs {
        by_plan.entry(&d.manifest.plan_digest).or_default().push(d);
    }
    let mut proof = Proof {
        plans: Vec::new(),
        credit: BTreeMap::new(),
        empty: Vec::new(),
        inputs: dirs.iter().map(|d| d.manifest.machine.clone()).collect(),
        fenced: Default::default(),
    };
    let mut epochs = EpochClaims::new();
    for (plan, group) in by_plan {
        let Some(first) = group.iter().find_map(|d| d.manifest.balance.as_ref()) else {
            continue;
        };
        check_group(plan, &group, first)?;
        let layout_dir = find_layout(&group, &first.layout)?;
        let layout = read_layout(&layout_dir)?;
        if layout.plan_digest != plan || layout.block != first.block {
            return Err(Error::damaged(
                Some(&layout_dir.join(LayoutFile::FILE)),
                None,
                format!(
                    "records plan {} with blocks of {}, but the manifests say plan {} with blocks of {}: restore the layout or merge the right outputs",
                    crate::text::short(&layout.plan_digest),
                    layout.block,
                    crate::text::short(plan),
                    first.block
                ),
            ));
        }
        for (digest, _, _) in chain(&group[0].manifest) {
            if epochs.contains_key(digest) {
                continue;
            }
            let rel = crate::output::layout::dir_of(digest);
            let dir = find_layout(&group, &rel.to_string_lossy())?;
            let layout = read_layout(&dir)?;
            if layout.plan_digest != digest {
                return Err(Error::damaged(
                    Some(&dir.join(LayoutFile::FILE)),
                    None,
                    format!(
                        "records plan {}, but the manifests say an epoch of plan {}: restore the layout or merge the right outputs",
                        crate::text::short(&layout.plan_digest),
                        crate::text::short(digest)
                    ),
                ));
            }
            proof.fenced.extend(crate::output::fence::fences(&dir));
            let mut claims = read_claims(&dir.join("claims"))?;
            claims.plan = digest.to_owned();
            epochs.insert(digest.to_owned(), (dir, claims));
        }
    }
    if epochs.is_empty() {
        return Ok(None);
    }
    for d in dirs.iter().filter(|d| d.manifest.balance.is_some()) {
        check_rows(d, &mut epochs, &mut proof.credit)?;
    }
    for (_, (_, mut claims)) in epochs {
        proof.empty.append(&mut claims.empty);
        proof.plans.push(claims);
    }
    Ok(Some(proof))
}

fn read_claims(dir: &Path) -> Result<PlanClaims> {
    let mut claims = PlanClaims {
        plan: String::new(),
        of_job: HashMap::new(),
        records: Vec::new(),
        empty: Vec::new(),
    };
    let mut files = Vec::new();
    for owner in std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .flatten()
    {
        let Ok(entries) = std::fs::read_dir(owner.path()) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.parse::<u64>().is_ok() {
                files.push(e.path());
            }
        }
    }
    files.sort();
    for path in files {
        let shown = path
            .strip_prefix(dir.parent().unwrap_or(dir))
            .unwrap_or(&path)
            .display()
            .to_string();
        let Some(record) = read_claim(&path)? else {
            claims.empty.push(path.display().to_string());
            continue;
        };
        let at = claims.records.len();
        for &i in &record.jobs {
            if let Some(other) = claims.of_job.insert(i, at) {
                return Err(Error::damaged(
                    Some(&path),
                    None,
                    format!(
                        "claims job {i}, which {} claims too: the claims directory was tampered with; restore it",
                        claims.records[other].0
                    ),
                ));
            }
        }
        claims.records.push((shown, record));
    }
    Ok(claims)
}

/// Every row of `d` must be covered by a claim naming `d`'s machine, in the claims of the
/// epoch its job is in.
///
/// Hosts may still be running: a host claims a block before it writes any of its rows, so a
/// row not covered by the claims read before it is looked up again in the claims read after
/// it (read again once for that row) before it is refused.
fn check_rows(
    d: &MachineDir,
    epochs: &mut EpochClaims,
    credit: &mut BTreeMap<String, (u64, u64)>,
) -> Result<()> {
    let machine = &d.manifest.machine;
    let path = d.dir.join("results.csv");
    if !path.exists() {
        return Ok(());
    }
    let chain: Vec<(String, u64, u64)> = chain(&d.manifest)
        .into_iter()
        .map(|(p, first, jobs)| (p.to_owned(), first, jobs))
        .collect();
    let mut reader = ResultsReader::open(&path)?;
    let mut ok: HashSet<u64> = HashSet::new();
    let (mut own, mut stolen) = (0, 0);
    while let Some(row) = reader.next_row()? {
        let epoch = chain
            .iter()
            .find(|(_, first, jobs)| (*first..first + jobs).contains(&row.index))
            .unwrap_or(&chain[chain.len() - 1]);
        let (layout_dir, claims) = epochs.get_mut(&epoch.0).expect("every epoch's claims read");
        let proved = |claims: &PlanClaims| {
            claims
                .of_job
                .get(&row.index)
                .is_some_and(|&c| claims.records[c].1.machine == *machine)
        };
        if !proved(claims) {
            let plan = std::mem::take(&mut claims.plan);
            *claims = read_claims(&layout_dir.join("claims"))?;
            claims.plan = plan;
        }
        let covered = claims.of_job.get(&row.index).map(|&c| &claims.records[c]);
        let why = match covered {
            None => Some("no claim covers it".to_owned()),
            Some((file, c)) if c.machine != *machine => {
                Some(format!("its claim {file} names machine `{}`", c.machine))
            }
            Some(_) if row.machine() != machine.as_bytes() => {
                Some("the row names another machine".to_owned())
            }
            Some(_) => None,
        };
        if let Some(why) = why {
            return Err(Error::damaged(
                Some(&path),
                Some(row.line),
                format!(
                    "job {} was run by machine `{machine}` in a stealing study, but {why} (claims in {}): a row the claims do not prove is never merged: restore the claims directory, or merge without this directory",
                    row.index,
                    layout_dir.display()
                ),
            ));
        }
        if row.status == Status::Ok && ok.insert(row.index) {
            let (_, c) = covered.expect("checked above");
            if c.owner == *machine {
                own += 1;
            } else {
                stolen += 1;
            }
        }
    }
    let entry = credit.entry(machine.clone()).or_default();
    entry.0 += own;
    entry.1 += stolen;
    Ok(())
}

impl Proof {
    /// The balance summary, given the jobs with no ok row in the merged table and, per
    /// machine, the jobs with more than one ok row one of which is its; also warnings.
    pub(super) fn finish(
        self,
        missing: &[u64],
        twice_on: &BTreeMap<String, u64>,
    ) -> (BalanceSummary, Vec<String>) {
        let missing: HashSet<u64> = missing.iter().copied().collect();
        let mut summary = BalanceSummary::default();
        let mut warnings = Vec::new();
        for (name, (own, stolen)) in self.credit {
            summary.machines.push(StealCredit { name, own, stolen });
        }
        for plan in &self.plans {
            for (file, c) in &plan.records {
                let jobs: Vec<u64> = c
                    .jobs
                    .iter()
                    .copied()
                    .filter(|i| missing.contains(i))
                    .collect();
                if !jobs.is_empty() {
                    summary.claimed_unfinished.push(Unfinished {
                        claim: file.clone(),
                        machine: c.machine.clone(),
                        host: c.host.clone(),
                        jobs,
                    });
                }
            }
        }
        summary.claims = self
            .plans
            .iter()
            .map(|p| (p.plan.clone(), p.records.len() as u64))
            .collect();
        warnings.extend(unfinished_warnings(
            &summary.claimed_unfinished,
            &self.inputs,
        ));
        for m in &self.fenced {
            let ran_twice = twice_on.get(m).copied().unwrap_or(0);
            summary.fenced.push(FencedMachine {
                machine: m.clone(),
                ran_twice,
            });
            if ran_twice > 0 {
                warnings.push(format!(
                    "machine {} was declared dead (fenced) and ran on: {ran_twice} jobs ran both there and elsewhere (the rescue); each is kept once (listed below)",
                    crate::text::escape(m)
                ));
            }
        }
        for e in self.empty {
            warnings.push(format!(
                "{e}: a claim with no record (its host died claiming it): its jobs are missing; a rescue runs them"
            ));
        }
        (summary, warnings)
    }
}

/// The warnings on jobs claimed but not finished: those held by machines among the inputs
/// (their hosts died, froze or were cut off), and those held by machines that are not.
fn unfinished_warnings(claimed_unfinished: &[Unfinished], inputs: &HashSet<String>) -> Vec<String> {
    let mut warnings = Vec::new();
    let held: u64 = claimed_unfinished.iter().map(|u| u.jobs.len() as u64).sum();
    if held > 0 {
        let mut per: BTreeMap<&str, u64> = BTreeMap::new();
        for u in claimed_unfinished {
            *per.entry(u.machine.as_str()).or_default() += u.jobs.len() as u64;
        }
        let (given, absent): (Vec<_>, Vec<_>) = per.iter().partition(|(m, _)| inputs.contains(**m));
        let list = |v: &[(&&str, &u64)]| {
            v.iter()
                .map(|(m, n)| format!("{} {n}", crate::text::escape(m)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !given.is_empty() {
            warnings.push(format!(
                "{} jobs were claimed but not finished ({}): their hosts died, froze or were cut off; they are in missing.txt, and `jobsplit run --steal --rescue` runs them (only once those hosts are gone for good: a frozen host that resumes finishes them)",
                given.iter().map(|(_, n)| **n).sum::<u64>(),
                list(&given)
            ));
        }
        if !absent.is_empty() {
            warnings.push(format!(
                "{} jobs are held by machines whose output is not among the inputs ({}): pass their directories too (or the shared OUT)",
                absent.iter().map(|(_, n)| **n).sum::<u64>(),
                list(&absent)
            ));
        }
    }
    warnings
}
