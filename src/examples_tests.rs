//! The examples that documented items which are crate-private now (the engine scripts and
//! times, the results and log codecs, job sets, cancellation), kept as unit tests so they still
//! run; each test names the item it shows.

/// `detect` in src/engine/detect.rs.
#[test]
fn engine_detect_detect() -> crate::Result<()> {
    use crate::engine::{detect, Shard};

    let env = |name: &str| match name {
        "SLURM_ARRAY_TASK_ID" => Some("7".to_owned()),
        "SLURM_ARRAY_TASK_MIN" => Some("5".to_owned()),
        "SLURM_ARRAY_TASK_MAX" => Some("8".to_owned()),
        "SLURM_ARRAY_TASK_COUNT" => Some("4".to_owned()),
        _ => None,
    };
    assert_eq!(detect(&env, None)?, Some(Shard { index: 2, count: 4 }));
    assert_eq!(detect(&|_: &str| None, None)?, None);
    Ok(())
}

/// `detect_engine` in src/engine/detect.rs.
#[test]
fn engine_detect_detect_engine() -> crate::Result<()> {
    use crate::engine::detect_engine;

    let env = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "1".to_owned());
    let found = detect_engine(&env, Some(4))?.unwrap();
    assert_eq!(found.engine(), "Kubernetes");
    assert_eq!(found.shard().to_string(), "1/4");
    assert!(detect_engine(&env, None).is_err()); // the count is unknown

    // Task 5 of `qsub -t 1-7:2` (ids 1, 3, 5, 7) on Grid Engine.
    let sge = |name: &str| match name {
        "SGE_TASK_ID" => Some("5".to_owned()),
        "SGE_TASK_FIRST" => Some("1".to_owned()),
        "SGE_TASK_LAST" => Some("7".to_owned()),
        "SGE_TASK_STEPSIZE" => Some("2".to_owned()),
        _ => None,
    };
    assert_eq!(
        detect_engine(&sge, None)?.unwrap().shard().to_string(),
        "2/4"
    );
    Ok(())
}

/// `module` in src/engine/mod.rs.
#[test]
fn engine_mod_module() -> crate::Result<()> {
    use crate::engine::{detect, Shard};

    // What the CLI does: an explicit --shard wins, else the environment decides.
    let flag: Option<Shard> = None;
    let env = |name: &str| std::env::var(name).ok();
    let shard = match flag {
        Some(shard) => Some(shard),
        None => detect(&env, None)?,
    };
    if let Some(shard) = shard {
        assert!(shard.machine_name().starts_with("shard-"));
    }
    Ok(())
}

/// `SgeScriptOptions` in src/engine/sge_script.rs.
#[test]
fn engine_sge_script_sgescriptoptions() -> crate::Result<()> {
    use crate::engine::{sge_files, SgeScriptOptions};

    let mut opts = SgeScriptOptions::new(8);
    opts.study.config = Some("study.toml".into());
    opts.pe = Some("smp".to_owned());
    opts.slots = 4;
    let files = sge_files(&opts)?;
    assert_eq!(files[0].0, "array.sge");
    assert!(files[0].1.contains("#$ -t 1-8\n"));
    assert!(files[0].1.contains("#$ -pe smp 4\n"));
    Ok(())
}

/// `sge_time` in src/engine/sge_time.rs.
#[test]
fn engine_sge_time_sge_time() -> crate::Result<()> {
    use crate::engine::sge_time;

    assert_eq!(sge_time("--time", "1h")?, "01:00:00");
    assert_eq!(sge_time("--time", "1d12h")?, "36:00:00");
    assert_eq!(sge_time("--time", "4:30:00")?, "4:30:00"); // Grid Engine's form, unchanged
    assert!(sge_time("--time", "90").is_err()); // seconds here, minutes to Slurm
    Ok(())
}

/// `Shard` in src/engine/shard.rs.
#[test]
fn engine_shard_shard() -> crate::Result<()> {
    use crate::engine::Shard;

    let shard: Shard = "2/4".parse()?;
    assert_eq!(shard, Shard { index: 2, count: 4 });
    assert_eq!(shard.to_string(), "2/4");
    assert_eq!(shard.machine_name(), "shard-2");
    assert!("4/4".parse::<Shard>().is_err());
    Ok(())
}

/// `shard_machine_name` in src/engine/shard.rs.
#[test]
fn engine_shard_shard_machine_name() {
    assert_eq!(crate::engine::shard_machine_name(0), "shard-0");
}

/// `max_array_size` in src/engine/slurm_limits.rs.
#[test]
fn engine_slurm_limits_max_array_size() {
    use crate::engine::max_array_size;

    let config = "Configuration data as of 2026-01-01T00:00:00\nMaxArraySize            = 1001\n";
    assert_eq!(max_array_size(config), Some(1001));
    assert_eq!(max_array_size("MaxJobCount = 10000\n"), None);
}

