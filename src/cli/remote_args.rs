//! The flags of the remote commands (`launch`, `watch`, `collect`, `stop`, `on`, `clean`;
//! docs/remote.md).

use std::path::PathBuf;

use clap::Args;

use super::args::{parse_duration, InputArgs};

/// Where the study's machines are and how to reach them.
#[derive(Debug, Args)]
pub(crate) struct RemoteArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) at: HostArgs,
}

/// The machines selected and how to reach them (with the study's inputs: [`RemoteArgs`]).
#[derive(Debug, Clone, Args)]
pub(crate) struct HostArgs {
    /// Only this machine (repeatable) [default: every machine of the plan]
    #[arg(long = "machine", short = 'M', value_name = "NAME")]
    pub(crate) machines_selected: Vec<String>,
    /// Reach MACHINE at this ssh destination (repeatable; overrides its "ssh" in the machines file)
    #[arg(long = "host", value_name = "MACHINE=[USER@]HOST")]
    pub(crate) hosts: Vec<String>,
    /// The study directory on every host (absolute, or relative to the remote home) [default:
    /// each machine's "dir", else [ship] dir, else jobsplit/<this study's directory name>]
    #[arg(long, value_name = "DIR")]
    pub(crate) remote_dir: Option<String>,
    /// The ssh command line, as in a shell (overrides [ship] ssh) [default: ssh]
    #[arg(long, env = "JOBSPLIT_SSH", value_name = "CMD")]
    pub(crate) ssh: Option<String>,
    /// Act on the rescue of this merge output: the jobs not ok there, re-planned onto the
    /// machines left (all but --dead), their runs writing to OUT-rescue
    #[arg(long, value_name = "MERGED_DIR")]
    pub(crate) rescue: Option<PathBuf>,
    /// With --rescue: a machine that is dead or gone (repeatable); the rescue plan leaves it out
    #[arg(long, value_name = "NAME", requires = "rescue")]
    pub(crate) dead: Vec<String>,
}

/// `status --remote`, `log --remote`, `report --remote`: read a launched study's hosts over ssh.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "A launched study (docs/remote.md)")]
pub(crate) struct RemoteView {
    /// Read the launched study's hosts over ssh first (the study found as `launch` finds it):
    /// only the small files needed; DIR is the study's OUT here, or OUT/<machine>
    #[arg(long)]
    pub(crate) remote: bool,
    #[command(flatten)]
    pub(crate) at: HostArgs,
}

/// `jobsplit launch`.
#[derive(Debug, Args)]
pub(crate) struct LaunchArgs {
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
    /// The jobsplit binary to ship (static Linux; repeatable, one per architecture) [default:
    /// this one when it fits the host, else jobsplit-<arch>-linux beside it or in target/dist/]
    #[arg(long, value_name = "FILE")]
    pub(crate) binary: Vec<PathBuf>,
    /// Start over where an output dir of another plan is in the way (`run --fresh`), also where
    /// the share is done
    #[arg(long)]
    pub(crate) fresh: bool,
    /// More `jobsplit run` flags for every host (after `--`), e.g. -- --threads 2 --retries 1
    #[arg(last = true, value_name = "RUN_FLAGS")]
    pub(crate) run_flags: Vec<String>,
}

/// `jobsplit collect`.
#[derive(Debug, Args)]
pub(crate) struct CollectArgs {
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
    /// Then merge the local OUT into --out
    #[arg(long)]
    pub(crate) merge: bool,
    /// Where --merge writes
    #[arg(
        long,
        short = 'o',
        default_value = "merged",
        value_name = "DIR",
        requires = "merge"
    )]
    pub(crate) out: PathBuf,
}

/// `jobsplit watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
    /// Time between two looks
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) interval: std::time::Duration,
    /// Stop after N looks even if hosts still run (1: look once, as `status`)
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
}

/// `jobsplit on`.
#[derive(Debug, Args)]
pub(crate) struct OnArgs {
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
    /// The jobsplit command to run there, in the study directory (after `--`)
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) words: Vec<String>,
}

/// The host side (hidden): `jobsplit remote-serve OP ARGS...`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The operation
    pub(crate) op: String,
    /// Its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,
}
