//! The split-v1 plan: which machine runs which jobs, computed identically on every host.
//!
//! docs/split-v1.md specifies every byte; the golden tests in `tests/golden.rs` pin it.

mod digest;
mod epoch;
mod shuffle;
mod split;

pub(crate) use digest::{plan_digest, WorkHasher};
pub use digest::{Digest, JobKey, JobKeyer};
pub use epoch::EpochSpan;
pub(crate) use epoch::{epoch_work_digest, list_digest};
pub(crate) use shuffle::shuffle;
pub use shuffle::{bounded, keystream};

use crate::error::{Error, Result};
use crate::input::Machine;

/// The name of the algorithm this module computes. A change to what it computes gets a new name.
pub const ALGORITHM: &str = "split-v1";

/// Who runs what: the shuffled, non-excluded job indices cut into one share per machine, for
/// each epoch of the study (one for a study that never grew).
#[derive(Debug, Clone)]
pub struct Plan {
    jobs: u64,
    excluded: u64,
    machines: Vec<Machine>,
    /// Every machine's jobs in the order it runs them, machine after machine.
    perm: Vec<u64>,
    /// Machine j runs `perm[bounds[j]..bounds[j + 1]]`.
    bounds: Vec<u64>,
    epochs: Vec<EpochPlan>,
}

/// One epoch of a plan (docs/split-v1.md section 7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochPlan {
    /// Its jobs.
    pub span: EpochSpan,
    /// How many of them the plan leaves out (a rescue plan).
    pub excluded: u64,
    /// W_e.
    pub work_digest: Digest,
    /// D_e.
    pub plan_digest: Digest,
    /// The size of each machine's share of this epoch, in machine order.
    pub shares: Vec<u64>,
}

impl Plan {
    /// Computes the plan for `jobs` jobs whose work digest is `work_digest`, seed bytes `seed`,
    /// over `machines` (in file order), leaving out the `excluded` indices (ascending, unique,
    /// each below `jobs`; empty for a normal plan).
    ///
    /// # Errors
    /// If `machines` is empty, `excluded` is not ascending or names an index out of range, or
    /// the share arithmetic overflows.
    pub fn new(
        work_digest: Digest,
        jobs: u64,
        seed: &[u8],
        machines: Vec<Machine>,
        excluded: &[u64],
    ) -> Result<Plan> {
        let epoch = (EpochSpan { first: 0, jobs }, work_digest);
        Plan::with_epochs(&[epoch], seed, machines, excluded)
    }

