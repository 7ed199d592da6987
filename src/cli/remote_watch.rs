//! `jobsplit watch`: every launched host's status.json over the open ssh connections, again
//! every `--interval`: a bar per host and in total on a terminal, plain lines otherwise. A host
//! that cannot be reached is shown so and asked again next time; Ctrl-C stops the watching
//! only.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::args::WatchArgs;
use super::exit;
use super::remote_study::{each_host, resolve, who};
use super::term::{errln, out, outln};
use crate::remote::quote::{join, quote};
use crate::remote::HostStatus;

/// One host's line.
struct Look {
    line: String,
    done: u64,
    share: u64,
    ended: bool,
    reached: bool,
    status: Option<HostStatus>,
}

pub(crate) fn watch(args: &WatchArgs) -> Result<u8> {
    let r = resolve(&args.remote)?;
    // A machine declared dead learns it at the first look that reaches its host.
    let fencing = super::remote_fence::Fencing::of(&args.remote, &r)?;
    let fenced: Vec<AtomicBool> = r.hosts.iter().map(|_| AtomicBool::new(false)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop));
    let tty = std::io::stdout().is_terminal();
    let mut round = 0u64;
    let mut drawn = 0usize;
    let mut open = true;
    loop {
        round += 1;
        let looks = each_host(&r.hosts, |h| {
            let i = r.hosts.iter().position(|x| x.machine == h.machine);
            let pending = i.map(|i| &fenced[i]).filter(|f| !f.load(Ordering::Relaxed));
            if let (Some(f), Some(done)) = (&fencing, pending) {
                done.store(f.write_on(&r.ssh, h).is_ok(), Ordering::Relaxed);
            }
            look(&r, h)
        });
        let statuses: Vec<Option<HostStatus>> = looks.iter().map(|l| l.status.clone()).collect();
        let (stole, left) = super::remote_steal::arrange(&r, &statuses, open);
        open = left;
        for l in &stole {
            outln!("{l}");
        }
        if !stole.is_empty() {
            drawn = 0;
        }
        let (done, share) = looks
            .iter()
            .fold((0, 0), |(d, s), l| (d + l.done, s + l.share));
        let mut lines: Vec<String> = looks.iter().map(|l| l.line.clone()).collect();
        lines.push(format!("total: {}", bar_text(done, share, tty)));
        if tty {
            if drawn > 0 {
                out!("\x1b[{drawn}A");
            }
            for l in &lines {
                outln!("\x1b[2K{l}");
            }
            drawn = lines.len();
        } else {
            for l in &lines {
                outln!("{l}");
            }
        }
        let unreachable = looks.iter().any(|l| !l.reached);
        if looks.iter().all(|l| l.ended) || args.count.is_some_and(|n| round >= n) {
            return Ok(if unreachable {
                exit::SOME_HOSTS_FAILED
            } else {
                exit::OK
            });
        }
        let until = Instant::now() + args.interval;
        while Instant::now() < until {
            if stop.load(Ordering::SeqCst) {
                errln!("stopped watching; the runs go on on their hosts (`jobsplit watch` to look again)");
                return Ok(exit::INTERRUPTED);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn look(r: &super::remote_study::RemoteStudy, h: &crate::remote::Host) -> Look {
    let dir = h.dir.strip_prefix("~/").unwrap_or(&h.dir).to_owned();
    let words = [
        "remote-serve".to_owned(),
        "status".to_owned(),
        dir,
        r.out_rel.clone(),
        h.machine.clone(),
    ];
    let script = format!(
        "B={}/{}/jobsplit-$(uname -m) && exec \"$B\" {}",
        h.dir_word(),
        quote(crate::remote::serve::STATE_DIR),
        join(&words)
    );
    let tty = std::io::stdout().is_terminal();
    let answer = r
        .ssh
        .output(&h.dest, &script)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            serde_json::from_slice::<HostStatus>(&b).map_err(|e| format!("a bad answer: {e}"))
        });
    match answer {
        Err(why) => Look {
            line: format!("{}: {} (trying again)", who(h), crate::text::escape(&why)),
            done: 0,
            share: 0,
            ended: false,
            reached: false,
            status: None,
        },
        Ok(s) => {
            let get = |v: &Option<serde_json::Value>, k: &str| {
                v.as_ref()
                    .and_then(|v| v.get(k))
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0)
            };
            let state = s
                .status
                .as_ref()
                .and_then(|v| v.get("state"))
                .and_then(|v| v.as_str())
                .unwrap_or("not started")
                .to_owned();
            let state = if s.running {
                "running".to_owned()
            } else if state == "running" {
                "killed?".to_owned()
            } else {
                state
            };
            let (done, share) = (get(&s.status, "done"), get(&s.status, "share"));
            let payload = s
                .manifest
                .as_ref()
                .and_then(|m| m.get("payload"))
                .and_then(|p| p.as_str())
                .map(|p| format!(" payload {}", crate::text::short(p)))
                .unwrap_or_default();
            Look {
                line: format!(
                    "{}: {} {state}, ok {} failed {}{payload}",
                    who(h),
                    bar_text(done, share, tty),
                    get(&s.status, "ok"),
                    get(&s.status, "failed")
                ),
                done,
                share,
                ended: !s.running,
                reached: true,
                status: Some(s),
            }
        }
    }
}

/// `[#####.....] 50/100` on a terminal, `50/100` otherwise.
fn bar_text(done: u64, share: u64, tty: bool) -> String {
    if !tty {
        return format!("{done}/{share}");
    }
    let width = 20u64;
    let filled = (done.min(share) * width).checked_div(share).unwrap_or(0) as usize;
    format!(
        "[{}{}] {done}/{share}",
        "#".repeat(filled),
        ".".repeat(width as usize - filled)
    )
}
