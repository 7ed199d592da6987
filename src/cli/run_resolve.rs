//! `jobsplit run`, step one: every flag, environment variable and config key resolved, once,
//! into a [`RunSettings`] before anything is asked, written or run.

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::{bail, Result};

use super::args::RunArgs;
use super::resolve::{self, Study};
use super::run_checks::{check_commands, check_plan, check_workdir};
use super::run_settings::RunSettings;
use super::JobSource;
use crate::engine;
use crate::plan::Plan;
use crate::run::{Balance, Resume, RunOptions, StealOptions};
use crate::Error;

/// Resolves flags, environment and config into one [`RunSettings`]: nothing is written, nothing
/// is asked (except the machine menu on a terminal when no other rule names the machine).
pub(crate) fn resolve(args: &RunArgs, source: Option<&dyn JobSource>) -> Result<RunSettings> {
    let env = |name: &str| std::env::var(name).ok();
    let shard = shard_of(args, &env)?;
    let machines = shard
        .map(|s| resolve::shard_machines(s.count))
        .transpose()?;
    let (study, notes, warnings) = first_study(args, machines.clone(), source)?;
    let worker = match (&args.worker, &study.config.jobs.worker) {
        (Some(w), _) | (None, Some(w)) if source.is_none() => Some(w.clone()),
        _ => None,
    };
    check_commands(&study.config, &study.work, worker.as_deref(), source)?;
    let steal = resolve_steal(args, &study.config.run, &study.plan)?;
    let helper = steal.as_ref().and_then(|s| s.helper.clone());
    let machine = match (shard, &helper) {
        (_, Some(_)) => 0,
        (Some(s), None) => s.index as usize,
        (None, None) => pick_machine(&study.plan, args.machine.as_deref())?,
    };
    let mut m = study.plan.machines()[machine].clone();
    if let Some(h) = &helper {
        m.name = h.clone();
        m.cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| study.config.run.out.clone());
    let dir = out.join(&m.name);
    let Study {
        config,
        work,
        plan,
        growth,
    } = match args.rescue {
        None => super::run_epochs::grown_study(&args.input, machines, source, &study, &dir)?
            .unwrap_or(study),
        Some(_) => study,
    };
    check_plan(args, &plan)?;
    let run = &config.run;
    let threads = threads_of(args, run, shard, &env, m.cores);
    // A helper has no share of its own.
    let share = plan.share(machine).len() * usize::from(helper.is_none());
    let headline = headline(&plan, &m.name, share, threads, &dir, steal.as_ref());
    let workdir = args.workdir.unwrap_or(run.workdir);
    check_workdir(args, &config, workdir, worker.is_some(), source.is_some())?;
    Ok(RunSettings {
        capture: args.capture.unwrap_or(run.capture),
        workdir,
        worker,
        worker_recycle: args.worker_recycle.or(run.worker_recycle),
        notify: args
            .notify
            .clone()
            .or_else(|| run.notify.clone())
            .filter(|c| !c.trim().is_empty()),
        nice: args.nice.unwrap_or(run.nice),
        progress_interval: args
            .progress_interval
            .unwrap_or(run.progress_interval)
            .max(Duration::from_millis(100)),
        quiet: args.quiet,
        confirm: !args.yes,
        opts: run_options(args, run, dir, threads, shard),
        work,
        plan,
        growth,
        machine,
        headline,
        notes,
        warnings,
        steal,
    })
}

/// The study as the inputs (or `--rescue`'s merge) make it, with the rescue's notes and
/// warnings.
fn first_study(
    args: &RunArgs,
    machines: Option<Vec<crate::input::Machine>>,
    source: Option<&dyn JobSource>,
) -> Result<(Study, Vec<String>, Vec<String>)> {
    Ok(match &args.rescue {
        Some(dir) => {
            let r = resolve::rescue_study(&args.input, machines, dir, source, resolve::DROP_DEAD)?;
            (r.study, r.notes, r.warnings)
        }
        None => {
            let grows = super::run_epochs::RUN_GROWS;
            let study = resolve::study_with(&args.input, machines, &[], source, grows)?;
            (study, Vec::new(), Vec::new())
        }
    })
}

/// The worker threads: `--threads`, else the config's, else for a shard the engine's
/// allocation or else this node's cores, else the machine's cores; at least one.
fn threads_of(
    args: &RunArgs,
    run: &crate::input::RunConfig,
    shard: Option<crate::engine::Shard>,
    env: &dyn Fn(&str) -> Option<String>,
    cores: u64,
) -> usize {
    args.threads
        .or(run.threads)
        .or_else(|| shard.and(engine::local_threads(env)))
        .or_else(|| shard.map(|_| std::thread::available_parallelism().map_or(1, usize::from)))
        .unwrap_or(cores as usize)
        .max(1)
}

/// The runner's settings, from the flags over the config's `[run]`.
fn run_options(
    args: &RunArgs,
    run: &crate::input::RunConfig,
    dir: std::path::PathBuf,
    threads: usize,
    shard: Option<crate::engine::Shard>,
) -> RunOptions {
    RunOptions {
        dir,
        threads,
        timeout: args.timeout.or(run.timeout).filter(|t| !t.is_zero()),
        grace: args.grace.unwrap_or(run.grace),
        retries: args.retries.unwrap_or(run.retries),
        job_logs: args.job_logs || run.job_logs,
        fsync: args.fsync || run.fsync,
        resume: if args.fresh {
            Resume::Fresh
        } else if args.keep_done {
            Resume::KeepDone
        } else {
            Resume::Same
        },
        status_interval: args.status_interval.unwrap_or(run.status_interval),
        shard,
        rerun: args.rerun.clone().unwrap_or_default(),
    }
}

