//! Command-line arguments, parsed by clap and resolved elsewhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) use super::arg_values::InputArgs;
use super::arg_values::{parse_duration, parse_shard_count};
pub(crate) use super::remote_args::{
    CollectArgs, LaunchArgs, OnArgs, RemoteArgs, RemoteView, ServeArgs, WatchArgs,
};
pub(crate) use super::run_args::RunArgs;

#[derive(Debug, Parser)]
#[command(
    name = "jobsplit",
    version,
    about = "Split a list of independent jobs across unlike machines, with no server.",
    long_about = "Split a list of independent jobs across unlike machines, with no server.\n\n\
        Copy the same binary, job list, config and machines.json to every host. Each host \
        computes the same plan (shown by its digest) and runs its own share.",
    after_help = "Examples:\n  jobsplit init study && cd study\n  jobsplit plan\n  jobsplit run --machine ws1\n  jobsplit merge out --out merged",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show who runs what: the plan digest and each machine's share.
    #[command(
        after_help = "Examples:\n  jobsplit plan\n  jobsplit plan --jobs jobs.txt --machines machines.json --json\n  jobsplit plan --shard-count 4"
    )]
    Plan(PlanArgs),
    /// Run this machine's share of the plan (resumes an earlier run).
    #[command(
        after_help = "Examples:\n  jobsplit run --machine ws1\n  JOBSPLIT_MACHINE=ws2 jobsplit run --yes --expect-digest 9106a1df\n  jobsplit run --shard 3/8 --out /shared/out\n  jobsplit run --rescue merged --machine ws1\n\nExit codes: 0 every job ok, 1 some failed, 2 bad input, 130 interrupted (rerun to resume)."
    )]
    Run(RunArgs),
    /// Join every host's output: one results.csv, one log, what is missing, measured speeds.
    #[command(
        after_help = "Examples:\n  jobsplit merge out --out merged\n  jobsplit merge hostA/out/ws1 hostB/out/ws2 --out merged --write-machines machines.calibrated.json\n\nExit codes: 0 every job ok, 1 some job not ok (see missing.txt), 2 bad input."
    )]
    Merge(MergeArgs),
    /// Show how far every host has got (also while they run).
    #[command(
        after_help = "Examples:\n  jobsplit status out\n  jobsplit status /shared/out --json"
    )]
    Status(StatusArgs),
    /// Show a job's log lines: every attempt, in time order, with attempt and stream.
    #[command(
        after_help = "Examples:\n  jobsplit log out/ws1 17\n  jobsplit log merged 17 20 --stream err\n  jobsplit log out 17 --json\n  jobsplit log out --failed --tsv > failed.tsv"
    )]
    Log(LogArgs),
    /// Stop jobs of a run, or keep them from starting: recorded cancelled, not retried.
    #[command(
        after_help = "Examples:\n  jobsplit cancel out/ws1 17\n  jobsplit cancel /shared/out 17 20 21\n\nA run writing the directory stops the jobs within a second (SIGTERM, then SIGKILL after its\n--grace) and records them `cancelled`; where no run is writing, the request stays in\nOUT/<machine>/cancel/ and the next run there does not start them. `run --rerun` runs them again.\n\nExit codes: 0 every job cancelled (or waiting for the next run), 1 some job had ended already or\nis in no running share, 2 bad input."
    )]
    Cancel(CancelArgs),
    /// Write a report of a run: one self-contained HTML page, or Markdown.
    #[command(
        after_help = "Examples:\n  jobsplit report out -o report.html\n  jobsplit report merged --markdown\n  jobsplit report merged --markdown -o report.md\n\nExit codes: 0 written, 2 bad input (nothing written)."
    )]
    Report(ReportArgs),
    /// Write sbatch scripts for a Slurm job array, its merge and its rescue.
    #[command(
        after_help = "Example:\n  jobsplit slurm-script --shards 16 --cpus-per-task 8 --time 04:00:00 --config jobsplit.toml --submit-dir slurm\n  bash slurm/submit.sh"
    )]
    SlurmScript(SlurmArgs),
    /// Write qsub scripts for a Grid Engine array job, its merge and its rescue.
    #[command(
        after_help = "Example:\n  jobsplit sge-script --shards 16 --pe smp --slots 8 --time 4h --config jobsplit.toml\n  bash sge/submit.sh"
    )]
    SgeScript(SgeArgs),
    /// Ship the study over ssh and start every host's share detached (docs/remote.md).
    #[command(
        after_help = "Examples:\n  jobsplit launch\n  JOBSPLIT_SSH=\"ssh -F lab/ssh_config\" jobsplit launch --machine ws2\n  jobsplit launch -- --threads 4\n\nExit codes: 0 every host running or done, 2 bad input (nothing sent), 5 some hosts unreachable or refused (the others launched)."
    )]
    Launch(LaunchArgs),
    /// Watch every launched host from here: a bar per host and in total.
    #[command(
        after_help = "Examples:\n  jobsplit watch\n  jobsplit watch --count 1\n\nCtrl-C stops watching only: the runs go on.\nExit codes: 0 every host ended, 2 bad input, 5 some host unreachable at the last look, 130 stopped watching."
    )]
    Watch(WatchArgs),
    /// Bring every launched host's OUT/<machine>/ here (new bytes only), then merge if asked.
    #[command(
        after_help = "Examples:\n  jobsplit collect\n  jobsplit collect --merge --out merged\n\nExit codes: 0 every host collected (and merged: every job ok), 1 merged with some job not ok, 2 bad input, 5 some hosts unreachable or a file refused (the others collected)."
    )]
    Collect(CollectArgs),
    /// Stop launched runs in order, as their first Ctrl-C would (a launch resumes them).
    #[command(
        after_help = "Examples:\n  jobsplit stop --machine ws2\n\nExit codes: 0 stopped or not running, 2 bad input, 5 some hosts unreachable."
    )]
    Stop(RemoteArgs),
    /// Run one of these commands in a machine's study directory on its host (log, cancel, status).
    #[command(
        after_help = "Examples:\n  jobsplit on --machine ws1 -- log out/ws1 17\n  jobsplit on --machine ws1 -- cancel out/ws1 17\n\nExit codes: the command's own on every host, else 5 (unreachable)."
    )]
    On(OnArgs),
    /// Remove the launched study directories from the hosts (refused where a run is running).
    #[command(
        after_help = "Examples:\n  jobsplit clean --machine ws3\n\nExit codes: 0 removed, 2 bad input, 5 some hosts unreachable or refused."
    )]
    Clean(RemoteArgs),
    /// The host side of the remote commands (used over ssh by jobsplit itself).
    #[command(hide = true, name = "remote-serve")]
    RemoteServe(ServeArgs),
    /// Write a starter jobsplit.toml, machines.json and jobs.txt to edit.
    #[command(after_help = "Example:\n  jobsplit init my-study")]
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  source <(jobsplit completions bash)          # bash, now; add it to ~/.bashrc to keep it\n  jobsplit completions zsh > ~/.zfunc/_jobsplit  # zsh, with ~/.zfunc in fpath\n  jobsplit completions fish > ~/.config/fish/completions/jobsplit.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) of every command.
    #[command(
        after_help = "Examples:\n  jobsplit man | man -l -\n  jobsplit man > ~/.local/share/man/man1/jobsplit.1"
    )]
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_name = "SHELL")]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Plan for N equal shards named shard-0..N-1 instead of the machines file (1 to 1000000)
    #[arg(long, value_name = "N", value_parser = parse_shard_count)]
    pub(crate) shard_count: Option<u64>,
    /// Print the plan as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Print the shell commands MACHINE would run, in order, one per line
    #[arg(long, value_name = "MACHINE", conflicts_with = "json")]
    pub(crate) commands: Option<String>,
    /// Preview the rescue plan of merge output DIR: only the jobs not ok there
    #[arg(long, value_name = "DIR")]
    pub(crate) rescue: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Directory to write into (created if needed)
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Machine output dirs (OUT/<machine>) or their parents
    #[arg(required = true, value_name = "DIR")]
    pub(crate) dirs: Vec<PathBuf>,
    /// Where to write results.csv, log.gz, summary.json and missing.txt
    #[arg(long, short = 'o', default_value = "merged", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Also write a machines file with weights calibrated from measured speed
    #[arg(long, value_name = "FILE")]
    pub(crate) write_machines: Option<PathBuf>,
    /// Do not gather each job's jobs/<index>/ files and per-job log into OUT/jobs/<index>/
    #[arg(long)]
    pub(crate) no_files: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Machine output dirs (OUT/<machine>) or their parents [default with --remote: OUT]
    #[arg(required_unless_present = "remote", value_name = "DIR")]
    pub(crate) dirs: Vec<PathBuf>,
    /// The study (read only when no host has started yet: its plan's machines are listed planned)
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Print the status as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Refresh until every host of the plan has ended (in place on a terminal, else a table a round)
    #[arg(long)]
    pub(crate) watch: bool,
    /// Time between two refreshes of --watch
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = parse_duration, requires = "watch")]
    pub(crate) interval: std::time::Duration,
    /// Stop --watch after N refreshes even if hosts still run
    #[arg(long, value_name = "N", requires = "watch")]
    pub(crate) count: Option<u64>,
    #[command(flatten)]
    pub(crate) view: RemoteView,
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// A machine output dir (OUT/<machine>) or an OUT tree
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Job indices to cancel
    #[arg(value_name = "JOB", required = true)]
    pub(crate) jobs: Vec<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// A machine output dir (OUT/<machine>), an OUT tree or a merged dir
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Job indices (every job's lines when none is given)
    #[arg(value_name = "JOB")]
    pub(crate) jobs: Vec<u64>,
    /// Only the lines of this stream
    #[arg(long, value_parser = ["out", "err", "log", "event"])]
    pub(crate) stream: Option<String>,
    /// Only the lines of attempt N (counted per host, from 1)
    #[arg(long, value_name = "N")]
    pub(crate) attempt: Option<u32>,
    /// Only the lines of attempts that failed (failed, timeout, killed), retried or not
    #[arg(long)]
    pub(crate) failed: bool,
    /// One JSON object per line: time, job, attempt, stream, text
    #[arg(long, conflicts_with = "tsv")]
    pub(crate) json: bool,
    /// Tab-separated with a header; text always quoted, `"` doubled (pandas, polars, duckdb, R)
    #[arg(long)]
    pub(crate) tsv: bool,
    #[command(flatten)]
    pub(crate) view: RemoteView,
    /// With --remote: the study's config file [default: ./jobsplit.toml if present]
    #[arg(
        long,
        short = 'c',
        env = "JOBSPLIT_CONFIG",
        value_name = "FILE",
        help_heading = "A launched study (docs/remote.md)"
    )]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// An OUT tree (or one machine dir) written by `jobsplit run`, or a merged dir
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Write the report here (HTML needs it; Markdown goes to stdout without it)
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Markdown instead of HTML
    #[arg(long)]
    pub(crate) markdown: bool,
    #[command(flatten)]
    pub(crate) view: RemoteView,
    /// With --remote: the study's config file [default: ./jobsplit.toml if present]
    #[arg(
        long,
        short = 'c',
        env = "JOBSPLIT_CONFIG",
        value_name = "FILE",
        help_heading = "A launched study (docs/remote.md)"
    )]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SlurmArgs {
    /// Number of array tasks (shards)
    #[arg(long, value_name = "N")]
    pub(crate) shards: u64,
    /// CPUs per task: jobs run at once in each task
    #[arg(long, default_value_t = 1, value_name = "C")]
    pub(crate) cpus_per_task: u32,
    /// Time limit per task: 4h, 90m, 1d, or Slurm's 04:00:00, 1-12:00 (a bare number is refused)
    #[arg(long, value_name = "T")]
    pub(crate) time: Option<String>,
    /// Time limit of the merge job [default: --time]
    #[arg(long, value_name = "T")]
    pub(crate) merge_time: Option<String>,
    /// SIGTERM to jobsplit this long before the time limit, to stop and record its jobs (0: none) [default: 2m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) stop_before: Option<std::time::Duration>,
    /// Let Slurm requeue a task after a node failure or preemption; it resumes its shard
    #[arg(long)]
    pub(crate) requeue: bool,
    /// Array tasks balance the study among themselves: `run --steal` through the shared --out
    /// (docs/balance.md); tasks that start late find their share taken and end at once
    #[arg(long)]
    pub(crate) steal: bool,
    /// Jobs per claimed block with --steal (`run --steal-block`) [default: ceil(sqrt(jobs per core / 50))]
    #[arg(long, value_name = "N", requires = "steal")]
    pub(crate) steal_block: Option<u64>,
    /// Partition
    #[arg(long, value_name = "P")]
    pub(crate) partition: Option<String>,
    /// Slurm job name
    #[arg(long, default_value = "jobsplit", value_name = "NAME")]
    pub(crate) job_name: String,
    /// The study's config file
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The job list (when the config does not name it)
    #[arg(long, value_name = "FILE")]
    pub(crate) jobs: Option<PathBuf>,
    /// Output directory of the array tasks
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Output directory of the merge
    #[arg(long, default_value = "merged", value_name = "DIR")]
    pub(crate) merged: PathBuf,
    /// An extra #SBATCH line for every job (repeatable), e.g. --account=abc
    #[arg(long = "sbatch-line", value_name = "LINE")]
    pub(crate) sbatch_lines: Vec<String>,
    /// The jobsplit binary as the compute nodes see it [default: this binary]
    #[arg(long, value_name = "PATH")]
    pub(crate) jobsplit: Option<PathBuf>,
    /// Directory to write the scripts into
    #[arg(long, default_value = "slurm", value_name = "DIR")]
    pub(crate) submit_dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SgeArgs {
    /// Number of array tasks (shards): qsub -t 1-N, task T runs shard T-1
    #[arg(long, value_name = "N")]
    pub(crate) shards: u64,
    /// Slots per task (needs --pe): jobs run at once in each task
    #[arg(long, default_value_t = 1, value_name = "C")]
    pub(crate) slots: u32,
    /// Parallel environment that gives a task its slots on one host (`qconf -spl` lists them)
    #[arg(long, value_name = "NAME")]
    pub(crate) pe: Option<String>,
    /// Time limit per task (-l h_rt): 4h, 90m, 1d, or 04:00:00 (a bare number is refused)
    #[arg(long, value_name = "T")]
    pub(crate) time: Option<String>,
    /// Time limit of the merge job [default: --time]
    #[arg(long, value_name = "T")]
    pub(crate) merge_time: Option<String>,
    /// Array tasks balance the study among themselves: `run --steal` through the shared --out
    /// (docs/balance.md); tasks that start late find their share taken and end at once
    #[arg(long)]
    pub(crate) steal: bool,
    /// Jobs per claimed block with --steal (`run --steal-block`) [default: ceil(sqrt(jobs per core / 50))]
    #[arg(long, value_name = "N", requires = "steal")]
    pub(crate) steal_block: Option<u64>,
    /// Queue (-q)
    #[arg(long, value_name = "Q")]
    pub(crate) queue: Option<String>,
    /// At most N tasks of the array run at once (-tc N)
    #[arg(long, value_name = "N")]
    pub(crate) max_running: Option<u64>,
    /// Grid Engine job name (-N)
    #[arg(long, default_value = "jobsplit", value_name = "NAME")]
    pub(crate) job_name: String,
    /// The study's config file
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The job list (when the config does not name it)
    #[arg(long, value_name = "FILE")]
    pub(crate) jobs: Option<PathBuf>,
    /// Output directory of the array tasks
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Output directory of the merge
    #[arg(long, default_value = "merged", value_name = "DIR")]
    pub(crate) merged: PathBuf,
    /// An extra #$ line for every job (repeatable), e.g. '-l h_vmem=4G' or '-P project'
    #[arg(long = "qsub-line", value_name = "LINE", allow_hyphen_values = true)]
    pub(crate) qsub_lines: Vec<String>,
    /// The jobsplit binary as the execution hosts see it [default: this binary]
    #[arg(long, value_name = "PATH")]
    pub(crate) jobsplit: Option<PathBuf>,
    /// Directory to write the scripts into
    #[arg(long, default_value = "sge", value_name = "DIR")]
    pub(crate) submit_dir: PathBuf,
}
