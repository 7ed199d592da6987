//! Flags and config resolved, once, into a validated study: work, machines and plan.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::args::InputArgs;
use super::JobSource;
use crate::input::{
    grow_items, load_growing, load_machines, Config, Format, Grow, Growth, JobList, Machine,
    Template, DEFAULT_CONFIG,
};
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
/// or the one the flags and config name, cut into its epochs as `grow` says (a list read from
/// a file: `Some` growth).
pub(crate) fn work(
    args: &InputArgs,
    config: &Config,
    source: Option<&dyn JobSource>,
    grow: Grow,
) -> crate::Result<(Work, Option<Growth>)> {
    let seed = args.seed.clone().or_else(|| config.seed.clone());
    if let Some(source) = source {
        if args.jobs.is_some() || args.command.is_some() {
            return Err(Error::usage(
                "this program supplies its own jobs: --jobs and --cmd do not apply",
            ));
        }
        // Its items grow as a job list does, their epochs recorded in the working directory.
        let file = PathBuf::from(format!("{}.items.epochs", super::program::name()));
        let (jobs, growth) = grow_items(source.job_list()?, file, grow)?;
        let work = Work::with_epochs(jobs, None, config.params.clone(), seed, &growth.spans())?;
        return Ok((work, Some(growth)));
    }
    let no_list = || {
        Error::usage(
            "no job list: pass --jobs FILE (or - for stdin), pipe one in, set [jobs] file in jobsplit.toml, or create ./jobs.txt",
        )
    };
    let mut piped = None;
    let path = match jobs_path(args, config) {
        Some(path) => path,
        // Nothing names a list: one piped in is the list, unless the pipe held nothing.
        None if stdin_is_piped() => {
            let data = read_stdin()?;
            if data.is_empty() {
                return Err(no_list());
            }
            piped = Some(data);
            PathBuf::from(STDIN)
        }
        None => return Err(no_list()),
    };
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
    if args.jobs.as_deref() == Some(path.as_path()) && !path.exists() {
        if let Some(n) = path.to_str().filter(|s| s.parse::<u64>().is_ok()) {
            // GNU parallel's `-j 4` means 4 jobs at once; here -j names the job list.
            return Err(Error::usage(format!(
                "--jobs {n}: no such file: -j/--jobs names the job list here; for {n} jobs at once (GNU parallel's -j {n}) pass --threads {n}"
            )));
        }
    }
    if path.as_os_str() == STDIN {
        let data = match piped {
            Some(data) => data,
            None => read_stdin()?,
        };
        let jobs = JobList::from_bytes(Path::new(STDIN_NAME), format, data)?;
        return Ok((
            Work::new(jobs, template, config.params.clone(), seed)?,
            None,
        ));
    }
    let (jobs, growth) = load_growing(&path, format, grow)?;
    let work = Work::with_epochs(jobs, template, config.params.clone(), seed, &growth.spans())?;
    Ok((work, Some(growth)))
}

/// The job list file from flags over config, else `./jobs.txt` if present.
pub(crate) fn jobs_path(args: &InputArgs, config: &Config) -> Option<PathBuf> {
    args.jobs
        .clone()
        .or_else(|| config.jobs.file.clone())
        .or_else(|| {
            Path::new(DEFAULT_JOBS)
                .is_file()
                .then(|| PathBuf::from(DEFAULT_JOBS))
        })
}

/// `--jobs -`: the job list is standard input.
const STDIN: &str = "-";

/// How messages name a job list read from standard input.
const STDIN_NAME: &str = "<stdin>";

/// True if standard input is a pipe or a redirected file (not a terminal, not /dev/null): a
/// job list piped in (`seq 3 | jobsplit run --cmd 'echo {}'`).
fn stdin_is_piped() -> bool {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::FileTypeExt as _;
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_file())
}

/// Reads all of standard input: the job list's bytes, which enter the work digest as a file's
/// would, so every host that reads other bytes gets another plan digest.
fn read_stdin() -> crate::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut data = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut data)
        .map_err(|e| Error::io(Path::new(STDIN_NAME), e))?;
    Ok(data)
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

