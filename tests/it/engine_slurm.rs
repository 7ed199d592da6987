//! The Slurm example `examples/slurm/` stays consistent with what jobsplit detects: the
//! array of `study.sbatch` maps its task ids onto shards `0..N`, and the job list has the
//! jobs the end-to-end test (`tests/slurm/run.sh`) expects.

use std::path::Path;

use jobsplit::testing::{detect, Shard};

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/slurm")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The `--array=A-B` range of the example script.
fn array_range() -> (u64, u64) {
    let script = example("study.sbatch");
    let array = script
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array="))
        .expect("an #SBATCH --array line");
    let (lo, hi) = array.split_once('-').expect("a range A-B");
    (lo.parse().unwrap(), hi.parse().unwrap())
}

#[test]
fn study_sbatch_tasks_are_shards_0_to_n() {
    let (min, max) = array_range();
    let count = max - min + 1;
    for id in min..=max {
        // The variables Slurm sets in array task `id`.
        let env = |name: &str| match name {
            "SLURM_ARRAY_TASK_ID" => Some(id.to_string()),
            "SLURM_ARRAY_TASK_MIN" => Some(min.to_string()),
            "SLURM_ARRAY_TASK_MAX" => Some(max.to_string()),
            "SLURM_ARRAY_TASK_COUNT" => Some(count.to_string()),
            _ => None,
        };
        let shard = detect(&env, None).unwrap().unwrap();
        assert_eq!(
            shard,
            Shard {
                index: id - min,
                count
            }
        );
    }
}

#[test]
fn study_sbatch_relies_on_detection() {
    let script = example("study.sbatch");
    let command = script
        .lines()
        .find(|l| l.contains("\" run "))
        .expect("a jobsplit run line");
    assert!(!command.contains("--shard"), "{command}");
    assert!(command.contains("--yes"), "{command}");
    assert!(script.contains("set -euo pipefail"));
    assert!(script.contains("#SBATCH --output=out/slurm-%A_%a.out"));
}

#[test]
fn jobs_txt_has_one_square_job_per_index() {
    let jobs = example("jobs.txt");
    let lines: Vec<&str> = jobs.lines().collect();
    assert_eq!(lines.len(), 40);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("sh square.sh {i}"));
    }
}
