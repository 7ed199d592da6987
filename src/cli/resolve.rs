//! Flags and config resolved, once, into a validated study: work, machines and plan.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::args::InputArgs;
use super::JobSource;
use crate::input::{load_machines, Config, Format, JobList, Machine, Template, DEFAULT_CONFIG};
use crate::plan::Plan;
use crate::{Error, Work};

/// The job list used when neither flag nor config names one.
const DEFAULT_JOBS: &str = "jobs.txt";

/// Reads the config named by `--config`, else `./jobsplit.toml` if present, else defaults.
pub(crate) fn load_config(arg: Option<&Path>) -> crate::Result<Config> {
    match arg {
        Some(path) => Config::load(path),
        None if Path::new(DEFAULT_CONFIG).is_file() => Config::load(Path::new(DEFAULT_CONFIG)),
        None => Ok(Config::default()),
    }
}

/// Builds the work from flags over config, with the job list a program supplies (`Splitter`)
/// or the one the flags and config name.
pub(crate) fn work(
    args: &InputArgs,
    config: &Config,
    source: Option<&dyn JobSource>,
) -> crate::Result<Work> {
    let seed = args.seed.clone().or_else(|| config.seed.clone());
    if let Some(source) = source {
        if args.jobs.is_some() || args.command.is_some() {
            return Err(Error::usage(
                "this program supplies its own jobs: --jobs and --cmd do not apply",
            ));
        }
        return Work::new(source.job_list()?, None, config.params.clone(), seed);
    }
    let path = args
        .jobs
        .clone()
        .or_else(|| config.jobs.file.clone())
        .or_else(|| Path::new(DEFAULT_JOBS).is_file().then(|| PathBuf::from(DEFAULT_JOBS)))
        .ok_or_else(|| {
            Error::usage(
                "no job list: pass --jobs FILE, set [jobs] file in jobsplit.toml, or create ./jobs.txt",
            )
        })?;
    let format = args
        .format
        .or(config.jobs.format)
        .unwrap_or_else(|| Format::from_extension(&path));
    let template = match (&args.command, &config.jobs.command) {
        (Some(flag), _) => Some(
            flag.parse::<Template>()
                .map_err(|e| Error::usage(format!("--cmd: {e}")))?,
        ),
        // From the config: the message names the file and the key.
        (None, Some(text)) => Some(text.parse::<Template>().map_err(|e| {
            Error::invalid(config.path.as_deref(), None, format!("[jobs] command: {e}"))
        })?),
        (None, None) => None,
    };
    let jobs = JobList::load(&path, format)?;
    Work::new(jobs, template, config.params.clone(), seed)
}

/// The machines file path from flags over config, else `./machines.json`.
pub(crate) fn machines_path(args: &InputArgs, config: &Config) -> PathBuf {
    args.machines
        .clone()
        .or_else(|| config.machines.clone())
        .unwrap_or_else(|| PathBuf::from("machines.json"))
}

/// `count` equal machines named `shard-0` .. `shard-{count-1}`.
pub(crate) fn shard_machines(count: u64) -> crate::Result<Vec<Machine>> {
    if count == 0 {
        return Err(Error::usage("the shard count must be at least 1"));
    }
    (0..count)
        .map(|i| Machine::new(&format!("shard-{i}"), 1.0, 1))
        .collect()
}

/// The whole study: work plus plan.
pub(crate) struct Study {
    pub(crate) config: Config,
    pub(crate) work: Work,
    pub(crate) plan: Plan,
}

/// Resolves the inputs into a study: the plan over `machines` (or the machines file), leaving
/// out `excluded` (a rescue), with a program's own job source if it has one.
pub(crate) fn study_with(
    args: &InputArgs,
    machines: Option<Vec<Machine>>,
    excluded: &[u64],
    source: Option<&dyn JobSource>,
) -> Result<Study> {
    let config = load_config(args.config.as_deref())?;
    let machines = match machines {
        Some(m) => m,
        None => load_machines(&machines_path(args, &config))?,
    };
    let work = work(args, &config, source)?;
    let plan = Plan::new(
        work.digest(),
        work.len(),
        work.seed_bytes(),
        machines,
        excluded,
    )
    .context("computing the plan")?;
    Ok(Study { config, work, plan })
}
