//! The flags of `jobsplit run` (and of a program's `run`): the study, the machine, how the share
//! runs, where it is written. Each overrides its `[run]` key in the config.

use std::path::PathBuf;

use clap::Args;

use super::arg_values::{parse_duration, parse_shard_count, ranged, InputArgs};

/// `jobsplit run`'s flags.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// This machine's name in the machines file
    #[arg(long, short = 'M', env = "JOBSPLIT_MACHINE", value_name = "NAME")]
    pub(crate) machine: Option<String>,
    /// Run shard I of N equal shards (any batch engine); overrides detecting an array task
    #[arg(long, value_name = "I/N", conflicts_with = "machine")]
    pub(crate) shard: Option<crate::engine::Shard>,
    /// Shard count of a Kubernetes Indexed Job, PBS Pro or Torque array (else env JOBSPLIT_SHARD_COUNT; 1 to 1000000)
    #[arg(long, value_name = "N", value_parser = parse_shard_count)]
    pub(crate) shard_count: Option<u64>,
    /// Output directory; this machine writes OUT/<machine>/ (overrides [run] out)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Worker threads, 1 to 4096 (does not change the plan) [default: the machine's cores]
    #[arg(long, short = 't', value_name = "N", value_parser = parse_threads, allow_negative_numbers = true)]
    pub(crate) threads: Option<usize>,
    /// Run without asking to confirm
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Print the commands this machine would run now, in order, one per line; run and write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Refuse to run unless the plan digest starts with HEX (with --follow: or an epoch's, the
    /// plan grew from it)
    #[arg(long, value_name = "HEX")]
    pub(crate) expect_digest: Option<String>,
    /// Result capture: none, or last-line (last stdout line -> `result` column)
    #[arg(long, value_name = "MODE", value_parser = parse_capture)]
    pub(crate) capture: Option<crate::input::Capture>,
    /// Per-job time limit: seconds or 90s, 10m, 2h, at most 365d; 0 for none (overrides [run]
    /// timeout)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_negative_numbers = true)]
    pub(crate) timeout: Option<std::time::Duration>,
    /// Time between SIGTERM and SIGKILL when stopping a job (at most 365d) [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_negative_numbers = true)]
    pub(crate) grace: Option<std::time::Duration>,
    /// Extra attempts for a job that fails or times out (3: up to 4 in all), 0 to 1000 [default: 0]
    #[arg(long, value_name = "N", value_parser = parse_retries, allow_negative_numbers = true)]
    pub(crate) retries: Option<u32>,
    /// Scheduling priority for jobs, 0 to 19 (19 is the politest) [default: 0]
    #[arg(long, value_name = "N", value_parser = parse_nice, allow_negative_numbers = true)]
    pub(crate) nice: Option<i32>,
    /// Move an output dir of another plan aside (kept, renamed) and start over
    #[arg(long, conflicts_with = "keep_done")]
    pub(crate) fresh: bool,
    /// Keep an output dir of another plan and skip the jobs it finished (by key)
    #[arg(long)]
    pub(crate) keep_done: bool,
    /// When the share is done, keep running: run this machine's shares of the jobs appended to
    /// the job list (each append a new epoch) until Ctrl-C or SIGTERM
    #[arg(long, conflicts_with_all = ["rescue", "dry_run"])]
    pub(crate) follow: bool,
    /// Re-plan only the jobs not ok in this merge output (see `jobsplit merge`)
    #[arg(long, value_name = "MERGED_DIR")]
    pub(crate) rescue: Option<PathBuf>,
    /// Run these jobs of this machine's share again although they are ok or cancelled, as
    /// 17,20-25 (new attempt rows; merge takes the latest ok)
    #[arg(long, value_name = "LIST")]
    pub(crate) rerun: Option<crate::run::JobSet>,
    /// No progress display and no summary
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// Time between progress lines when not on a terminal, 0.1s to 365d [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_progress_interval, allow_negative_numbers = true)]
    pub(crate) progress_interval: Option<std::time::Duration>,
    /// Time between two writes of status.json while running, 0.1s to 1h [default: 2s]
    #[arg(long, value_name = "DURATION", value_parser = parse_status_interval)]
    pub(crate) status_interval: Option<std::time::Duration>,
    /// Also write one compressed log per job under OUT/<machine>/logs/
    #[arg(long)]
    pub(crate) job_logs: bool,
    /// Where command jobs run: launch (this directory) or job (each in its own fresh OUT/<machine>/jobs/<index>/) [default: launch]
    #[arg(long, value_name = "WHERE", value_parser = parse_workdir)]
    pub(crate) workdir: Option<crate::input::Workdir>,
    /// Run this shell command on events (job_failed, job_timed_out, machine_finished, run_interrupted): JSON on stdin, JOBSPLIT_* variables
    #[arg(long, value_name = "CMD")]
    pub(crate) notify: Option<String>,
    /// fsync results.csv after every row
    #[arg(long)]
    pub(crate) fsync: bool,
    /// Run the jobs on persistent workers started as CMD (docs/workers.md; overrides [jobs] worker)
    #[arg(long, value_name = "CMD")]
    pub(crate) worker: Option<String>,
    /// Restart each worker after N jobs, N >= 1 (overrides [run] worker_recycle)
    #[arg(long, value_name = "N", value_parser = parse_worker_recycle, allow_negative_numbers = true)]
    pub(crate) worker_recycle: Option<u64>,
    /// Balance by work stealing over the shared OUT: claim blocks, take slower shares' tails
    /// (docs/balance.md; overrides [run] balance)
    #[arg(long)]
    pub(crate) steal: bool,
    /// Jobs per stealing block, 1 to 1e9; every host must agree (overrides [run] steal_block)
    #[arg(long, value_name = "N", value_parser = parse_steal_block, allow_negative_numbers = true)]
    pub(crate) steal_block: Option<u64>,
    /// Join a stealing study as a helper called NAME: a pure thief not in the machines file
    #[arg(long, value_name = "NAME", requires = "steal", conflicts_with_all = ["machine", "shard"])]
    pub(crate) helper: Option<String>,
    /// Steal with no shared OUT (hosts launched over ssh): each block claimed on its owner's
    /// own disk, other shares' blocks handed by `jobsplit watch` (docs/remote.md)
    #[arg(long, conflicts_with = "helper")]
    pub(crate) steal_remote: bool,
    /// With --steal-remote, where the hosts can ssh each other: steal from the peers' disks
    /// and learn fences from them with no launcher (peers from .jobsplit-remote/peers.json,
    /// written by launch; docs/remote.md)
    #[arg(long, requires = "steal_remote")]
    pub(crate) steal_mesh: bool,
}

