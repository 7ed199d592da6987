//! `run --rerun 17,20-25`: the jobs of this machine's share to run again although they are ok
//! (or were cancelled). Kept as ranges, so `0-999999999` costs nothing.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::plan::Plan;

/// A set of job indices written as a comma-separated list of indices and inclusive ranges:
/// `17`, `20-25`, `17,20-25`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobSet {
    /// Inclusive ranges, ascending, neither overlapping nor touching.
    ranges: Vec<(u64, u64)>,
}

impl JobSet {
    /// Refuses a set (`--rerun`) naming a job outside the share of machine `machine` of `plan`,
    /// saying whose share it is in.
    ///
    /// # Errors
    /// A usage error naming the first such job and the machine to rerun it on.
    pub fn check_in_share(&self, plan: &Plan, machine: usize) -> Result<()> {
        let rerun = self;
        if rerun.is_empty() {
            return Ok(());
        }
        rerun.check_jobs_exist(plan)?;
        let mut share = plan.share(machine).to_vec();
        share.sort_unstable();
        // More indices than the share has jobs: one of the first share+1 is outside it.
        let outside = rerun
            .iter()
            .take(share.len() + 1)
            .find(|i| share.binary_search(i).is_err());
        let Some(i) = outside else {
            return Ok(());
        };
        let me = &plan.machines()[machine].name;
        let owner = (0..plan.machines().len()).find(|&j| plan.share(j).contains(&i));
        Err(Error::usage(match owner {
            Some(j) => format!(
                "--rerun {rerun}: job {i} is not in {me}'s share but in {}'s: rerun it there (run --machine {} --rerun {i})",
                plan.machines()[j].name,
                plan.machines()[j].name
            ),
            None => format!(
                "--rerun {rerun}: job {i} is in no share of this plan (a rescue plan leaves out the jobs already ok): rerun it with the original plan"
            ),
        }))
    }

    /// Refuses a set naming a job the plan's work does not have.
    ///
    /// # Errors
    /// A usage error naming the greatest such job.
    pub fn check_jobs_exist(&self, plan: &Plan) -> Result<()> {
        let jobs = plan.jobs();
        match self.max().filter(|&m| m >= jobs) {
            Some(max) => Err(Error::usage(format!(
                "--rerun {self}: there is no job {max}: the work has {jobs} jobs (0-{})",
                jobs.saturating_sub(1)
            ))),
            None => Ok(()),
        }
    }

    /// True if `index` is in the set.
    pub fn contains(&self, index: u64) -> bool {
        let p = self.ranges.partition_point(|&(_, hi)| hi < index);
        self.ranges.get(p).is_some_and(|&(lo, _)| lo <= index)
    }

    /// How many indices the set holds.
    pub fn len(&self) -> u64 {
        self.ranges
            .iter()
            .map(|&(lo, hi)| (hi - lo).saturating_add(1))
            .fold(0, u64::saturating_add)
    }

    /// True if the set holds no index.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The greatest index, if any.
    pub fn max(&self) -> Option<u64> {
        self.ranges.last().map(|&(_, hi)| hi)
    }

    /// The indices in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges.iter().flat_map(|&(lo, hi)| lo..=hi)
    }
}

impl FromStr for JobSet {
    type Err = String;

    fn from_str(s: &str) -> Result<JobSet, String> {
        let index = |t: &str, item: &str| -> Result<u64, String> {
            t.trim().parse::<u64>().map_err(|_| {
                format!(
                    "`{item}` is not a job index or a range A-B of them (write it as 17 or 20-25)"
                )
            })
        };
        let mut ranges = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(format!(
                    "`{s}` has an empty item: list job indices and ranges separated by commas, as 17,20-25"
                ));
            }
            let (lo, hi) = match item.split_once('-') {
                Some((a, b)) => (index(a, item)?, index(b, item)?),
                None => {
                    let i = index(item, item)?;
                    (i, i)
                }
            };
            if lo > hi {
                return Err(format!(
                    "`{item}` is a range that runs backwards: write it {hi}-{lo}"
                ));
            }
            ranges.push((lo, hi));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Ok(JobSet { ranges: merged })
    }
}

impl fmt::Display for JobSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, &(lo, hi)) in self.ranges.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_merges_and_refuses() {
        let s: JobSet = "3, 1-2,10-12,11-20,0".parse().unwrap();
        assert_eq!(s.to_string(), "0-3,10-20");
        assert_eq!(s.len(), 15);
        assert_eq!(s.iter().take(5).collect::<Vec<_>>(), [0, 1, 2, 3, 10]);
        assert!(!s.contains(4) && s.contains(20) && !s.contains(21));
        let big: JobSet = "0-18446744073709551615".parse().unwrap();
        assert_eq!(big.len(), u64::MAX);
        for bad in ["", "1,,2", "a", "1-", "-3", "5-3", "1.5", "1-2-3", "-1"] {
            assert!(bad.parse::<JobSet>().is_err(), "{bad}");
        }
    }
}
