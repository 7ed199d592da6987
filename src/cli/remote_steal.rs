//! `jobsplit watch` arranging steals for hosts launched with `-- --steal-remote` (docs/remote.md):
//! each look, through one long-lived session per host (`remote-serve session`), it renews
//! every host's lease, reads what each host has claimed and holds, and hands each host with
//! its own share claimed whole enough blocks to last until the next look (`handout::hand_out`:
//! the tails of the shares that will finish last). It claims them **on the owners' disks** for
//! the thieves (one call per owner, several blocks in it), then hands the won ones over by the
//! same claims on the thieves' disks (one call per thief). Correctness never depends on it: the
//! owner's disk decides every block, and when watch goes away the leases lapse and every host
//! finishes what it holds.

use std::time::SystemTime;

use crate::output::claim::ClaimRecord;
use crate::output::layout::MODE_REMOTE;
use crate::remote::host_run::HostStatus;
use crate::remote::session::Sessions;
use crate::remote::steal_serve::{ClaimAnswer, StealLook};
use crate::remote::Host;
use crate::run::steal::blocks::Blocks;
use crate::run::steal::handout::{hand_out, Handout, HostView};

use super::remote_study::{each_host, RemoteStudy};

/// What watch's steals cost so far: claim calls (on owners' and thieves' disks), their time,
/// and the blocks and jobs handed over.
#[derive(Debug, Default)]
pub(super) struct Tally {
    calls: u64,
    secs: f64,
    blocks: u64,
    jobs: u64,
}

impl Tally {
    /// `arranged steals: ...`, once anything was handed over.
    pub(super) fn line(&self) -> Option<String> {
        (self.blocks > 0).then(|| {
            format!(
                "arranged steals: {} blocks ({} jobs) in {} claim calls, {:.1} ms a call, {:.1} ms a stolen job",
                self.blocks,
                self.jobs,
                self.calls,
                self.secs * 1e3 / self.calls.max(1) as f64,
                self.secs * 1e3 / self.jobs.max(1) as f64
            )
        })
    }
}

/// What watch knows of one stealing host this look.
struct Stealer<'h> {
    host: &'h Host,
    share: usize,
    layout: String,
    block: u64,
    run: String,
    hostname: String,
    threads: u64,
    /// Its run is running there.
    live: bool,
    rate: Option<f64>,
}

fn text<'v>(v: &'v serde_json::Value, path: &[&str]) -> Option<&'v serde_json::Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

