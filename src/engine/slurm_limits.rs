//! What a cluster and a study allow a job array: warnings about shards that would run no
//! job or that the cluster refuses (`MaxArraySize`).

/// `MaxArraySize` from the text of `scontrol show config` (`MaxArraySize = 1001`); `None`
/// when the text has no such line.
///
/// Array task ids run from 0 to `MaxArraySize - 1`, so an array of `N` shards (ids `0..N`)
/// fits when `N <= MaxArraySize`.
#[must_use]
pub(crate) fn max_array_size(show_config: &str) -> Option<u64> {
    show_config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Warnings (one line each, without a `warning:` prefix) about an array of `shards` tasks for
/// a study of `jobs` jobs (when known) on a cluster whose `MaxArraySize` is `max_array_size`
/// (when known).
#[must_use]
pub(crate) fn shard_warnings(
    shards: u64,
    jobs: Option<u64>,
    max_array_size: Option<u64>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(jobs) = jobs.filter(|&j| shards > j) {
        warnings.push(format!(
            "{shards} shards for {jobs} jobs: {} would run no job; give --shards {}",
            tasks(shards - jobs),
            jobs.max(1)
        ));
    }
    if let Some(max) = max_array_size.filter(|&m| shards > m) {
        warnings.push(format!(
            "{shards} shards need array ids 0-{} but this cluster's MaxArraySize is {max} \
             (ids up to {}): sbatch will refuse the array; give --shards {max} or fewer",
            shards - 1,
            max.saturating_sub(1)
        ));
    }
    warnings
}

fn tasks(n: u64) -> String {
    if n == 1 {
        "1 array task".to_owned()
    } else {
        format!("{n} array tasks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_array_size_from_scontrol() {
        let text =
            "AccountingStorageType   = (null)\nMaxArraySize            = 40001\nMaxJobCount = 5\n";
        assert_eq!(max_array_size(text), Some(40001));
        assert_eq!(max_array_size("MaxArraySize = lots\n"), None);
        assert_eq!(max_array_size(""), None);
    }

    #[test]
    fn warns_only_beyond_the_limits() {
        assert!(shard_warnings(10, Some(10), Some(10)).is_empty());
        assert!(shard_warnings(10, None, None).is_empty());
        let jobs = shard_warnings(11, Some(10), None);
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            jobs[0],
            "11 shards for 10 jobs: 1 array task would run no job; give --shards 10"
        );
        let max = shard_warnings(11, None, Some(10));
        assert_eq!(max.len(), 1);
        assert!(
            max[0].contains("MaxArraySize is 10 (ids up to 9)"),
            "{}",
            max[0]
        );
        assert!(max[0].contains("give --shards 10 or fewer"), "{}", max[0]);
    }
}
