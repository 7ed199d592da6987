//! `jobsplit watch` arranging steals for hosts launched with `-- --steal-remote` (docs/remote.md):
//! each look, it renews every host's lease, matches each host with no work left (its own share
//! claimed, a worker free) with the share that will finish last (`victim::choose`, as a thief
//! on a shared OUT chooses), claims the tail block **on the owner's disk** for the thief, then
//! hands it over by the same claim on the thief's disk. Correctness never depends on it: the
//! owner's disk decides every block, and when watch goes away the leases lapse and every host
//! finishes what it holds.

use std::time::SystemTime;

use crate::output::claim::ClaimRecord;
use crate::output::layout::MODE_REMOTE;
use crate::remote::host_run::HostStatus;
use crate::remote::quote::{join, quote};
use crate::remote::steal_serve::{ClaimAnswer, StealLook};
use crate::remote::Host;
use crate::run::steal::blocks::Blocks;
use crate::run::steal::victim::{choose, Choice, ShareView};

use super::remote_study::{each_host, RemoteStudy};

/// What watch knows of one stealing host this look.
struct Stealer<'h> {
    host: &'h Host,
    share: usize,
    layout: String,
    block: u64,
    run: String,
    hostname: String,
    threads: u64,
    /// Workers with nothing to do while its own share is claimed whole.
    idle: u64,
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
        let stealing = st
            .and_then(|v| text(v, &["steal", "stealing"]))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let busy = st
            .and_then(|v| text(v, &["running"]))
            .and_then(|v| v.as_array())
            .map_or(0, |a| a.len() as u64);
        let live = s.running && running_state;
        Some(Stealer {
            host,
            share: r.study.plan.machine_index(&host.machine)?,
            layout: balance.get("layout")?.as_str()?.to_owned(),
            block: balance.get("block")?.as_u64()?,
            run: balance.get("run")?.as_str()?.to_owned(),
            hostname: m.get("hostname")?.as_str()?.to_owned(),
            threads,
            idle: if live && stealing {
                threads.saturating_sub(busy)
            } else {
                0
            },
            rate: st
                .and_then(|v| text(v, &["rate_per_s"]))
                .and_then(|v| v.as_f64())
                .filter(|&r| live && r > 0.0),
        })
    }
}

/// One `remote-serve` operation on `host`, with `input` on its stdin; its stdout.
fn serve(r: &RemoteStudy, host: &Host, words: &[String], input: &[u8]) -> Result<Vec<u8>, String> {
    let script = format!(
        "B={}/{}/jobsplit-$(uname -m) && exec \"$B\" remote-serve {}",
        host.dir_word(),
        quote(crate::remote::serve::STATE_DIR),
        join(words)
    );
    r.ssh
        .run(&host.dest, &script, input, |rd| {
            let mut v = Vec::new();
            rd.read_to_end(&mut v)?;
            Ok(v)
        })
        .map_err(|e| e.to_string())
}

fn dir_of(h: &Host) -> String {
    h.dir.strip_prefix("~/").unwrap_or(&h.dir).to_owned()
}

