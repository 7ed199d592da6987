//! Tests of `slurm_script.rs`.

use super::*;

fn study() -> SlurmScriptOptions {
    let mut opts = SlurmScriptOptions::new(4);
    opts.study.job_name = "sweep".to_owned();
    opts.study.jobsplit = "/shared/bin/jobsplit".into();
    opts.study.config = Some("study.toml".into());
    opts.study.workdir = Some("/home/ada/sweep".into());
    opts.cpus_per_task = 8;
    opts.study.time = Some("04:00:00".to_owned());
    opts.study.merge_time = Some("30m".to_owned());
    opts.stop_before = Some(std::time::Duration::from_secs(300));
    opts.requeue = true;
    opts.partition = Some("short".to_owned());
    opts.extra_sbatch = vec![
        "--account=physics".to_owned(),
        "#SBATCH --mem=16G".to_owned(),
    ];
    opts
}

#[test]
fn snapshot_full_study() {
    for (name, text) in slurm_files(&study()).unwrap() {
        insta::assert_snapshot!(format!("full_{name}"), text);
    }
}

#[test]
fn snapshot_minimal_study() {
    let mut opts = SlurmScriptOptions::new(1);
    opts.study.jobs = Some("jobs file.txt".into());
    opts.study.run_args = vec!["--retries".to_owned(), "2".to_owned()];
    for (name, text) in slurm_files(&opts).unwrap() {
        insta::assert_snapshot!(format!("minimal_{name}"), text);
    }
}

#[test]
fn single_functions_match_the_files() {
    let files = slurm_files(&study()).unwrap();
    assert_eq!(slurm_script(&study()).unwrap(), files[0].1);
    assert_eq!(merge_script(&study()).unwrap(), files[1].1);
}

#[test]
fn array_header_is_what_slurm_needs() {
    let script = slurm_script(&study()).unwrap();
    for line in [
        "#SBATCH --array=0-3\n",
        "#SBATCH --cpus-per-task=8\n",
        "#SBATCH --output=out/slurm-%A_%a.out\n",
        "#SBATCH --time=04:00:00\n",
        "#SBATCH --open-mode=append\n",
        "#SBATCH --signal=B:TERM@300\n",
        "#SBATCH --requeue\n",
        "#SBATCH --partition=short\n",
        "#SBATCH --chdir=/home/ada/sweep\n",
        "#SBATCH --mem=16G\n",
        "set -euo pipefail\n",
        "--shard \"$SLURM_ARRAY_TASK_ID/4\"",
    ] {
        assert!(script.contains(line), "no {line:?} in\n{script}");
    }
    // sbatch stops reading #SBATCH lines at the first command.
    let first_command = script
        .lines()
        .position(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap();
    let lines: Vec<&str> = script.lines().collect();
    let last_sbatch = lines
        .iter()
        .rposition(|l| l.starts_with("#SBATCH"))
        .unwrap();
    assert!(last_sbatch < first_command);
}

#[test]
fn refuses_options_that_make_a_broken_script() {
    type Case = (Box<dyn Fn(&mut SlurmScriptOptions)>, &'static str);
    let cases: Vec<Case> = vec![
        (Box::new(|o| o.study.shards = 0), "--shards 0"),
        (Box::new(|o| o.cpus_per_task = 0), "--cpus-per-task 0"),
        (
            Box::new(|o| o.study.config = None),
            "give --config FILE or --jobs FILE",
        ),
        (
            Box::new(|o| o.study.out = "my out".into()),
            "--out \"my out\": a directory",
        ),
        (
            Box::new(|o| o.study.out = "out%x".into()),
            "--out \"out%x\"",
        ),
        (
            Box::new(|o| o.study.workdir = Some("/a b".into())),
            "--chdir \"/a b\"",
        ),
        (
            Box::new(|o| o.study.job_name = "a b".to_owned()),
            "--job-name \"a b\"",
        ),
        (
            Box::new(|o| o.partition = Some(String::new())),
            "--partition \"\"",
        ),
        (
            Box::new(|o| o.study.time = Some("4 x".to_owned())),
            "--time \"4 x\" is not a time",
        ),
        (
            Box::new(|o| o.extra_sbatch = vec!["mem=4G".to_owned()]),
            "extra #SBATCH line \"mem=4G\"",
        ),
        (
            Box::new(|o| o.study.config = Some("a\0b".into())),
            "contains a NUL byte",
        ),
    ];
    for (change, words) in cases {
        let mut opts = study();
        opts.study.jobs = None;
        change(&mut opts);
        let message = slurm_files(&opts).unwrap_err().to_string();
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    }
}

#[test]
fn shell_values_are_quoted() {
    let mut opts = study();
    opts.study.config = Some("my study's config.toml".into());
    let script = slurm_script(&opts).unwrap();
    assert!(
        script.contains("CONFIG=\"my study's config.toml\"\n"),
        "{script}"
    );
}