impl<'h> Stealer<'h> {
    fn of(r: &RemoteStudy, host: &'h Host, s: &HostStatus) -> Option<Stealer<'h>> {
        let m = s.manifest.as_ref()?;
        let st = s.status.as_ref();
        let balance = m.get("balance")?;
        let threads = text(m, &["threads"])?.as_u64()?.max(1);
        let running_state = st
            .and_then(|v| text(v, &["state"]))
            .and_then(|v| v.as_str())
            == Some("running");
        let live = s.running && running_state;
        Some(Stealer {
            host,
            share: r.study.plan.machine_index(&host.machine)?,
            layout: balance.get("layout")?.as_str()?.to_owned(),
            block: balance.get("block")?.as_u64()?,
            run: balance.get("run")?.as_str()?.to_owned(),
            hostname: m.get("hostname")?.as_str()?.to_owned(),
            threads,
            live,
            rate: st
                .and_then(|v| text(v, &["rate_per_s"]))
                .and_then(|v| v.as_f64())
                .filter(|&r| live && r > 0.0),
        })
    }
}

fn dir_of(h: &Host) -> String {
    h.dir.strip_prefix("~/").unwrap_or(&h.dir).to_owned()
}

/// Arranges this look's steals among `statuses` (one per host of `r`, `None` where the host
/// was not reached), through `sessions`; `open` says whether any block may have been unclaimed
/// last time (the leases are renewed while so, ended once nothing is left); `horizon` is the
/// seconds until the next look's blocks can reach a thief. Returns what it did, a line each,
/// and whether blocks may be left (`None`: no stealing host seen).
pub(super) fn arrange(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    statuses: &[Option<HostStatus>],
    open: bool,
    horizon: f64,
) -> (Vec<String>, Option<bool>) {
    let stealers: Vec<Stealer> = r
        .hosts
        .iter()
        .zip(statuses)
        .filter_map(|(h, s)| Stealer::of(r, h, s.as_ref()?))
        .collect();
    let Some(first) = stealers.first() else {
        // Nothing known yet (the runs are starting, or this is not a stealing study).
        return (Vec::new(), None);
    };
    let block = first.block;
    let lease = if open { "open" } else { "close" };
    let hosts: Vec<Host> = stealers.iter().map(|s| s.host.clone()).collect();
    let looks: Vec<Option<StealLook>> = each_host(&hosts, |h| {
        let s = stealers.iter().find(|s| s.host.machine == h.machine)?;
        let words = [&dir_of(h), &r.out_rel, &s.layout, &h.machine, lease].map(|w| w.to_owned());
        let text = sessions.call(&r.ssh, h, "steal-look", &words, "").ok()?;
        serde_json::from_str::<StealLook>(&text).ok()
    });
    let blocks = Blocks::new(&r.study.plan, block);
    // Hosts not reached, fenced, or of another mode or block size neither steal nor are
    // stolen from.
    let mut known: Vec<usize> = Vec::new();
    let mut views: Vec<HostView> = Vec::new();
    let mut unseen = stealers.len() < r.hosts.len();
    for (i, (s, look)) in stealers.iter().zip(&looks).enumerate() {
        let Some(look) = look.as_ref() else {
            unseen = true;
            continue;
        };
        if look.mode != MODE_REMOTE || look.fenced || s.block != block {
            continue;
        }
        known.push(i);
        views.push(view(s, look, &blocks, horizon));
    }
    let jobs = |v: usize, b: u64| blocks.jobs(views[v].share, b).len() as u64;
    let handouts = hand_out(&views, jobs, horizon);
    let mut lines = steal(
        r,
        sessions,
        tally,
        &handouts,
        |v| &stealers[known[v]],
        &blocks,
    );
    let rehanded = hand_again(r, sessions, tally, &stealers, &looks, &blocks, &mut lines);
    // The leases end once every share is claimed whole and every block handed (a share not
    // seen counts as open).
    let left = unseen || rehanded || views.iter().any(|v| !v.unclaimed.is_empty());
    (lines, Some(left))
}

/// What the planner needs of one host, from its status and its look.
fn view(s: &Stealer, look: &StealLook, blocks: &Blocks, horizon: f64) -> HostView {
    let unclaimed: Vec<u64> = (0..blocks.count(s.share))
        .filter(|b| look.claimed.binary_search(b).is_err())
        .collect();
    let own_jobs = |u: &[u64]| {
        u.iter()
            .map(|&b| blocks.jobs(s.share, b).len() as f64)
            .sum::<f64>()
    };
    // What it ended by now: its status.json's count, carried on at its rate since.
    let held = look.held as f64;
    let done = look.done as f64 + s.rate.unwrap_or(0.0) * look.status_age_s.unwrap_or(0.0);
    let pending = (held - done).max(0.0);
    HostView {
        share: s.share,
        // Its own share claimed whole, or its own work left ending before the next look's
        // blocks could reach it: handed blocks wait on its disk until its share is done.
        thief: s.live
            && (unclaimed.is_empty()
                || s.rate
                    .is_some_and(|r| own_jobs(&unclaimed) + pending < r * horizon)),
        unclaimed,
        rate: s.rate,
        threads: s.threads,
        pending,
    }
}

/// Claims the `handouts` on their owners' disks (one call per owner), then hands the won
/// blocks to their thieves (one call per thief); a line per owner and thief.
fn steal<'s>(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    handouts: &[Handout],
    of: impl Fn(usize) -> &'s Stealer<'s>,
    blocks: &Blocks,
) -> Vec<String> {
    let record = |h: &Handout| claim_record(blocks, of(h.owner).share, h.block, of(h.thief));
    let mut owners: Vec<usize> = handouts.iter().map(|h| h.owner).collect();
    owners.sort_unstable();
    owners.dedup();
    let mut lines = Vec::new();
    let mut won: Vec<(usize, ClaimRecord)> = Vec::new();
    for o in owners {
        let asked: Vec<(usize, ClaimRecord)> = handouts
            .iter()
            .filter(|h| h.owner == o)
            .map(|h| (h.thief, record(h)))
            .collect();
        let records: Vec<&ClaimRecord> = asked.iter().map(|(_, c)| c).collect();
        match claim_on(r, sessions, tally, of(o), &records) {
            Ok(answers) => {
                for ((t, c), a) in asked.into_iter().zip(answers) {
                    if a.won {
                        won.push((t, c));
                        continue;
                    }
                    let holder = a.holder.map_or_else(
                        || "someone".to_owned(),
                        |h| crate::text::escape(&h.machine).into_owned(),
                    );
                    lines.push(format!("{}: taken already by {holder}", what(&c)));
                }
            }
            Err(e) => lines.push(format!(
                "blocks of {} for others: no claim ({e}); any made are handed at a later look",
                crate::text::escape(&of(o).host.machine)
            )),
        }
    }
    let mut thieves: Vec<usize> = won.iter().map(|(t, _)| *t).collect();
    thieves.sort_unstable();
    thieves.dedup();
    for t in thieves {
        let mine: Vec<&ClaimRecord> = won
            .iter()
            .filter(|(x, _)| *x == t)
            .map(|(_, c)| c)
            .collect();
        lines.extend(hand_over(r, sessions, tally, of(t), &mine));
    }
    lines
}

