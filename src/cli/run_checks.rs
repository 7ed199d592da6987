//! `jobsplit run`'s refusals of settings that do not fit together, made once they are resolved
//! and before any directory is made: a command template a worker would not use, a plan the
//! launching host does not expect, a working directory per job without a process per job.

use anyhow::{bail, Result};

use super::args::RunArgs;
use super::JobSource;
use crate::input::Workdir;
use crate::plan::Plan;
use crate::Error;

/// Refuses a command template a worker would not use, and a record job list with no
/// template for its shell jobs: before any directory is made.
pub(super) fn check_commands(
    config: &crate::input::Config,
    work: &crate::Work,
    worker: Option<&str>,
    source: Option<&dyn JobSource>,
) -> Result<()> {
    if let (Some(_), Some(t)) = (worker, work.template()) {
        bail!(Error::template(
            config.path.as_deref(),
            None,
            format!(
                "a worker runs the jobs, so the command template `{}` would not be used: remove [jobs] command (or --cmd), or the worker",
                t.source()
            ),
        ));
    }
    // Shell jobs from records need a template; refused before any directory is made.
    let format = work.jobs().format();
    if source.is_none()
        && worker.is_none()
        && work.template().is_none()
        && format != crate::input::Format::Lines
    {
        bail!(Error::template(
            Some(work.jobs().path()),
            None,
            format!(
                "a {format} job list needs a command template: set [jobs] command or pass --cmd, e.g. --cmd 'run {{}}'"
            ),
        ));
    }
    Ok(())
}

/// With `--expect-digest`, the plan is the one the launching host expects (or, following,
/// grew from it).
pub(super) fn check_plan(args: &RunArgs, plan: &Plan) -> Result<()> {
    if let Some(hex) = &args.expect_digest {
        let hex = hex.to_ascii_lowercase();
        // A follower's plan may have grown from the expected one: an epoch of it (D_e chains
        // every earlier epoch) is that plan.
        let grew_from = |e: &crate::plan::EpochPlan| e.plan_digest.hex().starts_with(&hex);
        let matches = plan.plan_digest().hex().starts_with(&hex)
            || (args.follow && plan.epochs().iter().any(grew_from));
        if hex.is_empty() || !matches {
            bail!(Error::mismatch(None, None, format!(
                "the plan digest is {} but --expect-digest says {hex}: the hosts' inputs differ (job list, config, machines or seed)",
                plan.plan_digest().short()
            )));
        }
    }
    Ok(())
}

/// `workdir = "job"` needs a process per job: refused for a worker or a program's own jobs.
pub(super) fn check_workdir(
    args: &RunArgs,
    config: &crate::input::Config,
    workdir: Workdir,
    worker: bool,
    source: bool,
) -> Result<()> {
    let shared_process = match (worker, source) {
        (true, _) => Some("a persistent worker ([jobs] worker) runs every job in one process"),
        (false, true) => Some("this program runs its jobs as threads of one process"),
        (false, false) => None,
    };
    if let (Workdir::Job, Some(who)) = (workdir, shared_process) {
        let why = format!("runs each command job in its own directory, but {who} that cannot change directory per job");
        bail!(match args.workdir {
            Some(_) => Error::usage(format!("--workdir job {why}: drop --workdir job")),
            None => Error::config(
                config.path.as_deref(),
                None,
                format!("[run] workdir = \"job\" {why}: remove workdir (or pass --workdir launch to override it here)"),
            ),
        });
    }
    Ok(())
}
