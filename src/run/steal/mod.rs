//! Dynamic balancing with no server: work stealing over the shared output directory.
//!
//! Every host computes the same split-v1 plan; each share is cut into [blocks] of
//! consecutive jobs; a host [claims](claim) a block with one atomic file-system operation
//! before running it, its own share from the head, then other shares from the tail
//! ([victim]). The first host records the [layout] (mode, block size, plan) and every other
//! host agrees with it or is refused. A study that grew is balanced epoch by epoch: each epoch
//! has its own layout and claims, under its own plan digest. See docs/balance.md.

pub(crate) mod blocks;
pub(crate) mod handout;
pub(crate) mod name;
pub(crate) mod peers;
pub(crate) mod remote;
pub(crate) mod source;
pub(crate) mod victim;

pub(crate) use crate::model::Balance;

/// The settings of a stealing run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StealOptions {
    /// Jobs per block (`None`: from the plan, see [`blocks::default_blocks`] and
    /// [`blocks::blocks_in`]).
    pub block: Option<u64>,
    /// Run as a helper called this, a pure thief not in the machines file.
    pub helper: Option<String>,
    /// No shared `OUT` (`--steal-remote`): claims of other shares are made on their owners'
    /// disks (by `jobsplit watch`, over ssh) and handed to this run; see [`remote`].
    pub remote: bool,
    /// `--follow` with `--steal-remote`: a run waiting for handed blocks ends its round when
    /// the job list grows, to run its share of the new epoch.
    pub follow: bool,
    /// `--steal-mesh`: starts the peers whose disks this run steals from by itself and learns
    /// its fences from; see [`peers`].
    pub(crate) mesh: Option<peers::StartPeers>,
}

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::output::balance::{BalanceInfo, StealStatus};
use crate::output::claim::{self, ClaimRecord};
use crate::output::layout;
use crate::output::results::Existing;
use crate::plan::Plan;
use name::NameRecord;
use source::{StealSource, StealStats};

/// A stealing run of one machine (or helper), resolved.
#[derive(Debug)]
pub(crate) struct Stealing {
    /// Jobs per block, of each epoch.
    blocks: Vec<u64>,
    /// The shared output directory.
    out: PathBuf,
    /// This machine's share (`None` for a helper).
    pub(crate) me: Option<usize>,
    /// Who claims: machine, host, pid and run id.
    pub(crate) who: ClaimRecord,
    /// Each epoch's layout directory, relative to `out`.
    layouts: Vec<PathBuf>,
    /// `--steal-remote`.
    remote: bool,
    /// `--follow`.
    follow: bool,
    /// `--steal-mesh`: starts the peers.
    mesh: Option<peers::StartPeers>,
}

/// The shared output directory of a machine directory `dir` (`OUT/<machine>`).
pub(crate) fn out_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The block size of the latest epoch a run of `plan` with `opts` writing `dir` steals with.
pub(crate) fn block_of(plan: &Plan, dir: &Path, opts: &StealOptions) -> u64 {
    opts.block.unwrap_or_else(|| {
        *blocks::blocks_in(plan, &out_of(dir))
            .last()
            .expect("a plan has an epoch")
    })
}

impl Stealing {
    /// Stealing for machine `machine` of `plan` writing `dir` (`OUT/<machine>`).
    pub(crate) fn new(plan: &Plan, machine: usize, dir: &Path, opts: &StealOptions) -> Stealing {
        let out = out_of(dir);
        let name = match &opts.helper {
            Some(h) => h.clone(),
            None => plan.machines()[machine].name.clone(),
        };
        Stealing {
            blocks: match opts.block {
                Some(b) => vec![b; plan.epochs().len()],
                None => blocks::blocks_in(plan, &out),
            },
            out,
            me: opts.helper.is_none().then_some(machine),
            who: ClaimRecord {
                owner: String::new(),
                block: 0,
                machine: name,
                host: crate::sys::hostname(),
                pid: std::process::id(),
                run: claim::run_id(),
                at: crate::output::rfc3339(SystemTime::now()),
                jobs: Vec::new(),
            },
            layouts: layout::relative_dirs(plan),
            remote: opts.remote,
            follow: opts.follow,
            mesh: opts.mesh.clone(),
        }
    }

    /// Jobs per block of the latest epoch (of the study, for one that never grew).
    pub(crate) fn block(&self) -> u64 {
        *self.blocks.last().expect("a plan has an epoch")
    }

    /// The layout directory of the study's first epoch: where a machine's name is held, by
    /// every host of the study whichever epochs it has seen.
    fn first_layout(&self) -> PathBuf {
        self.out.join(&self.layouts[0])
    }