/// A rescue of the merge output `dir`: the study whose plan leaves out the jobs already ok
/// there, checked to be the same work, with notes and warnings to show first.
pub(crate) struct RescueStudy {
    /// The rescue plan's study.
    pub(crate) study: Study,
    /// Worth saying (not an error).
    pub(crate) notes: Vec<String>,
    /// Likely mistakes: a machine that ran none of its jobs (dead?) still gets a share.
    pub(crate) warnings: Vec<String>,
}

/// How a dead machine is left out of a rescue run on the hosts themselves.
pub(crate) const DROP_DEAD: &str =
    "drop it from the machines file (or pass --machines with the live ones)";

/// Resolves a rescue of the merge output `dir` (see [`RescueStudy`]); `drop_dead` says how a
/// dead machine is left out, in the warning about one that still gets a share.
pub(crate) fn rescue_study(
    args: &InputArgs,
    machines: Option<Vec<Machine>>,
    dir: &Path,
    source: Option<&dyn JobSource>,
    drop_dead: &str,
) -> Result<RescueStudy> {
    let rescue = crate::merge::load_rescue(dir)?;
    let mut notes = Vec::new();
    if rescue.ok.is_empty() {
        notes.push(format!(
            "no job of {} is ok yet, so the rescue plan is the original plan",
            crate::text::escape(&dir.display().to_string())
        ));
    }
    let study = study_with(args, machines, &rescue.excluded(), source, Grow::default())?;
    if rescue.work_digest != study.plan.work_digest().hex() {
        return Err(Error::usage(format!(
            "{} is the merge of work {} but these inputs are work {}: rescue with the same job list, config and seed",
            crate::text::escape(&dir.display().to_string()),
            crate::text::short(&rescue.work_digest),
            study.plan.work_digest().short()
        ))
        .into());
    }
    // The plan these machines had before the rescue: a machine none of whose jobs is ok is
    // likely the dead host the rescue is for, and the rescue would give it a share again.
    let original = Plan::with_epochs(
        study.work.epochs(),
        study.work.seed_bytes(),
        study.plan.machines().to_vec(),
        &[],
    )
    .context("computing the plan")?;
    let mut warnings = Vec::new();
    if !rescue.ok.is_empty() {
        for (j, m) in original.machines().iter().enumerate() {
            let share = original.share(j);
            if !share.is_empty() && share.iter().all(|i| rescue.ok.binary_search(i).is_err()) {
                warnings.push(format!(
                    "machine {} has none of its {} in {} ok, yet the rescue gives it a share again: if it is dead, {drop_dead}",
                    crate::text::escape(&m.name),
                    super::progress::count(share.len() as u64, "job", "jobs"),
                    crate::text::escape(&dir.display().to_string()),
                ));
            }
        }
    }
    Ok(RescueStudy {
        study,
        notes,
        warnings,
    })
}

/// The whole study: work plus plan.
pub(crate) struct Study {
    pub(crate) config: Config,
    pub(crate) work: Work,
    pub(crate) plan: Plan,
    /// How a job list read from a file is cut into epochs.
    pub(crate) growth: Option<Growth>,
}

/// Resolves the inputs into a study: the plan over `machines` (or the machines file), leaving
/// out `excluded` (a rescue), with a program's own job source if it has one, the job list cut
/// into epochs as `grow` says.
pub(crate) fn study_with(
    args: &InputArgs,
    machines: Option<Vec<Machine>>,
    excluded: &[u64],
    source: Option<&dyn JobSource>,
    grow: Grow,
) -> Result<Study> {
    let config = load_config(args.config.as_deref())?;
    let machines = match machines {
        Some(m) => m,
        None => load_machines(&machines_path(args, &config))?,
    };
    let (work, growth) = work(args, &config, source, grow)?;
    let plan = Plan::with_epochs(work.epochs(), work.seed_bytes(), machines, excluded)
        .context("computing the plan")?;
    Ok(Study {
        config,
        work,
        plan,
        growth,
    })
}