/// Makes the claims `won` on the owners' disks again on `thief`'s disk, in one call: the
/// hand-over. A line per owner of the blocks handed, and one per block lost.
fn hand_over(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    thief: &Stealer,
    won: &[&ClaimRecord],
) -> Vec<String> {
    let answers = claim_on(r, sessions, tally, thief, won);
    let mut lines = Vec::new();
    // One line per owner: `stole blocks 19, 18 of slow for fast`.
    let mut by_owner: Vec<(&str, Vec<String>)> = Vec::new();
    for (k, c) in won.iter().enumerate() {
        let outcome = match &answers {
            Ok(a) if a.get(k).is_some_and(|a| a.won) => {
                tally.blocks += 1;
                tally.jobs += c.jobs.len() as u64;
                match by_owner.iter_mut().find(|(o, _)| *o == c.owner) {
                    Some((_, bs)) => bs.push(c.block.to_string()),
                    None => by_owner.push((&c.owner, vec![c.block.to_string()])),
                }
                continue;
            }
            Ok(_) => "its disk holds another claim of it: lost".to_owned(),
            Err(e) => format!("could not hand it over ({e}): handed again at a later look"),
        };
        lines.push(format!("stole {}, but {outcome}", what(c)));
    }
    for (owner, bs) in by_owner {
        lines.push(format!(
            "stole block{} {} of {} for {}",
            if bs.len() > 1 { "s" } else { "" },
            bs.join(", "),
            crate::text::escape(owner),
            crate::text::escape(&thief.host.machine)
        ));
    }
    lines
}

/// Hands over again every block claimed on its owner's disk for a thief whose own disk does
/// not hold it (the hand-over failed: the thief crashed or was cut off, or watch was killed in
/// between); both reached this look, neither fenced. Only the thief the owner's claim
/// names ever runs it, so nothing runs twice. Returns whether any was handed.
fn hand_again(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    stealers: &[Stealer],
    looks: &[Option<StealLook>],
    blocks: &Blocks,
    lines: &mut Vec<String>,
) -> bool {
    // A fenced owner's unfinished blocks are the rescue's; a fenced thief runs nothing more.
    let reached = |i: usize| {
        looks[i]
            .as_ref()
            .filter(|l| l.mode == MODE_REMOTE && !l.fenced)
    };
    let mut any = false;
    for (i, owner) in stealers.iter().enumerate() {
        let Some(look) = reached(i) else { continue };
        for (b, t) in &look.stolen {
            let Some(ti) = stealers.iter().position(|s| &s.host.machine == t) else {
                continue;
            };
            let Some(tl) = reached(ti) else {
                continue;
            };
            if tl
                .handed
                .iter()
                .any(|(o, x)| *o == owner.host.machine && x == b)
            {
                continue;
            }
            any = true;
            let thief = &stealers[ti];
            let record = claim_record(blocks, owner.share, *b, thief);
            let what = format!(
                "block {b} of {} to {}",
                crate::text::escape(&record.owner),
                crate::text::escape(&record.machine)
            );
            let answer = claim_on(r, sessions, tally, thief, &[&record]);
            lines.push(match answer.as_deref() {
                Ok([ClaimAnswer { won: true, .. }]) => {
                    format!("handed {what} again (its hand-over had failed)")
                }
                Ok(_) => format!("handed {what} again: its disk holds another claim of it"),
                Err(e) => format!("could not hand {what} again ({e}): next look"),
            });
        }
    }
    any
}

/// The claim of block `b` of share `j` for `thief`.
fn claim_record(blocks: &Blocks, j: usize, b: u64, thief: &Stealer) -> ClaimRecord {
    ClaimRecord {
        owner: blocks.owner(j).to_owned(),
        block: b,
        machine: thief.host.machine.clone(),
        host: thief.hostname.clone(),
        pid: 0,
        run: thief.run.clone(),
        at: crate::output::rfc3339(SystemTime::now()),
        jobs: blocks.jobs(j, b).to_vec(),
    }
}

fn what(c: &ClaimRecord) -> String {
    format!(
        "block {} of {} for {}",
        c.block,
        crate::text::escape(&c.owner),
        crate::text::escape(&c.machine)
    )
}

/// Makes the claims `records` on `host`'s disk in one call; an answer per record, in order.
fn claim_on(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    host: &Stealer,
    records: &[&ClaimRecord],
) -> Result<Vec<ClaimAnswer>, String> {
    let mut input = String::new();
    for c in records {
        input.push_str(&serde_json::to_string(c).expect("serializing plain data"));
        input.push('\n');
    }
    let words = [
        dir_of(host.host),
        r.out_rel.clone(),
        host.layout.clone(),
        host.block.to_string(),
    ];
    let began = std::time::Instant::now();
    let text = sessions.call(&r.ssh, host.host, "steal-claim", &words, &input);
    tally.calls += 1;
    tally.secs += began.elapsed().as_secs_f64();
    let text = text.map_err(|e| e.to_string())?;
    let answers: Vec<ClaimAnswer> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("a bad answer: {e}"))?;
    if answers.len() != records.len() {
        return Err(format!(
            "{} answers to {} claims",
            answers.len(),
            records.len()
        ));
    }
    Ok(answers)
}
