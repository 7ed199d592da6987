//! watch's claims on the hosts' disks: the steals it arranged claimed on the owners' disks,
//! the won blocks handed over by the same claims on the thieves' disks, and failed hand-overs
//! made again.

use std::time::SystemTime;

use super::{dir_of, RemoteStudy, Stealer, Tally};
use crate::output::claim::ClaimRecord;
use crate::output::layout::MODE_REMOTE;
use crate::remote::session::Sessions;
use crate::remote::steal_serve::{ClaimAnswer, StealLook};
use crate::run::steal::blocks::Blocks;
use crate::run::steal::handout::Handout;

/// Claims the `handouts` on their owners' disks (one call per owner), then hands the won
/// blocks to their thieves (one call per thief); a line per owner and thief.
pub(super) fn steal<'s>(
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
            // Won, or held by the thief already (it stole the block by itself: --steal-mesh).
            Ok(a)
                if a.get(k).is_some_and(|a| {
                    a.won
                        || a.holder
                            .as_ref()
                            .is_some_and(|h| h.machine == thief.host.machine)
                }) =>
            {
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
pub(super) fn hand_again(
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
