//! `jobsplit watch` arranging steals for hosts launched with `-- --steal-remote` (docs/remote.md):
//! each look, through one long-lived session per host (`remote-serve session`), it renews
//! every host's lease, reads what each host has claimed and holds, and hands each host with
//! its own share claimed whole enough blocks to last until the next look (`handout::hand_out`:
//! the tails of the shares that will finish last). It claims them **on the owners' disks** for
//! the thieves (one call per owner, several blocks in it), then hands the won ones over by the
//! same claims on the thieves' disks (one call per thief). Correctness never depends on it: the
//! owner's disk decides every block, and when watch goes away the leases lapse and every host
//! finishes what it holds.

use crate::output::layout::{relative_dirs, MODE_REMOTE};
use crate::remote::host_run::HostStatus;
use crate::remote::session::Sessions;
use crate::remote::steal_serve::StealLook;
use crate::remote::Host;
use crate::run::steal::blocks::Blocks;
use crate::run::steal::handout::{hand_out, At, HostView};

use super::remote_study::{each_host, RemoteStudy};

#[path = "remote_steal_claims.rs"]
mod claims;
use claims::{hand_again, restart_ended, steal};

/// What watch's steals cost so far: claim calls (on owners' and thieves' disks), their time,
/// and the blocks and jobs handed over.
#[derive(Debug, Default)]
pub(super) struct Tally {
    calls: u64,
    secs: f64,
    blocks: u64,
    jobs: u64,
    /// Machines whose ended run watch started again (once each).
    restarted: Vec<String>,
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
    run: String,
    hostname: String,
    threads: u64,
    /// Its run is running there.
    live: bool,
    /// Its run ended by itself (not stopped or interrupted).
    finished: bool,
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
        let state = st
            .and_then(|v| text(v, &["state"]))
            .and_then(|v| v.as_str());
        let live = s.running && state == Some("running");
        Some(Stealer {
            host,
            share: r.study.plan.machine_index(&host.machine)?,
            run: balance.get("run")?.as_str()?.to_owned(),
            hostname: m.get("hostname")?.as_str()?.to_owned(),
            threads,
            live,
            finished: !s.running && state == Some("finished"),
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

/// The epochs of the study this look (one for a study that never grew): each one's layout
/// directory relative to OUT, its jobs per block (as the hosts recorded it), and the blocks.
pub(super) struct Epochs<'p> {
    layouts: Vec<String>,
    sizes: Vec<u64>,
    blocks: Blocks<'p>,
}

impl<'p> Epochs<'p> {
    /// The epochs of `plan` under `layouts`, each one's blocks as the first host that steals it
    /// recorded them (in `looks`).
    fn of(plan: &'p crate::plan::Plan, layouts: Vec<String>, looks: &[Looks]) -> Epochs<'p> {
        let sizes: Vec<u64> = (0..layouts.len())
            .map(|e| {
                let recorded = looks.iter().flatten().map(|l| &l[e]);
                recorded
                    .filter(|l| l.mode == MODE_REMOTE && !l.fenced)
                    .map(|l| l.block.max(1))
                    .next()
                    .unwrap_or(1)
            })
            .collect();
        Epochs {
            blocks: Blocks::per_epoch(plan, &sizes),
            layouts,
            sizes,
        }
    }

    /// Whether `look` (of epoch `e`) is of a host that steals this epoch with its blocks.
    fn in_play(&self, look: &StealLook, e: usize) -> bool {
        look.mode == MODE_REMOTE && !look.fenced && look.block == self.sizes[e]
    }

    /// The unit of machine `share` in epoch `e`.
    fn unit(&self, share: usize, e: usize) -> usize {
        e * self.blocks.machines() + share
    }
}

/// One host's looks, one per epoch (`None`: not reached, or no answer for every epoch).
type Looks = Option<Vec<StealLook>>;

/// Arranges this look's steals among `statuses` (one per host of `r`, `None` where the host
/// was not reached), through `sessions`; `open` says whether any block may have been unclaimed
/// last time (the leases are renewed while so, ended once nothing is left); `horizon` is the
/// seconds until the next look's blocks can reach a thief. A study that grew is balanced epoch
/// by epoch, each under its own layout. Returns what it did, a line each, and whether blocks
/// may be left (`None`: no stealing host seen).
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
    if stealers.is_empty() {
        // Nothing known yet (the runs are starting, or this is not a stealing study).
        return (Vec::new(), None);
    }
    let layouts: Vec<String> = relative_dirs(&r.study.plan)
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    let lease = if open { "open" } else { "close" };
    let hosts: Vec<Host> = stealers.iter().map(|s| s.host.clone()).collect();
    let looks: Vec<Looks> = each_host(&hosts, |h| {
        let mut words = vec![dir_of(h), r.out_rel.clone(), layouts[0].clone()];
        words.extend([h.machine.clone(), lease.to_owned()]);
        words.extend(layouts[1..].iter().cloned());
        let text = sessions.call(&r.ssh, h, "steal-look", &words, "").ok()?;
        let seen: Vec<StealLook> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .ok()?;
        (seen.len() == layouts.len()).then_some(seen)
    });
    let epochs = Epochs::of(&r.study.plan, layouts, &looks);
    // Hosts not reached, fenced, or of another mode or block size neither steal nor are
    // stolen from; a host steals and is stolen from in the epochs it has seen.
    let mut known: Vec<usize> = Vec::new();
    let mut views: Vec<HostView> = Vec::new();
    let mut unseen = stealers.len() < r.hosts.len();
    for (i, (s, look)) in stealers.iter().zip(&looks).enumerate() {
        let Some(look) = look.as_ref() else {
            unseen = true;
            continue;
        };
        if let Some(v) = view(s, look, &epochs, horizon) {
            known.push(i);
            views.push(v);
        }
    }
    let jobs = |a: At| epochs.blocks.jobs(a.unit, a.block).len() as u64;
    let handouts = hand_out(&views, jobs, horizon);
    let mut lines = steal(
        r,
        sessions,
        tally,
        &handouts,
        |v| &stealers[known[v]],
        &epochs,
    );
    let (rehanded, handed) = hand_again(r, sessions, tally, &stealers, &looks, &epochs, &mut lines);
    restart_ended(r, sessions, tally, (&stealers, &looks), &handed, &mut lines);
    // The leases end once every share is claimed whole and every block handed (a share not
    // seen counts as open).
    let left = unseen || rehanded || views.iter().any(|v| !v.unclaimed.is_empty());
    (lines, Some(left))
}

/// What the planner needs of one host, from its status and its looks (`None`: it steals no
/// epoch of the study with the study's blocks).
fn view(s: &Stealer, looks: &[StealLook], epochs: &Epochs, horizon: f64) -> Option<HostView> {
    // The epochs its run has seen are a prefix: a run records every epoch of its plan at once.
    let seen = (0..looks.len())
        .take_while(|&e| epochs.in_play(&looks[e], e))
        .count();
    if seen == 0 {
        return None;
    }
    let blocks = &epochs.blocks;
    let mut unclaimed: Vec<At> = Vec::new();
    for (e, look) in looks.iter().enumerate().take(seen) {
        let unit = epochs.unit(s.share, e);
        unclaimed.extend(
            (0..blocks.count(unit))
                .filter(|b| look.claimed.binary_search(b).is_err())
                .map(|block| At {
                    epoch: e,
                    unit,
                    block,
                }),
        );
    }
    let own_jobs: f64 = unclaimed
        .iter()
        .map(|a| blocks.jobs(a.unit, a.block).len() as f64)
        .sum();
    // What it ended by now: its status.json's count, carried on at its rate since.
    let held: u64 = looks.iter().take(seen).map(|l| l.held).sum();
    let done = looks[0].done as f64 + s.rate.unwrap_or(0.0) * looks[0].status_age_s.unwrap_or(0.0);
    let pending = (held as f64 - done).max(0.0);
    Some(HostView {
        share: s.share,
        // Its own share claimed whole, or its own work left ending before the next look's
        // blocks could reach it: handed blocks wait on its disk until its share is done.
        thief: s.live
            && (unclaimed.is_empty() || s.rate.is_some_and(|r| own_jobs + pending < r * horizon)),
        unclaimed,
        epochs: seen,
        rate: s.rate,
        threads: s.threads,
        pending,
    })
}
