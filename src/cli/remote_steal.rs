//! `jobsplit watch` arranging steals for hosts launched with `-- --steal-remote` (docs/remote.md):
//! each look, through one long-lived session per host (`remote-serve session`), it renews
//! every host's lease, reads what each host has claimed and holds, and hands each host with
//! its own share claimed whole enough blocks to last until the next look (`handout::hand_out`:
//! the tails of the shares that will finish last). It claims them **on the owners' disks** for
//! the thieves (one call per owner, several blocks in it), then hands the won ones over by the
//! same claims on the thieves' disks (one call per thief). Correctness never depends on it: the
//! owner's disk decides every block, and when watch goes away the leases lapse and every host
//! finishes what it holds.

use crate::output::layout::MODE_REMOTE;
use crate::remote::host_run::HostStatus;
use crate::remote::session::Sessions;
use crate::remote::steal_serve::StealLook;
use crate::remote::Host;
use crate::run::steal::blocks::Blocks;
use crate::run::steal::handout::{hand_out, HostView};

use super::remote_study::{each_host, RemoteStudy};

#[path = "remote_steal_claims.rs"]
mod claims;
use claims::{hand_again, steal};

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
