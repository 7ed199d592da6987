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
use crate::remote::session::Sessions;
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
    let mut r = resolve(&args.remote)?;
    let mut epochs = EpochsFile::of(args, &r);
    // A machine declared dead learns it at the first look that reaches its host.
    let fencing = super::remote_fence::Fencing::of(&args.remote, &r)?;
    let fenced: Vec<AtomicBool> = r.hosts.iter().map(|_| AtomicBool::new(false)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop));
    let tty = std::io::stdout().is_terminal();
    let mut round = 0u64;
    let mut drawn = 0usize;
    let mut open = true;
    // One session per host: a look costs a round trip each, not an ssh process and a start.
    let sessions = Sessions::new(&r.hosts);
    let mut last_round = Duration::ZERO;
    let mut tally = super::remote_steal::Tally::default();
    let mut next_print = Instant::now();
    loop {
        let began = Instant::now();
        // A list that grew while watched (`launch` recorded its new epoch here) is read again:
        // its new epochs are balanced too.
        if epochs.changed() {
            if let Ok(again) = resolve(&args.remote) {
                r = again;
            }
        }
        let looks = each_host(&r.hosts, |h| {
            let i = r.hosts.iter().position(|x| x.machine == h.machine);
            let pending = i.map(|i| &fenced[i]).filter(|f| !f.load(Ordering::Relaxed));
            if let (Some(f), Some(done)) = (&fencing, pending) {
                done.store(f.write_on(&r.ssh, h).is_ok(), Ordering::Relaxed);
            }
            look(&r, &sessions, h)
        });
        let statuses: Vec<Option<HostStatus>> = looks.iter().map(|l| l.status.clone()).collect();
        // Blocks handed now must last until those of the next look arrive.
        let every = args.interval.min(STEAL_LOOK);
        let horizon = (every + last_round + HAND_OVER).as_secs_f64();
        let (stole, left) =
            super::remote_steal::arrange(&r, &sessions, &mut tally, &statuses, open, horizon);
        last_round = began.elapsed();
        open = left.unwrap_or(true);
        for l in &stole {
            outln!("{l}");
        }
        if !stole.is_empty() {
            drawn = 0;
        }
        let ended = looks.iter().all(|l| l.ended);
        if ended || Instant::now() >= next_print {
            round += 1;
            next_print = began + args.interval;
            drawn = draw(&looks, tty, drawn);
            if ended || args.count.is_some_and(|n| round >= n) {
                if let Some(line) = tally.line() {
                    outln!("{line}");
                }
                let unreachable = looks.iter().any(|l| !l.reached);
                return Ok(if unreachable {
                    exit::SOME_HOSTS_FAILED
                } else {
                    exit::OK
                });
            }
        }
        // While blocks are left to steal, watch looks every STEAL_LOOK whatever its interval.
        let until = match left {
            Some(true) => next_print.min(began + every),
            _ => next_print,
        };
        while Instant::now() < until {
            if stop.load(Ordering::SeqCst) {
                errln!("stopped watching; the runs go on on their hosts (`jobsplit watch` to look again)");
                return Ok(exit::INTERRUPTED);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The epochs file of the study's job list here, and its size and time when last seen.
struct EpochsFile {
    path: Option<std::path::PathBuf>,
    seen: Option<(u64, Option<std::time::SystemTime>)>,
}

impl EpochsFile {
    fn of(args: &WatchArgs, r: &super::remote_study::RemoteStudy) -> EpochsFile {
        let list = super::resolve::jobs_path(&args.remote.input, &r.study.config);
        let path = list.map(|l| crate::input::epochs_path(&l));
        let mut file = EpochsFile { path, seen: None };
        file.changed();
        file
    }

    /// True when the file changed since last asked.
    fn changed(&mut self) -> bool {
        let now = self.path.as_ref().and_then(|p| std::fs::metadata(p).ok());
        let now = now.map(|m| (m.len(), m.modified().ok()));
        let changed = now != self.seen;
        self.seen = now;
        changed
    }
}

/// How often watch looks while a `--steal-remote` study has blocks left to hand out (or every
/// `--interval`, if shorter); it prints its lines every `--interval` only.
const STEAL_LOOK: Duration = Duration::from_millis(500);

/// How long a handed block takes to reach a thief's workers after its look: the thief looks
/// for handed blocks 10 times a second.
const HAND_OVER: Duration = Duration::from_millis(300);

fn look(
    r: &super::remote_study::RemoteStudy,
    sessions: &Sessions,
    h: &crate::remote::Host,
) -> Look {
    let dir = h.dir.strip_prefix("~/").unwrap_or(&h.dir).to_owned();
    let words = [dir, r.out_rel.clone(), h.machine.clone()];
    let tty = std::io::stdout().is_terminal();
    let answer = sessions
        .call(&r.ssh, h, "status", &words, "")
        .map_err(|e| e.to_string())
        .and_then(|b| {
            serde_json::from_str::<HostStatus>(&b).map_err(|e| format!("a bad answer: {e}"))
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

/// Draws a line per host and the total (in place on a terminal: `drawn` lines drawn last
/// time); the lines drawn.
fn draw(looks: &[Look], tty: bool, drawn: usize) -> usize {
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
        lines.len()
    } else {
        for l in &lines {
            outln!("{l}");
        }
        0
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