/// The shard this run is: `--shard`, else none when a machine or helper is named, else what a
/// batch engine's environment says (its count from `--shard-count` or the environment).
fn shard_of(
    args: &RunArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::engine::Shard>> {
    Ok(match args.shard {
        Some(s) => Some(s),
        None if args.machine.is_some() || args.helper.is_some() => None,
        None => {
            let count = match args.shard_count {
                Some(n) => Some(n),
                None => env(engine::SHARD_COUNT_ENV)
                    .map(|v| {
                        v.parse::<u64>().map_err(|_| {
                            Error::usage(format!(
                                "{}={v} is not a whole number",
                                engine::SHARD_COUNT_ENV
                            ))
                        })
                    })
                    .transpose()?,
            };
            engine::detect(env, count)?
        }
    })
}

/// The one line that says what will run where.
fn headline(
    plan: &Plan,
    name: &str,
    share: usize,
    threads: usize,
    dir: &std::path::Path,
    steal: Option<&StealOptions>,
) -> String {
    format!(
        "plan {} ({}, work {}): machine {} runs {share} of {}{} with {} into {}",
        plan.plan_digest().short(),
        crate::plan::ALGORITHM,
        plan.work_digest().short(),
        name,
        super::progress::count(plan.jobs(), "job", "jobs"),
        if plan.excluded() > 0 {
            format!(" ({} excluded as done)", plan.excluded())
        } else {
            String::new()
        },
        super::progress::count(threads as u64, "thread", "threads"),
        dir.display()
    ) + &match steal {
        Some(s) => format!(
            ", stealing blocks of {}{}",
            crate::run::steal::block_of(plan, dir, s),
            if s.helper.is_some() {
                " as a helper"
            } else {
                ""
            }
        ),
        None => String::new(),
    }
}

/// `--steal`/`[run] balance`, `--steal-block`/`[run] steal_block` and `--helper`, checked.
fn resolve_steal(
    args: &RunArgs,
    run: &crate::input::RunConfig,
    plan: &Plan,
) -> Result<Option<StealOptions>> {
    let stealing = args.steal || args.steal_remote || run.balance == Balance::Steal;
    if !stealing {
        if args.steal_block.is_some() {
            bail!(Error::usage(
                "--steal-block sets the block size of a stealing run: pass --steal too (or set [run] balance = \"steal\")"
            ));
        }
        return Ok(None);
    }
    if args.fresh || args.keep_done {
        bail!(Error::usage(format!(
            "{} cannot go with --steal: the claims in the shared output directory name this machine; start a new study in another --out",
            if args.fresh { "--fresh" } else { "--keep-done" }
        )));
    }
    if let Some(h) = &args.helper {
        let bad =
            h.is_empty() || h.starts_with('.') || h.contains(['/', '\\', '\0']) || h.len() > 255;
        if bad {
            bail!(Error::usage(format!(
                "--helper `{}` cannot name a directory: use letters, digits, `-` and `_`",
                crate::text::escape(h)
            )));
        }
        if plan.machine_index(h).is_some() {
            bail!(Error::usage(format!(
                "--helper `{h}` is a machine of the plan: pass --machine {h} to run its share, or name the helper otherwise"
            )));
        }
    }
    Ok(Some(StealOptions {
        block: args.steal_block.or(run.steal_block),
        helper: args.helper.clone(),
        remote: args.steal_remote,
        follow: args.follow,
        mesh: if args.steal_mesh {
            let peers = crate::remote::peers::read(&crate::remote::peers::path())?;
            Some(crate::run::steal::peers::StartPeers(std::sync::Arc::new(
                move |at| {
                    crate::remote::mesh::Mesh::start(&peers, at)
                        .map(|m| Box::new(m) as Box<dyn crate::run::steal::peers::Peers>)
                },
            )))
        } else {
            None
        },
    }))
}

/// `--machine`/`JOBSPLIT_MACHINE` > the host name > a menu on a terminal > an error.
fn pick_machine(plan: &Plan, named: Option<&str>) -> Result<usize> {
    let names: Vec<&str> = plan.machines().iter().map(|m| m.name.as_str()).collect();
    if let Some(name) = named {
        if let Some(j) = plan.machine_index(name) {
            return Ok(j);
        }
        let best = names
            .iter()
            .map(|n| (strsim::jaro_winkler(name, n), *n))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(score, _)| *score > 0.7)
            .map(|(_, n)| format!(" did you mean `{n}`?"))
            .unwrap_or_default();
        bail!(Error::usage(format!(
            "unknown machine `{name}`:{best} (machines: {})",
            names.join(", ")
        )));
    }
    let host = crate::run::hostname();
    let matches: Vec<usize> = (0..names.len())
        .filter(|&j| !host.is_empty() && plan.machines()[j].matches_host(&host))
        .collect();
    if let [j] = matches[..] {
        return Ok(j);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        let items: Vec<String> = plan
            .machines()
            .iter()
            .enumerate()
            .map(|(j, m)| {
                format!(
                    "{:<16} weight {:<6} cores {:<4} jobs {}",
                    crate::text::escape(&m.name),
                    m.weight.to_string(),
                    m.cores,
                    plan.share(j).len()
                )
            })
            .collect();
        let choice = dialoguer::Select::new()
            .with_prompt(format!("Which machine is this (host `{host}`)?"))
            .items(&items)
            .default(0)
            .interact()
            .map_err(|e| {
                Error::usage(format!("cannot read the choice ({e}): pass --machine NAME"))
            })?;
        return Ok(choice);
    }
    bail!(Error::usage(format!(
        "which machine is this? pass --machine NAME or set JOBSPLIT_MACHINE (machines: {}; host name `{host}` matches none{})",
        names.join(", "),
        if matches.len() > 1 { " uniquely" } else { "" }
    )))
}
