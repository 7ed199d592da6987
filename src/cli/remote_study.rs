//! A launched study resolved once from the flags, the config and the machines file: the
//! machines selected, where each is (ssh destination and study directory), OUT here and
//! there, and the ssh client; and running one step on every host at once.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::RemoteArgs;
use crate::remote::{Host, Ssh};
use crate::Error;

/// A launched study as seen from here.
pub(crate) struct RemoteStudy {
    pub(super) study: super::resolve::Study,
    /// The study directory here (the config's directory).
    pub(super) root: PathBuf,
    /// The selected machines and where they are.
    pub(super) hosts: Vec<Host>,
    /// Every machine of the plan and where it is (the hosts' address book, `--steal-mesh`).
    pub(super) every: Vec<Host>,
    /// OUT relative to the study directory (or absolute).
    pub(super) out_rel: String,
    /// OUT here.
    pub(super) local_out: PathBuf,
    pub(super) ssh: Ssh,
}

/// Resolves the study, the selected machines and their places, and the ssh client.
pub(super) fn resolve(args: &RemoteArgs) -> Result<RemoteStudy> {
    resolve_as(args, false)
}

/// With `--rescue`: the study it rescues (the original plan, every machine of it, OUT).
pub(super) fn resolve_original(args: &RemoteArgs) -> Result<RemoteStudy> {
    resolve_as(args, true)
}

fn resolve_as(args: &RemoteArgs, original: bool) -> Result<RemoteStudy> {
    let rescue = args.at.rescue.as_ref().filter(|_| !original);
    let study = match rescue {
        Some(merged) => super::remote_rescue::study(&args.input, merged, &args.at.dead)?,
        None => super::resolve::study_with(&args.input, None, &[], None, Default::default())?,
    };
    let root = study_root(&study);
    if !original {
        check_selected(args, &study)?;
    }
    let overrides = host_overrides(args)?;
    let hosts = hosts_of(args, &study, &root, original, &overrides)?;
    let every = hosts_of(args, &study, &root, true, &overrides)?;
    let local_out = match rescue {
        Some(_) => super::remote_rescue::out_dir(&study.config.run.out),
        None => study.config.run.out.clone(),
    };
    // OUT below the study directory is relative there, however the config was named here
    // (`--config /abs/study/jobsplit.toml` makes OUT absolute here); an OUT given absolute
    // in the config, or a relative one beside the study, stays as it is.
    let out_rel = local_out
        .strip_prefix(&root)
        .unwrap_or(&local_out)
        .to_string_lossy()
        .into_owned();
    let ssh = Ssh::new(args.at.ssh.as_deref().or(study.config.ship.ssh.as_deref()))?;
    Ok(RemoteStudy {
        study,
        root,
        hosts,
        every,
        out_rel,
        local_out,
        ssh,
    })
}

/// The study directory here: the config's directory, or `ship.root` below it.
fn study_root(study: &super::resolve::Study) -> PathBuf {
    let config_dir = match study.config.path.as_deref().and_then(Path::parent) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match &study.config.ship.root {
        Some(r) => config_dir.join(r),
        None => config_dir,
    }
}

/// Refuses a `--machine` that names no machine of the plan.
fn check_selected(args: &RemoteArgs, study: &super::resolve::Study) -> Result<()> {
    let names: Vec<&str> = study
        .plan
        .machines()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    for m in &args.at.machines_selected {
        if !names.contains(&m.as_str()) {
            return Err(Error::usage(format!(
                "--machine {}: no such machine in the plan (machines: {})",
                crate::text::escape(m),
                names.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// The `--host MACHINE=[USER@]HOST` overrides, in the order given.
fn host_overrides(args: &RemoteArgs) -> Result<Vec<(String, String)>> {
    let mut overrides = Vec::new();
    for h in &args.at.hosts {
        let (m, dest) = h
            .split_once('=')
            .filter(|(m, d)| !m.is_empty() && !d.is_empty())
            .ok_or_else(|| {
                Error::usage(format!(
                    "--host {}: write MACHINE=[USER@]HOST",
                    crate::text::escape(h)
                ))
            })?;
        if dest.starts_with('-') {
            return Err(Error::usage(format!(
                "--host {m}={dest}: a destination cannot start with `-`"
            ))
            .into());
        }
        overrides.push((m.to_owned(), dest.to_owned()));
    }
    Ok(overrides)
}

/// The selected machines (every one when `original`) and where each is: its ssh destination
/// (the last `--host` for it, else the machines file's) and its study directory.
fn hosts_of(
    args: &RemoteArgs,
    study: &super::resolve::Study,
    root: &Path,
    original: bool,
    overrides: &[(String, String)],
) -> Result<Vec<Host>> {
    let default_dir = format!(
        "jobsplit/{}",
        std::fs::canonicalize(root)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "study".to_owned())
    );
    let mut hosts = Vec::new();
    for m in study.plan.machines() {
        if !original
            && !args.at.machines_selected.is_empty()
            && !args.at.machines_selected.contains(&m.name)
        {
            continue;
        }
        let dest = overrides
            .iter()
            .rfind(|(name, _)| *name == m.name)
            .map(|(_, d)| d.clone())
            .or_else(|| m.ssh.clone())
            .ok_or_else(|| {
                Error::usage(format!(
                    "machine {} has no ssh destination: add \"ssh\": \"user@host\" to it in the machines file, or pass --host {}=HOST",
                    crate::text::escape(&m.name),
                    crate::text::escape(&m.name)
                ))
            })?;
        let dir = args
            .at
            .remote_dir
            .clone()
            .or_else(|| m.dir.clone())
            .or_else(|| study.config.ship.dir.clone())
            .unwrap_or_else(|| default_dir.clone());
        hosts.push(Host {
            machine: m.name.clone(),
            dest,
            dir,
        });
    }
    Ok(hosts)
}

/// Runs `each` on every host at once; returns the results in host order.
pub(super) fn each_host<T: Send>(hosts: &[Host], each: impl Fn(&Host) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = hosts.iter().map(|h| s.spawn(|| each(h))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a host thread panicked"))
            .collect()
    })
}

/// One line naming the machine and its host.
pub(super) fn who(host: &Host) -> String {
    format!(
        "{} ({})",
        crate::text::escape(&host.machine),
        crate::text::escape(&host.dest)
    )
}
