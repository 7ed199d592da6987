//! `jobsplit collect`, `stop`, `on`, `clean` and the host side `remote-serve` (docs/remote.md):
//! the study resolved once, then one thread per host, one line per host (`launch` is in
//! remote_launch.rs).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::args::{CollectArgs, OnArgs, RemoteArgs, ServeArgs};
use super::exit;
use super::remote_study::{each_host, resolve, who, RemoteStudy};
use super::term::{errln, outln};
use crate::remote::quote::{join, quote};
use crate::remote::Host;

pub(crate) fn collect(args: &CollectArgs) -> Result<u8> {
    let r = resolve(&args.remote)?;
    let fencing = super::remote_fence::Fencing::of(&args.remote, &r)?;
    let results = each_host(&r.hosts, |h| {
        let t = Instant::now();
        (collect_host(&r, fencing.as_ref(), h), t.elapsed())
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

/// Brings one host's rows here, and the claims of its share made on its disk (they prove the
/// rows of a --steal-remote study); a machine declared dead learns it first.
fn collect_host(
    r: &RemoteStudy,
    fencing: Option<&super::remote_fence::Fencing>,
    h: &Host,
) -> Result<crate::remote::collect::Collected, crate::remote::ship::LaunchError> {
    // A machine declared dead learns it first (its run starts no other block).
    if let Some(f) = fencing {
        let _ = f.write_on(&r.ssh, h);
    }
    let local = r.local_out.join(&h.machine);
    let rows = crate::remote::collect(&r.ssh, h, &r.out_rel, &local);
    // The claims of its share made on its disk prove the rows of a --steal-remote study.
    rows.and_then(|mut c| {
        let claims = crate::remote::collect::collect_claims(&r.ssh, h, &r.out_rel, &r.local_out)?;
        c.whole += claims.whole;
        c.appended += claims.appended;
        c.same += claims.same;
        c.wire_bytes += claims.wire_bytes;
        c.newer_kept.extend(claims.newer_kept);
        c.passed.extend(claims.passed);
        c.refused.extend(claims.refused);
        Ok(c)
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
            quote(crate::remote::state_dir::STATE_DIR),
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
            quote(crate::remote::state_dir::STATE_DIR),
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
