//! The TOML config: `[jobs]` and `[params]` and `seed` define the work (every host must agree);
//! `[run]` holds local settings that hosts may set differently.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::format::Format;
use crate::error::{Error, Result};

/// The config file looked for in the current directory when `--config` is not given.
pub(crate) const DEFAULT_CONFIG: &str = "jobsplit.toml";

/// A parsed config. Relative paths are resolved against the config file's directory.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    /// The seed string: a new seed reshuffles and gives every job new randomness.
    pub seed: Option<String>,
    /// The machines file.
    pub machines: Option<PathBuf>,
    /// The `[jobs]` table.
    pub jobs: JobsConfig,
    /// The `[params]` table as JSON: part of the work, handed to every job.
    pub params: Map<String, Value>,
    /// The `[run]` table: local settings, not part of the plan.
    pub run: RunConfig,
    /// The `[ship]` table: what `jobsplit launch` sends to the hosts, and how (docs/remote.md).
    pub ship: ShipConfig,
}

/// The `[ship]` table: not part of the plan.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipConfig {
    /// The study's own files sent with the config, job list and machines file: files,
    /// directories and globs (`*`, `?`), relative to the config's directory.
    #[serde(default)]
    pub files: Vec<String>,
    /// The ssh command line (overridden by `JOBSPLIT_SSH` and `--ssh`).
    pub ssh: Option<String>,
    /// The study directory on every host that names none (default: `jobsplit/<name of the
    /// study directory>` under the remote home).
    pub dir: Option<String>,
    /// The study directory here, relative to the config's directory (default: the config's
    /// directory): what launch ships lies below it, each host mirrors it. For a config kept
    /// in a folder of the study (`root = ".."`), as the Python `Study` writes its own.
    pub root: Option<std::path::PathBuf>,
}

/// The `[jobs]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// The job list file.
    pub file: Option<PathBuf>,
    /// Its format (else guessed from the extension).
    pub format: Option<Format>,
    /// The command template.
    pub command: Option<String>,
    /// A persistent worker command (docs/workers.md) that runs the jobs instead of a command
    /// per job. Not part of the work: it changes neither the digests nor the seeds.
    pub worker: Option<String>,
}

/// What to keep of a command job's output as its `result` column when it writes no result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capture {
    /// Nothing: only `$JOBSPLIT_RESULT` gives result columns.
    #[default]
    None,
    /// The last non-empty line of stdout.
    LastLine,
}

impl std::str::FromStr for Capture {
    type Err = Error;
    fn from_str(s: &str) -> Result<Capture> {
        match s {
            "none" => Ok(Capture::None),
            "last-line" => Ok(Capture::LastLine),
            _ => Err(Error::usage(format!(
                "unknown capture mode `{s}`: use none or last-line"
            ))),
        }
    }
}

/// Where a command job runs: the directory jobsplit was launched from, or a fresh directory of
/// its own (`OUT/<machine>/jobs/<index>/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workdir {
    /// The launch directory (jobsplit's current directory).
    #[default]
    Launch,
    /// The job's own `jobs/<index>/`, created empty before each attempt.
    Job,
}

impl std::str::FromStr for Workdir {
    type Err = Error;
    fn from_str(s: &str) -> Result<Workdir> {
        match s {
            "launch" => Ok(Workdir::Launch),
            "job" => Ok(Workdir::Job),
            _ => Err(Error::usage(format!(
                "unknown workdir `{s}`: use launch (the directory jobsplit runs in) or job (each job in its own fresh OUT/<machine>/jobs/<index>/)"
            ))),
        }
    }
}