fn parse_steal_block(s: &str) -> Result<u64, String> {
    ranged(s, 1, crate::run::steal::blocks::MAX_BLOCK)
}

fn parse_capture(s: &str) -> Result<crate::input::Capture, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}

fn parse_workdir(s: &str) -> Result<crate::input::Workdir, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}

fn parse_status_interval(s: &str) -> Result<std::time::Duration, String> {
    crate::input::parse_status_interval(s).map_err(|e| e.to_string())
}

fn parse_progress_interval(s: &str) -> Result<std::time::Duration, String> {
    crate::input::parse_progress_interval(s).map_err(|e| e.to_string())
}

fn parse_threads(s: &str) -> Result<usize, String> {
    // MAX_THREADS fits any usize.
    ranged(s, 1, crate::input::MAX_THREADS).map(|n| n as usize)
}

fn parse_retries(s: &str) -> Result<u32, String> {
    // MAX_RETRIES fits a u32.
    ranged(s, 0, crate::input::MAX_RETRIES).map(|n| n as u32)
}

fn parse_nice(s: &str) -> Result<i32, String> {
    // MAX_NICE fits an i32.
    ranged(s, 0, crate::input::MAX_NICE).map(|n| n as i32)
}

fn parse_worker_recycle(s: &str) -> Result<u64, String> {
    ranged(s, 1, u64::MAX)
}