/// `shard_warnings` in src/engine/slurm_limits.rs.
#[test]
fn engine_slurm_limits_shard_warnings() {
    use crate::engine::shard_warnings;

    assert!(shard_warnings(4, Some(40), Some(1001)).is_empty());
    let w = shard_warnings(5000, Some(10), Some(1001));
    assert_eq!(w.len(), 2);
    assert!(w[0].starts_with("5000 shards for 10 jobs"));
}

/// `SlurmScriptOptions` in src/engine/slurm_script.rs.
#[test]
fn engine_slurm_script_slurmscriptoptions() -> crate::Result<()> {
    use crate::engine::SlurmScriptOptions;

    let mut opts = SlurmScriptOptions::new(8);
    opts.study.config = Some("study.toml".into());
    opts.cpus_per_task = 4;
    opts.study.time = Some("02:00:00".to_owned());
    let script = crate::engine::slurm_script(&opts)?;
    assert!(script.contains("#SBATCH --array=0-7\n"));
    Ok(())
}

/// `slurm_files` in src/engine/slurm_script.rs.
#[test]
fn engine_slurm_script_slurm_files() -> crate::Result<()> {
    use crate::engine::{slurm_files, SlurmScriptOptions};

    let mut opts = SlurmScriptOptions::new(4);
    opts.study.jobs = Some("jobs.txt".into());
    let names: Vec<_> = slurm_files(&opts)?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names,
        [
            "array.sbatch",
            "merge.sbatch",
            "submit.sh",
            "rescue.sbatch",
            "rescue.sh"
        ]
    );
    Ok(())
}

/// `slurm_time` in src/engine/slurm_time.rs.
#[test]
fn engine_slurm_time_slurm_time() -> crate::Result<()> {
    use crate::engine::slurm_time;

    assert_eq!(slurm_time("--time", "1h")?, "01:00:00");
    assert_eq!(slurm_time("--time", "2h30m")?, "02:30:00");
    assert_eq!(slurm_time("--time", "1d")?, "1-00:00:00");
    assert_eq!(slurm_time("--time", "2-12:00")?, "2-12:00"); // Slurm's own form, unchanged
    assert!(slurm_time("--time", "90").is_err()); // minutes to Slurm, seconds to --timeout
    Ok(())
}

/// `local_threads` in src/engine/threads.rs.
#[test]
fn engine_threads_local_threads() {
    use crate::engine::local_threads;

    let env = |name: &str| match name {
        "SLURM_CPUS_PER_TASK" => Some("8".to_owned()),
        "SLURM_CPUS_ON_NODE" => Some("8".to_owned()),
        _ => None,
    };
    assert_eq!(local_threads(&env), Some(8));
    let sge = |name: &str| (name == "NSLOTS").then(|| "4".to_owned());
    assert_eq!(local_threads(&sge), Some(4));
    assert_eq!(local_threads(&|_: &str| None), None);
}

/// `of` in src/output/results/columns.rs.
#[test]
fn output_results_columns_of() {
    use crate::output::results::ColumnKind;

    assert_eq!(ColumnKind::of("input_alpha"), ColumnKind::Input);
    assert_eq!(ColumnKind::of("input"), ColumnKind::Input);
    assert_eq!(ColumnKind::of("command"), ColumnKind::Command);
    assert_eq!(ColumnKind::of("loss"), ColumnKind::Result);
    assert_eq!(ColumnKind::of("result_input"), ColumnKind::Result);
}

/// `input_column` in src/output/results/columns.rs.
#[test]
fn output_results_columns_input_column() {
    use crate::output::results::input_column;

    assert_eq!(input_column("alpha"), "input_alpha");
}

/// `column_name` in src/output/results/columns.rs.
#[test]
fn output_results_columns_column_name() {
    use crate::output::results::column_name;

    assert_eq!(column_name("loss"), "loss");
    assert_eq!(column_name("index"), "result_index");
    assert_eq!(column_name("command"), "result_command");
    assert_eq!(column_name("input_seed"), "result_input_seed");
    assert_eq!(column_name("result_index"), "result_result_index");
    assert_eq!(column_name("result"), "result");
}

/// `field_name` in src/output/results/columns.rs.
#[test]
fn output_results_columns_field_name() {
    use crate::output::results::field_name;

    assert_eq!(field_name("loss"), "loss");
    assert_eq!(field_name("result_index"), "index");
    assert_eq!(field_name("result_result_index"), "result_index");
}

/// `Cancel` in src/run/cancel.rs.
#[test]
fn run_cancel_cancel() {
    use crate::run::{Cancel, Level};

    let cancel = Cancel::new();
    assert!(!cancel.is_cancelled());
    assert_eq!(cancel.escalate(), Level::Stopping);
    assert_eq!(cancel.escalate(), Level::Killing);
    assert_eq!(cancel.escalate(), Level::Killing);
}

/// `JobSet` in src/run/rerun.rs.
#[test]
fn run_rerun_jobset() {
    use crate::run::JobSet;

    let set: JobSet = "20-25,17, 21".parse().unwrap();
    assert!(set.contains(17) && set.contains(25) && !set.contains(19));
    assert_eq!(set.to_string(), "17,20-25");
    assert_eq!(set.len(), 7);
    assert!("5-3".parse::<JobSet>().is_err());
}