/// The `[run]` table: local settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Output directory; this machine writes into `out/<machine>/`.
    pub out: PathBuf,
    /// Worker threads, 1 to [`MAX_THREADS`](crate::input::MAX_THREADS) (default: the machine's cores in the plan).
    #[serde(deserialize_with = "super::values::ranged::threads")]
    pub threads: Option<usize>,
    /// Per-job time limit, at most [`MAX_DURATION`](crate::input::MAX_DURATION) (0: none).
    #[serde(deserialize_with = "super::values::opt_duration::deserialize")]
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when a job is stopped, at most [`MAX_DURATION`](crate::input::MAX_DURATION).
    #[serde(deserialize_with = "super::values::duration::grace")]
    pub grace: Duration,
    /// Extra attempts for a job that fails or times out, 0 to [`MAX_RETRIES`](crate::input::MAX_RETRIES).
    #[serde(deserialize_with = "super::values::ranged::retries")]
    pub retries: u32,
    /// Scheduling priority for jobs, 0 (unchanged) to [`MAX_NICE`](crate::input::MAX_NICE) (the politest).
    #[serde(deserialize_with = "super::values::ranged::nice")]
    pub nice: i32,
    /// Result capture for command jobs.
    pub capture: Capture,
    /// Where command jobs run: `launch` or `job` (each in its own fresh `jobs/<index>/`).
    pub workdir: Workdir,
    /// Time between progress lines when not on a terminal, [`MIN_PROGRESS_INTERVAL`](crate::input::MIN_PROGRESS_INTERVAL) to
    /// [`MAX_DURATION`](crate::input::MAX_DURATION).
    #[serde(deserialize_with = "super::values::duration::progress_interval")]
    pub progress_interval: Duration,
    /// Time between two writes of status.json while running, 0.1 s to 1 hour.
    #[serde(deserialize_with = "super::values::duration::status_interval")]
    pub status_interval: Duration,
    /// Also write one compressed log per job under `logs/`.
    pub job_logs: bool,
    /// fsync results.csv after every row (slower; survives power loss).
    pub fsync: bool,
    /// Restart each persistent worker after this many jobs, at least 1 (none: never).
    #[serde(default, deserialize_with = "super::values::ranged::worker_recycle")]
    pub worker_recycle: Option<u64>,
    /// How jobs are balanced across hosts: `static` (each runs its share) or `steal`.
    pub balance: crate::model::Balance,
    /// Jobs per stealing block, 1 to 1e9 (none: from the plan; docs/balance.md).
    #[serde(default, deserialize_with = "super::values::ranged::steal_block")]
    pub steal_block: Option<u64>,
    /// A shell command run on a run's events (a job failed for good, the machine finished...).
    pub notify: Option<String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            out: PathBuf::from("out"),
            threads: None,
            timeout: None,
            grace: Duration::from_secs(10),
            retries: 0,
            nice: 0,
            capture: Capture::None,
            workdir: Workdir::Launch,
            progress_interval: Duration::from_secs(10),
            status_interval: Duration::from_secs(2),
            job_logs: false,
            fsync: false,
            worker_recycle: None,
            balance: crate::model::Balance::Static,
            steal_block: None,
            notify: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    seed: Option<String>,
    machines: Option<PathBuf>,
    #[serde(default)]
    jobs: JobsConfig,
    #[serde(default)]
    params: toml::Table,
    #[serde(default)]
    run: RunConfig,
    #[serde(default)]
    ship: ShipConfig,
}

impl Config {
    /// Reads the config at `path`.
    ///
    /// # Errors
    /// A missing file, bad TOML, an unknown key (with the closest known one), a value of the
    /// wrong type, a parameter TOML can hold but JSON cannot (NaN, infinity).
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::parse(path, &text)
    }

    /// Parses config text; `path` names it in messages and anchors relative paths.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        let mut params = Map::new();
        for (k, v) in raw.params {
            let v = toml_to_json(&v)
                // A top-level string becomes JOBSPLIT_PARAM_<NAME>, which cannot hold a NUL
                // (JOBSPLIT_PARAMS, JSON, writes it as \u0000).
                .and_then(|v| match &v {
                    Value::String(s) if s.contains('\0') => Err(
                        "holds a NUL byte, which no environment variable (JOBSPLIT_PARAM_<NAME>) can carry: remove it".to_owned(),
                    ),
                    _ => Ok(v),
                })
                .map_err(|m| Error::config(Some(path), None, format!("[params] {k}: {m}")))?;
            params.insert(k, v);
        }
        let mut run = raw.run;
        run.out = resolve(run.out);
        Ok(Config {
            path: Some(path.to_path_buf()),
            seed: raw.seed,
            machines: raw.machines.map(resolve),
            jobs: JobsConfig {
                file: raw.jobs.file.map(resolve),
                ..raw.jobs
            },
            params,
            run,
            ship: raw.ship,
        })
    }
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1);
    let mut message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((key, expected)) = rest.split_once("`, expected ") {
            let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            let best = known
                .iter()
                .map(|k| (strsim::jaro_winkler(key, k), *k))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            message = match best {
                Some((score, k)) if score > 0.7 => {
                    format!(
                        "unknown key `{key}`: did you mean `{k}`? (known keys: {})",
                        known.join(", ")
                    )
                }
                _ => format!("unknown key `{key}` (known keys: {})", known.join(", ")),
            };
        }
    }
    Error::config(Some(path), line, message)
}

fn toml_to_json(v: &toml::Value) -> std::result::Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::Number(
            serde_json::Number::from_f64(*f)
                .ok_or_else(|| format!("{f} has no JSON form: use a finite number"))?,
        ),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .map(toml_to_json)
                .collect::<std::result::Result<_, _>>()?,
        ),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
