//! The split-v1 plan: which machine runs which jobs, computed identically on every host.
//!
//! docs/split-v1.md specifies every byte; the golden tests in `tests/golden.rs` pin it.

mod digest;
mod shuffle;
mod split;

pub use digest::{plan_digest, Digest, JobKey, JobKeyer, WorkHasher};
pub use shuffle::{bounded, keystream, shuffle};

use crate::error::{Error, Result};
use crate::input::Machine;

/// The name of the algorithm this module computes. A change to what it computes gets a new name.
pub const ALGORITHM: &str = "split-v1";

/// Who runs what: the shuffled, non-excluded job indices cut into one share per machine.
#[derive(Debug, Clone)]
pub struct Plan {
    work_digest: Digest,
    plan_digest: Digest,
    jobs: u64,
    excluded: u64,
    machines: Vec<Machine>,
    perm: Vec<u64>,
    bounds: Vec<u64>,
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
        if machines.is_empty() {
            return Err(Error::usage("the plan needs at least one machine"));
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
        let plan_digest = plan_digest(&work_digest, &machines, seed, excluded);

        let mut perm = Vec::with_capacity((jobs - excluded.len() as u64) as usize);
        let mut skip = excluded.iter().peekable();
        for i in 0..jobs {
            if skip.next_if_eq(&&i).is_none() {
                perm.push(i);
            }
        }
        shuffle(&mut keystream(plan_digest.0), &mut perm);

        let capacities: Vec<u128> = machines.iter().map(Machine::capacity).collect();
        let bounds = split::bounds(&capacities, perm.len() as u64)?;
        Ok(Plan {
            work_digest,
            plan_digest,
            jobs,
            excluded: excluded.len() as u64,
            machines,
            perm,
            bounds,
        })
    }

    /// The work digest W: job list and shared parameters.
    pub fn work_digest(&self) -> Digest {
        self.work_digest
    }

    /// The plan digest D: work, machines, seed and excluded jobs. Equal on every host that
    /// computes the same plan.
    pub fn plan_digest(&self) -> Digest {
        self.plan_digest
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
