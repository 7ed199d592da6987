//! `jobsplit launch` (docs/remote.md): the study resolved once, its files and the `run` to start
//! sent to every host at once, one line per host.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use super::args::LaunchArgs;
use super::exit;
use super::remote_study::{each_host, resolve, who, RemoteStudy};
use super::term::{errln, outln};

pub(crate) fn launch(args: &LaunchArgs) -> Result<u8> {
    let mut r = resolve(&args.remote)?;
    // The epochs of a list that grew, recorded here as `run` records them, planned and shipped.
    if super::remote_epochs::record(&args.remote)? {
        r = resolve(&args.remote)?;
    }
    let plan = launch_plan(args, &r)?;
    // A machine declared dead is fenced on every disk before the rescue starts; every launch
    // writes the fences recorded here first, and starts no run of the plan it was fenced from.
    let fencing = super::remote_fence::Fencing::of(&args.remote, &r)?;
    if let (Some(f), false) = (&fencing, args.remote.at.dead.is_empty()) {
        f.declare(&r.ssh, &r.hosts)?;
    }
    outln!(
        "plan {} payload {} ({} files): launching {} host{}",
        r.study.plan.plan_digest().short(),
        crate::text::short(&plan.payload.digest),
        plan.payload.files.len(),
        r.hosts.len(),
        if r.hosts.len() == 1 { "" } else { "s" }
    );
    Ok(start_hosts(
        &r,
        &plan,
        fencing.as_ref(),
        args.remote.at.rescue.is_some(),
    ))
}

/// What every host is sent: the payload (the study's files) and the `run` it starts there.
fn launch_plan(args: &LaunchArgs, r: &RemoteStudy) -> Result<crate::remote::LaunchPlan> {
    let mut payload =
        crate::remote::Payload::gather(&r.root, &study_files(args, r), &r.study.config.ship.files)?;
    let run_args = run_args(args, r, &mut payload)?;
    let force = args.fresh || args.run_flags.iter().any(|f| f.starts_with("--rerun"));
    // A `--steal-remote` study ships the hosts' address book (used with `--steal-mesh`).
    let peers = args
        .run_flags
        .iter()
        .any(|f| f == "--steal-remote")
        .then(|| crate::remote::peers::text(&r.every));
    Ok(crate::remote::LaunchPlan {
        peers,
        out: r.out_rel.clone(),
        digest: r.study.plan.plan_digest().hex(),
        payload,
        run_args,
        force,
        binaries: args.binary.clone(),
    })
}

/// The study's own files: its config, its job list (and that list's epochs), its machines file.
fn study_files(args: &LaunchArgs, r: &RemoteStudy) -> Vec<PathBuf> {
    let input = &args.remote.input;
    let mut named: Vec<PathBuf> = Vec::new();
    if let Some(c) = &r.study.config.path {
        named.push(c.clone());
    }
    if let Some(j) = super::resolve::jobs_path(input, &r.study.config) {
        let epochs = crate::input::epochs_path(&j);
        if epochs.is_file() {
            named.push(epochs);
        }
        named.push(j);
    }
    named.push(super::resolve::machines_path(input, &r.study.config));
    named
}

