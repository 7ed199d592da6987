//! How many jobs a task of a batch engine may run at once: the CPUs the engine gave it.

/// The number of threads a batch task may use, from the first of these that is a positive
/// whole number; `None` outside a batch engine or when none is:
///
/// | variable | engine | set by |
/// | --- | --- | --- |
/// | `SLURM_CPUS_PER_TASK` | Slurm | `sbatch --cpus-per-task` |
/// | `SLURM_CPUS_ON_NODE` | Slurm | the CPUs of the job on this node (1 by default) |
/// | `NSLOTS` | Grid Engine | the slots of `-pe NAME C` (1 without a parallel environment) |
/// | `NCPUS` | PBS Pro | `-l select=1:ncpus=C` (read only when `PBS_ENVIRONMENT` is set) |
/// | `PBS_NUM_PPN` | Torque | `-l nodes=1:ppn=C` |
/// | `LSB_DJOB_NUMPROC` | LSF | `bsub -n C` |
///
/// Without cgroups a task sees every CPU of the node, so the number of available CPUs would
/// oversubscribe it; these variables are the allocation. The CLI takes its `--threads`
/// flag first, then this (only for a shard), then the available CPUs:
/// `std::thread::available_parallelism`, which on Linux follows the affinity mask and the
/// CPU quota of the process's cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us` /
/// `cpu.cfs_period_us`, rounded down, at least 1), so a Kubernetes pod runs as many threads
/// as its CPU limit, not its node's CPU count.
#[must_use]
pub(crate) fn local_threads(env: &dyn Fn(&str) -> Option<String>) -> Option<usize> {
    let positive = |name: &str| {
        let text = env(name)?;
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<usize>().ok().filter(|&n| n > 0)
    };
    // NCPUS is a name a user may set for themselves: PBS's only inside a PBS job.
    let pbs_ncpus = || {
        env("PBS_ENVIRONMENT")
            .filter(|v| !v.is_empty())
            .and_then(|_| positive("NCPUS"))
    };
    positive("SLURM_CPUS_PER_TASK")
        .or_else(|| positive("SLURM_CPUS_ON_NODE"))
        .or_else(|| positive("NSLOTS"))
        .or_else(pbs_ncpus)
        .or_else(|| positive("PBS_NUM_PPN"))
        .or_else(|| positive("LSB_DJOB_NUMPROC"))
}

#[cfg(test)]
mod tests {
    use super::local_threads;

    /// A fake environment from `NAME=value` pairs.
    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn threads_from_slurm() {
        let cpus = |v: &str| env(&[("SLURM_CPUS_PER_TASK", v)]);
        assert_eq!(local_threads(&cpus("4")), Some(4));
        assert_eq!(local_threads(&cpus(" 16\n")), Some(16));
        assert_eq!(local_threads(&cpus("0")), None);
        assert_eq!(local_threads(&cpus("")), None);
        assert_eq!(local_threads(&cpus("-2")), None);
        assert_eq!(local_threads(&cpus("lots")), None);
        assert_eq!(local_threads(&env(&[])), None);
        // Without --cpus-per-task Slurm sets only SLURM_CPUS_ON_NODE.
        let on_node = env(&[("SLURM_CPUS_ON_NODE", "1"), ("SLURM_JOB_ID", "9")]);
        assert_eq!(local_threads(&on_node), Some(1));
        let both = env(&[("SLURM_CPUS_PER_TASK", "4"), ("SLURM_CPUS_ON_NODE", "8")]);
        assert_eq!(local_threads(&both), Some(4));
        let bad_per_task = env(&[("SLURM_CPUS_PER_TASK", "x"), ("SLURM_CPUS_ON_NODE", "2")]);
        assert_eq!(local_threads(&bad_per_task), Some(2));
    }

    #[test]
    fn threads_from_grid_engine_pbs_torque_and_lsf() {
        // Grid Engine: NSLOTS is 1 without a parallel environment, C with -pe smp C.
        assert_eq!(
            local_threads(&env(&[("NSLOTS", "1"), ("JOB_ID", "7")])),
            Some(1)
        );
        assert_eq!(local_threads(&env(&[("NSLOTS", "8")])), Some(8));
        // PBS Pro: NCPUS counts only inside a PBS job.
        let pbs = env(&[("NCPUS", "6"), ("PBS_ENVIRONMENT", "PBS_BATCH")]);
        assert_eq!(local_threads(&pbs), Some(6));
        assert_eq!(local_threads(&env(&[("NCPUS", "6")])), None);
        // Torque and LSF.
        assert_eq!(local_threads(&env(&[("PBS_NUM_PPN", "3")])), Some(3));
        assert_eq!(local_threads(&env(&[("LSB_DJOB_NUMPROC", "12")])), Some(12));
        // Slurm's variables come first; a bad value falls through to the next.
        let mixed = env(&[("SLURM_CPUS_PER_TASK", "2"), ("NSLOTS", "5")]);
        assert_eq!(local_threads(&mixed), Some(2));
        assert_eq!(
            local_threads(&env(&[("NSLOTS", "0"), ("LSB_DJOB_NUMPROC", "4")])),
            Some(4)
        );
    }
}