/// Arranges this look's steals among `statuses` (one per host of `r`, `None` where the host
/// was not reached); `open` says whether any block may have been unclaimed last time (the leases
/// are renewed while so, ended once nothing is left). Returns what it did, a line each, and
/// whether blocks may be left.
pub(super) fn arrange(
    r: &RemoteStudy,
    statuses: &[Option<HostStatus>],
    open: bool,
) -> (Vec<String>, bool) {
    let stealers: Vec<Stealer> = r
        .hosts
        .iter()
        .zip(statuses)
        .filter_map(|(h, s)| Stealer::of(r, h, s.as_ref()?))
        .collect();
    let Some(first) = stealers.first() else {
        // Nothing known yet (the runs are starting, or this is not a stealing study).
        return (Vec::new(), true);
    };
    let block = first.block;
    let lease = if open { "open" } else { "close" };
    let looks: Vec<Option<StealLook>> = each_host(
        &stealers.iter().map(|s| s.host.clone()).collect::<Vec<_>>(),
        |h| {
            let s = stealers.iter().find(|s| s.host.machine == h.machine)?;
            let words = [
                "steal-look",
                &dir_of(h),
                &r.out_rel,
                &s.layout,
                &h.machine,
                lease,
            ]
            .map(str::to_owned);
            let bytes = serve(r, h, &words, &[]).ok()?;
            serde_json::from_slice::<StealLook>(&bytes).ok()
        },
    );
    let blocks = Blocks::new(&r.study.plan, block);
    let mut views: Vec<ShareView> = (0..blocks.shares())
        .map(|_| ShareView {
            unclaimed: Vec::new(),
            tail_jobs: 0,
            rate: None,
            threads: 1,
        })
        .collect();
    let mut remote = vec![false; stealers.len()];
    for (i, (s, look)) in stealers.iter().zip(&looks).enumerate() {
        // A host not reached, fenced, or of another mode or block size is never stolen from.
        let Some(look) = look.as_ref().filter(|l| l.mode == MODE_REMOTE && !l.fenced) else {
            continue;
        };
        if s.block != block {
            continue;
        }
        remote[i] = true;
        let v = &mut views[s.share];
        v.unclaimed = (0..blocks.count(s.share))
            .filter(|b| look.claimed.binary_search(b).is_err())
            .collect();
        v.tail_jobs = v
            .unclaimed
            .last()
            .map_or(0, |&b| blocks.jobs(s.share, b).len() as u64);
        v.rate = s.rate;
        v.threads = s.threads;
    }
    let mut lines = Vec::new();
    for (i, thief) in stealers.iter().enumerate() {
        for _ in 0..thief.idle.min(u64::from(remote[i])) {
            let mut others = views.clone();
            others[thief.share].unclaimed.clear();
            let Choice::Steal(j, b) = choose(&others, block, thief.rate, thief.threads) else {
                break;
            };
            views[j].unclaimed.retain(|&x| x != b);
            let Some(owner) = stealers.iter().find(|s| s.share == j) else {
                continue;
            };
            lines.push(steal(r, owner, thief, &blocks, j, b));
        }
    }
    let rehanded = hand_again(r, &stealers, &looks, &blocks, &mut lines);
    // The leases end once every share is claimed whole and every block handed (a share not
    // seen counts as open).
    let seen = stealers.len() == r.hosts.len() && looks.iter().all(Option::is_some);
    let left = !seen || rehanded || views.iter().any(|v| !v.unclaimed.is_empty());
    (lines, left)
}

/// Hands over again every block claimed on its owner's disk for a thief whose own disk does
/// not hold it (the hand-over failed: the thief crashed or was cut off, or watch was killed in
/// between); both reached this look, neither fenced. Only the thief the owner's claim
/// names ever runs it, so nothing runs twice. Returns whether any was handed.
fn hand_again(
    r: &RemoteStudy,
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
            let record = record(blocks, owner.share, *b, thief);
            let what = format!(
                "block {b} of {} to {}",
                crate::text::escape(&record.owner),
                crate::text::escape(&record.machine)
            );
            lines.push(match claim_on(r, thief, blocks, &record) {
                Ok(ClaimAnswer { won: true, .. }) => {
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
fn record(blocks: &Blocks, j: usize, b: u64, thief: &Stealer) -> ClaimRecord {
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

/// Makes `record` on `h`'s disk (`remote-serve steal-claim`).
fn claim_on(
    r: &RemoteStudy,
    h: &Stealer,
    blocks: &Blocks,
    record: &ClaimRecord,
) -> Result<ClaimAnswer, String> {
    let mut input = serde_json::to_vec(record).expect("serializing plain data");
    input.push(b'\n');
    let words = [
        "steal-claim".to_owned(),
        dir_of(h.host),
        r.out_rel.clone(),
        h.layout.clone(),
        blocks.size().to_string(),
    ];
    let bytes = serve(r, h.host, &words, &input)?;
    serde_json::from_slice(&bytes).map_err(|e| format!("a bad answer: {e}"))
}

/// Claims block `b` of share `j` on `owner`'s disk for `thief`, then hands it to `thief`.
fn steal(
    r: &RemoteStudy,
    owner: &Stealer,
    thief: &Stealer,
    blocks: &Blocks,
    j: usize,
    b: u64,
) -> String {
    let record = record(blocks, j, b, thief);
    let claim_on = |h: &Stealer| claim_on(r, h, blocks, &record);
    let what = format!(
        "block {b} of {} for {}",
        crate::text::escape(&record.owner),
        crate::text::escape(&record.machine)
    );
    match claim_on(owner) {
        Ok(ClaimAnswer { won: true, .. }) => match claim_on(thief) {
            Ok(ClaimAnswer { won: true, .. }) => format!("stole {what}"),
            Ok(_) => format!("stole {what}, but its disk holds another claim of it: lost"),
            Err(e) => format!("stole {what}, but could not hand it over ({e}): lost"),
        },
        Ok(ClaimAnswer { holder, .. }) => format!(
            "{what}: taken already by {}",
            holder.map_or_else(
                || "someone".to_owned(),
                |h| crate::text::escape(&h.machine).into_owned()
            )
        ),
        Err(e) => format!("{what}: no claim ({e})"),
    }
}