/// The arguments of the `run` started on each host, paths relative to the study directory;
/// with `--rescue`, the rescue's own files are written here and added to `payload`.
fn run_args(
    args: &LaunchArgs,
    r: &RemoteStudy,
    payload: &mut crate::remote::Payload,
) -> Result<Vec<String>> {
    let input = &args.remote.input;
    let rel = |p: &Path| crate::remote::payload::relative(&r.root, p);
    let mut run_args = Vec::new();
    if let Some(c) = &r.study.config.path {
        run_args.extend(["--config".to_owned(), rel(c)?]);
    }
    if let Some(j) = super::resolve::jobs_path(input, &r.study.config) {
        run_args.extend(["--jobs".to_owned(), rel(&j)?]);
    }
    let machines = super::resolve::machines_path(input, &r.study.config);
    match &args.remote.at.rescue {
        Some(merged) => {
            // The rescue's own files ride along but are not the study's code: the payload
            // digest stays that of the study, so merging with the first runs stays quiet.
            let extra = super::remote_rescue::write_files(&machines, merged, &args.remote.at.dead)?;
            payload.add_files(&crate::remote::Payload::gather(&r.root, &extra, &[])?);
            run_args.extend([
                "--machines".to_owned(),
                rel(&merged.join(super::remote_rescue::MACHINES_FILE))?,
                "--rescue".to_owned(),
                rel(merged)?,
                "--out".to_owned(),
                r.out_rel.clone(),
            ]);
        }
        None => run_args.extend(["--machines".to_owned(), rel(&machines)?]),
    }
    if let Some(seed) = &input.seed {
        run_args.extend(["--seed".to_owned(), seed.clone()]);
    }
    if args.fresh {
        run_args.push("--fresh".to_owned());
    }
    run_args.extend(args.run_flags.iter().cloned());
    Ok(run_args)
}

/// Starts `plan` on every host of `r` at once, the recorded fences written there first (a
/// machine fenced from the plan it was fenced from is not started: `rescue` is false), a line
/// per host; the exit code.
fn start_hosts(
    r: &RemoteStudy,
    plan: &crate::remote::LaunchPlan,
    fencing: Option<&super::remote_fence::Fencing>,
    rescue: bool,
) -> u8 {
    let results = each_host(&r.hosts, |h| {
        let t = Instant::now();
        if let Some(f) = fencing {
            let written = f.write_on(&r.ssh, h);
            if !rescue && f.fenced(&h.machine) {
                return (None, written.err(), t.elapsed());
            }
        }
        (
            Some(crate::remote::launch(&r.ssh, h, plan)),
            None,
            t.elapsed(),
        )
    });
    let mut failed = 0;
    for (host, (result, fence_error, took)) in r.hosts.iter().zip(results) {
        let Some(result) = result else {
            match fence_error {
                None => outln!("{}: declared dead (fenced): nothing started", who(host)),
                Some(e) => {
                    failed += 1;
                    errln!(
                        "{}: declared dead; not fenced there yet ({}): nothing started",
                        who(host),
                        crate::text::escape(&e)
                    );
                }
            }
            continue;
        };
        match result {
            Ok(l) if matches!(l.started, crate::remote::Started::Exited { code, .. } if code != 0) =>
            {
                failed += 1;
                errln!(
                    "{}: {} ({:.2} s)",
                    who(host),
                    describe(&l),
                    took.as_secs_f64()
                );
            }
            Ok(l) => outln!(
                "{}: {} ({:.2} s)",
                who(host),
                describe(&l),
                took.as_secs_f64()
            ),
            Err(e) => {
                failed += 1;
                errln!("{}: {}", who(host), crate::text::escape(&e.to_string()));
            }
        }
    }
    if failed > 0 {
        exit::SOME_HOSTS_FAILED
    } else {
        exit::OK
    }
}

fn describe(l: &crate::remote::Launched) -> String {
    use crate::remote::Started;
    let what = match &l.started {
        Started::Started {
            pid,
            resumed: false,
        } => format!("started (pid {pid})"),
        Started::Started { pid, resumed: true } => format!("resumed (pid {pid})"),
        Started::Running => "running already: nothing started".to_owned(),
        Started::Done => "done: nothing started".to_owned(),
        Started::Exited { code: 0, .. } => "started, and finished already".to_owned(),
        Started::Exited { code, last } => format!(
            "the run ended at once (exit {code}): {}",
            crate::text::escape(last)
        ),
    };
    let mut sent = Vec::new();
    if l.binary_sent {
        sent.push(format!("jobsplit for {}", l.arch));
    }
    if l.files_sent > 0 {
        sent.push(format!(
            "{} file{} ({})",
            l.files_sent,
            if l.files_sent == 1 { "" } else { "s" },
            super::progress::bytes(l.bytes_sent)
        ));
    }
    if sent.is_empty() {
        format!("{what}; nothing sent")
    } else {
        format!("{what}; sent {}", sent.join(", "))
    }
}