    /// Computes the plan of a study of epochs: each `(span, W_e)` in order, the spans
    /// contiguous from job 0 (docs/split-v1.md section 7.2). With one epoch this is
    /// [`Plan::new`].
    ///
    /// # Errors
    /// As [`Plan::new`], and if the spans are empty, not contiguous from 0 or hold no job.
    pub fn with_epochs(
        epochs: &[(EpochSpan, Digest)],
        seed: &[u8],
        machines: Vec<Machine>,
        excluded: &[u64],
    ) -> Result<Plan> {
        if machines.is_empty() {
            return Err(Error::usage("the plan needs at least one machine"));
        }
        let mut end = 0;
        for (span, _) in epochs {
            if span.first != end || (span.jobs == 0 && epochs.len() > 1) {
                return Err(Error::usage(
                    "epochs must be contiguous from job 0, each with a job",
                ));
            }
            end = span.end();
        }
        let jobs = end;
        if epochs.is_empty() {
            return Err(Error::usage("the plan needs at least one epoch"));
        }
        if let Some(w) = excluded.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::usage(format!(
                "excluded job indices must be ascending and unique (found {} then {})",
                w[0], w[1]
            )));
        }
        if let Some(&last) = excluded.last() {
            if last >= jobs {
                return Err(Error::usage(format!(
                    "excluded job index {last} is out of range: the work has {jobs} jobs"
                )));
            }
        }
        let capacities: Vec<u128> = machines.iter().map(Machine::capacity).collect();
        let mut parts = Vec::with_capacity(epochs.len());
        let mut rest = excluded;
        for &(span, work_digest) in epochs {
            let here = rest.partition_point(|&i| i < span.end());
            let (mine, later) = rest.split_at(here);
            rest = later;
            parts.push(epoch_part(
                span,
                work_digest,
                seed,
                &machines,
                &capacities,
                mine,
            )?);
        }
        let (perm, bounds) = if parts.len() == 1 {
            // One epoch: its shuffled list, cut, is already every share in machine order.
            let (_, perm, bounds) = &mut parts[0];
            (std::mem::take(perm), std::mem::take(bounds))
        } else {
            interleave(&parts, machines.len())
        };
        Ok(Plan {
            jobs,
            excluded: excluded.len() as u64,
            machines,
            perm,
            bounds,
            epochs: parts.into_iter().map(|(e, _, _)| e).collect(),
        })
    }

    /// The epochs of the plan, in order: one for a study that never grew.
    pub fn epochs(&self) -> &[EpochPlan] {
        &self.epochs
    }

    /// The work digest W: job list and shared parameters (W_last of a study with epochs).
    pub fn work_digest(&self) -> Digest {
        self.last_epoch().work_digest
    }

    /// The plan digest D: work, machines, seed and excluded jobs. Equal on every host that
    /// computes the same plan (D_last of a study with epochs).
    pub fn plan_digest(&self) -> Digest {
        self.last_epoch().plan_digest
    }

    fn last_epoch(&self) -> &EpochPlan {
        self.epochs.last().expect("a plan has at least one epoch")
    }

    /// The number of jobs in the work (excluded ones included).
    pub fn jobs(&self) -> u64 {
        self.jobs
    }

    /// How many jobs the plan leaves out (a rescue plan excludes the jobs already done).
    pub fn excluded(&self) -> u64 {
        self.excluded
    }

    /// The machines, in file order.
    pub fn machines(&self) -> &[Machine] {
        &self.machines
    }

    /// The position of the machine called `name`.
    pub fn machine_index(&self, name: &str) -> Option<usize> {
        self.machines.iter().position(|m| m.name == name)
    }

    /// The job indices machine `j` runs, in the order it runs them.
    ///
    /// # Panics
    /// If `j` is not below the number of machines.
    pub fn share(&self, j: usize) -> &[u64] {
        &self.perm[self.bounds[j] as usize..self.bounds[j + 1] as usize]
    }
}

/// A shuffled list of one epoch's jobs, with its cuts and what the plan shows of it.
type EpochPart = (EpochPlan, Vec<u64>, Vec<u64>);

/// Steps 3 to 5 (section 7.2 for a later epoch) over one epoch's jobs, `excluded` being the
/// excluded indices inside it.
fn epoch_part(
    span: EpochSpan,
    work_digest: Digest,
    seed: &[u8],
    machines: &[Machine],
    capacities: &[u128],
    excluded: &[u64],
) -> Result<EpochPart> {
    let plan_digest = plan_digest(&work_digest, machines, seed, excluded);
    let mut perm = Vec::with_capacity((span.jobs - excluded.len() as u64) as usize);
    let mut skip = excluded.iter().peekable();
    for i in span.first..span.end() {
        if skip.next_if_eq(&&i).is_none() {
            perm.push(i);
        }
    }
    shuffle(&mut keystream(plan_digest.0), &mut perm);
    let bounds = split::bounds(capacities, perm.len() as u64)?;
    let info = EpochPlan {
        span,
        excluded: excluded.len() as u64,
        work_digest,
        plan_digest,
        shares: bounds.windows(2).map(|w| w[1] - w[0]).collect(),
    };
    Ok((info, perm, bounds))
}

/// Every machine's shares of every epoch, machine after machine, epoch after epoch.
fn interleave(parts: &[EpochPart], machines: usize) -> (Vec<u64>, Vec<u64>) {
    let mut perm = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
    let mut bounds = Vec::with_capacity(machines + 1);
    bounds.push(0);
    for j in 0..machines {
        for (_, p, b) in parts {
            perm.extend_from_slice(&p[b[j] as usize..b[j + 1] as usize]);
        }
        bounds.push(perm.len() as u64);
    }
    (perm, bounds)
}