    /// The layout mode of this run.
    fn mode(&self) -> &'static str {
        if self.remote {
            layout::MODE_REMOTE
        } else {
            layout::MODE
        }
    }

    /// Checks, reading only, that this run may join the study in `out`.
    pub(crate) fn check(&self, plan: &Plan) -> Result<()> {
        layout::check_mode(&self.out, plan, Some(&self.blocks), self.mode())?;
        NameRecord::check(&self.first_layout(), &self.who)
    }

    /// Refuses, reading only, a `--rerun` naming a job whose block this machine does not hold:
    /// only the machine a claim names runs (and reruns) that block's jobs.
    pub(crate) fn check_rerun(&self, plan: &Plan, rerun: &crate::run::JobSet) -> Result<()> {
        if rerun.is_empty() {
            return Ok(());
        }
        rerun.check_jobs_exist(plan)?;
        let blocks = blocks::Blocks::per_epoch(plan, &self.blocks);
        let found = blocks.find(|i| rerun.contains(i));
        for i in rerun.iter().take(found.len() + 1) {
            let why = match found.get(&i) {
                None => "it is in no share of this plan (a rescue plan leaves out the jobs already ok): rerun it with the original plan".to_owned(),
                Some(&(u, b)) => {
                    let claims = self.out.join(&self.layouts[blocks.epoch(u)]).join("claims");
                    let path = claims.join(blocks.owner(u)).join(b.to_string());
                    match claim::read_claim(&path) {
                        Ok(Some(c)) if c.machine == self.who.machine => continue,
                        Ok(Some(c)) => format!(
                            "it is held by machine {} (it claimed its block): rerun it there (run --steal --machine {} --rerun {i})",
                            c.machine, c.machine
                        ),
                        _ => "its block is not claimed yet: the host that claims it runs it".to_owned(),
                    }
                }
            };
            return Err(Error::usage(format!("--rerun {rerun}: job {i}: {why}")));
        }
        Ok(())
    }

    /// Records the layout of each epoch no host has recorded yet, and agrees with them.
    pub(crate) fn agree(&self, plan: &Plan) -> Result<()> {
        layout::agree(&self.out, plan, &self.blocks, &self.who, self.mode()).map(|_| ())
    }

    /// Takes this machine's name across hosts, before the run touches its directory (held
    /// until the record is dropped).
    pub(crate) fn take_name(&self) -> Result<NameRecord> {
        NameRecord::take(&self.first_layout(), &self.who)
    }

    /// The job source of this run (`earlier`: this machine's directory holds an earlier run,
    /// whose claims it resumes first).
    pub(crate) fn source<'a>(
        &self,
        plan: &'a Plan,
        work: &'a crate::Work,
        existing: Existing,
        rerun: &'a crate::run::JobSet,
        threads: u64,
        earlier: bool,
    ) -> Result<StealSource<'a>> {
        let mesh = match &self.mesh {
            Some(start) => Some((start.0)(&peers::PeersAt {
                me: self.who.machine.clone(),
                out: self.out.to_string_lossy().into_owned(),
                layout: self.layouts[0].to_string_lossy().into_owned(),
                own_layout: self.first_layout(),
            })?),
            None => None,
        };
        let mut source = StealSource::new(
            blocks::Blocks::per_epoch(plan, &self.blocks),
            self.layouts
                .iter()
                .map(|l| self.out.join(l).join("claims"))
                .collect(),
            plan.epochs().iter().map(|e| e.plan_digest.hex()).collect(),
            self.out.clone(),
            self.me,
            self.who.clone(),
            work,
            existing,
            rerun,
            threads,
            earlier,
            self.remote,
        )?
        .with_mesh(mesh);
        source.follow = self.follow;
        Ok(source)
    }

    /// manifest.json's `balance`.
    pub(crate) fn info(&self) -> BalanceInfo {
        BalanceInfo {
            mode: Balance::Steal,
            block: self.block(),
            layout: self.layouts[self.layouts.len() - 1]
                .to_string_lossy()
                .into_owned(),
            run: self.who.run.clone(),
            helper: self.me.is_none(),
        }
    }
}

/// status.json's `steal` from a source's statistics.
pub(crate) fn status(block: u64, s: &StealStats) -> StealStatus {
    let attempts = s.attempts.load(Ordering::Relaxed);
    let us = s.claim_us.load(Ordering::Relaxed);
    StealStatus {
        block,
        claimed: s.claimed.load(Ordering::Relaxed),
        stolen: s.stolen.load(Ordering::Relaxed),
        stealing: s.stealing.load(Ordering::Relaxed),
        claims: s.claims.load(Ordering::Relaxed),
        claims_per_s: (us > 0).then(|| attempts as f64 * 1e6 / us as f64),
        peer_claims: s.peer_calls.load(Ordering::Relaxed),
        peer_claim_ms: {
            let (n, us) = (
                s.peer_calls.load(Ordering::Relaxed),
                s.peer_us.load(Ordering::Relaxed),
            );
            (n > 0).then(|| us as f64 / 1e3 / n as f64)
        },
    }
}
