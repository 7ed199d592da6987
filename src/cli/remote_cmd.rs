//! `jobsplit launch`, `collect`, `stop`, `on`, `clean` and the host side `remote-serve`
//! (docs/remote.md): the study resolved once, then one thread per host, one line per host.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use super::args::{CollectArgs, LaunchArgs, OnArgs, RemoteArgs, ServeArgs};
use super::exit;
use super::remote_study::{each_host, resolve, who, RemoteStudy};
use super::term::{errln, outln};
use crate::remote::quote::{join, quote};
use crate::remote::Host;

pub(crate) fn launch(args: &LaunchArgs) -> Result<u8> {
    let mut r = resolve(&args.remote)?;
    // The epochs of a list that grew, recorded here as `run` records them, planned and shipped.
    if super::remote_epochs::record(&args.remote)? {
        r = resolve(&args.remote)?;
    }
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
    let mut payload = crate::remote::Payload::gather(&r.root, &named, &r.study.config.ship.files)?;
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
    let force = args.fresh || args.run_flags.iter().any(|f| f.starts_with("--rerun"));
    let plan = crate::remote::LaunchPlan {
        out: r.out_rel.clone(),
        digest: r.study.plan.plan_digest().hex(),
        payload,
        run_args,
        force,
        binaries: args.binary.clone(),
    };
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

pub(crate) fn collect(args: &CollectArgs) -> Result<u8> {
    let r = resolve(&args.remote)?;
    let fencing = super::remote_fence::Fencing::of(&args.remote, &r)?;
    let results = each_host(&r.hosts, |h| {
        let t = Instant::now();
        // A machine declared dead learns it first (its run starts no other block).
        if let Some(f) = &fencing {
            let _ = f.write_on(&r.ssh, h);
        }
        let local = r.local_out.join(&h.machine);
        let rows = crate::remote::collect(&r.ssh, h, &r.out_rel, &local);
        // The claims of its share made on its disk prove the rows of a --steal-remote study.
        let rows = rows.and_then(|mut c| {
            let claims =
                crate::remote::collect::collect_claims(&r.ssh, h, &r.out_rel, &r.local_out)?;
            c.whole += claims.whole;
            c.appended += claims.appended;
            c.same += claims.same;
            c.wire_bytes += claims.wire_bytes;
            c.newer_kept.extend(claims.newer_kept);
            c.passed.extend(claims.passed);
            c.refused.extend(claims.refused);
            Ok(c)
        });
        (rows, t.elapsed())
    });
    let mut failed = 0;
    for (host, (result, took)) in r.hosts.iter().zip(results) {
        match result {
            Ok(c) => {
                outln!(
                    "{}: {} new, {} appended, {} unchanged; {} in {:.2} s",
                    who(host),
                    c.whole,
                    c.appended,
                    c.same,
                    super::progress::bytes(c.wire_bytes),
                    took.as_secs_f64()
                );
                for kept in &c.newer_kept {
                    errln!(
                        "{}: kept the newer copy here of {}",
                        who(host),
                        crate::text::escape(kept)
                    );
                }
                for p in &c.passed {
                    errln!(
                        "{}: passed over on the host: {}",
                        who(host),
                        crate::text::escape(p)
                    );
                }
                for p in &c.refused {
                    failed += 1;
                    errln!("{}: refused here: {}", who(host), crate::text::escape(p));
                }
            }
            Err(e) => {
                failed += 1;
                errln!("{}: {}", who(host), crate::text::escape(&e.to_string()));
            }
        }
    }
    if args.merge {
        let code = super::merge_cmd::run_merge(&super::args::MergeArgs {
            dirs: vec![r.local_out.clone()],
            out: args.out.clone(),
            write_machines: None,
            no_files: false,
            json: false,
        })?;
        if failed == 0 {
            return Ok(code);
        }
    }
    Ok(if failed > 0 {
        exit::SOME_HOSTS_FAILED
    } else {
        exit::OK
    })
}

/// Runs one `remote-serve` operation on every host and prints its answer.
fn on_every_host(r: &RemoteStudy, op: &str, extra: impl Fn(&Host) -> Vec<String> + Sync) -> u8 {
    let results = each_host(&r.hosts, |h| {
        let dir = h.dir.strip_prefix("~/").unwrap_or(&h.dir).to_owned();
        let mut words = vec!["remote-serve".to_owned(), op.to_owned(), dir];
        words.extend(extra(h));
        let script = format!(
            "B={}/{}/jobsplit-$(uname -m) && exec \"$B\" {}",
            h.dir_word(),
            quote(crate::remote::serve::STATE_DIR),
            join(&words)
        );
        r.ssh.output(&h.dest, &script)
    });
    let mut failed = 0;
    for (host, result) in r.hosts.iter().zip(results) {
        match result {
            Ok(text) => {
                let text = String::from_utf8_lossy(&text);
                let answer: String =
                    serde_json::from_str(text.trim()).unwrap_or_else(|_| text.trim().to_owned());
                outln!(
                    "{}: {}",
                    who(host),
                    crate::text::escape(&answer.replace('-', " "))
                );
            }
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

pub(crate) fn stop(args: &RemoteArgs) -> Result<u8> {
    let r = resolve(args)?;
    Ok(on_every_host(&r, "stop", |h| {
        vec![r.out_rel.clone(), h.machine.clone()]
    }))
}

pub(crate) fn clean(args: &RemoteArgs) -> Result<u8> {
    let r = resolve(args)?;
    Ok(on_every_host(&r, "clean", |_| Vec::new()))
}

pub(crate) fn on(args: &OnArgs) -> Result<u8> {
    let r = resolve(&args.remote)?;
    let mut worst = exit::OK;
    for h in &r.hosts {
        let script = format!(
            "cd {} && exec {}/jobsplit-$(uname -m) {}",
            h.dir_word(),
            quote(crate::remote::serve::STATE_DIR),
            join(&args.words)
        );
        match r.ssh.run(&h.dest, &script, &[], |rd| {
            std::io::copy(rd, &mut std::io::stdout())
        }) {
            Ok(_) => {}
            Err(crate::remote::Failure::Remote(code, why)) => {
                errln!("{}: {}", who(h), crate::text::escape(&why));
                worst = worst.max(u8::try_from(code).unwrap_or(exit::SOME_HOSTS_FAILED));
            }
            Err(e) => {
                errln!("{}: {}", who(h), crate::text::escape(&e.to_string()));
                worst = exit::SOME_HOSTS_FAILED;
            }
        }
    }
    Ok(worst)
}

pub(crate) fn serve(args: &ServeArgs) -> Result<u8> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    crate::remote::serve(&args.op, &args.args, &mut stdin.lock(), &mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(exit::OK)
}

/// `status`'s lines on launched runs: each machine's payload, and the warning when they differ.
pub(crate) fn show_payloads(dirs: &[PathBuf]) {
    let found = crate::remote::payloads(dirs);
    if found.is_empty() {
        return;
    }
    let shown: Vec<String> = found
        .iter()
        .map(|(m, p, _)| format!("{} {}", crate::text::escape(m), crate::text::short(p)))
        .collect();
    outln!("payload: {}", shown.join(", "));
    if let Some(w) = crate::remote::payload_warning(dirs) {
        outln!("warning: {}", crate::text::escape(&w));
    }
}
