//! watch's claims on the hosts' disks: the steals it arranged claimed on the owners' disks,
//! the won blocks handed over by the same claims on the thieves' disks, and failed hand-overs
//! made again.

use std::time::SystemTime;

use super::{dir_of, Epochs, Looks, RemoteStudy, Stealer, Tally};
use crate::output::claim::ClaimRecord;
use crate::remote::session::Sessions;
use crate::remote::steal_serve::ClaimAnswer;
use crate::run::steal::handout::Handout;

/// Claims the `handouts` on their owners' disks (one call per owner and epoch), then hands the
/// won blocks to their thieves (one call per thief and epoch); a line per owner and thief.
pub(super) fn steal<'s>(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    handouts: &[Handout],
    of: impl Fn(usize) -> &'s Stealer<'s>,
    epochs: &Epochs,
) -> Vec<String> {
    let record = |h: &Handout| claim_record(epochs, h.at.unit, h.at.block, of(h.thief));
    let mut owners: Vec<(usize, usize)> = handouts.iter().map(|h| (h.owner, h.at.epoch)).collect();
    owners.sort_unstable();
    owners.dedup();
    let mut lines = Vec::new();
    let mut won: Vec<(usize, usize, ClaimRecord)> = Vec::new();
    for (o, e) in owners {
        let asked: Vec<(usize, ClaimRecord)> = handouts
            .iter()
            .filter(|h| h.owner == o && h.at.epoch == e)
            .map(|h| (h.thief, record(h)))
            .collect();
        let records: Vec<&ClaimRecord> = asked.iter().map(|(_, c)| c).collect();
        match claim_on(r, sessions, tally, of(o), epochs, e, &records) {
            Ok(answers) => {
                for ((t, c), a) in asked.into_iter().zip(answers) {
                    if a.won {
                        won.push((t, e, c));
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
    let mut thieves: Vec<(usize, usize)> = won.iter().map(|(t, e, _)| (*t, *e)).collect();
    thieves.sort_unstable();
    thieves.dedup();
    for (t, e) in thieves {
        let mine: Vec<&ClaimRecord> = won
            .iter()
            .filter(|(x, y, _)| (*x, *y) == (t, e))
            .map(|(_, _, c)| c)
            .collect();
        lines.extend(hand_over(r, sessions, tally, of(t), epochs, e, &mine));
    }
    lines
}

/// Makes the claims `won` of epoch `e` on the owners' disks again on `thief`'s disk, in one
/// call: the hand-over. A line per owner of the blocks handed, and one per block lost.
fn hand_over(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    thief: &Stealer,
    epochs: &Epochs,
    e: usize,
    won: &[&ClaimRecord],
) -> Vec<String> {
    let answers = claim_on(r, sessions, tally, thief, epochs, e, won);
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
/// between); both reached this look, neither fenced, in each epoch both steal. Only the thief
/// the owner's claim names ever runs it, so nothing runs twice. Returns whether any was to be
/// handed, and the machines it was handed to.
pub(super) fn hand_again(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    stealers: &[Stealer],
    looks: &[Looks],
    epochs: &Epochs,
    lines: &mut Vec<String>,
) -> (bool, Vec<String>) {
    // A fenced owner's unfinished blocks are the rescue's; a fenced thief runs nothing more.
    let reached = |i: usize, e: usize| {
        looks[i]
            .as_ref()
            .map(|l| &l[e])
            .filter(|l| epochs.in_play(l, e))
    };
    let mut any = false;
    let mut handed = Vec::new();
    for (i, owner) in stealers.iter().enumerate() {
        for e in 0..epochs.layouts.len() {
            let Some(look) = reached(i, e) else { continue };
            for (b, t) in &look.stolen {
                let Some(ti) = stealers.iter().position(|s| &s.host.machine == t) else {
                    continue;
                };
                let Some(tl) = reached(ti, e) else {
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
                let unit = epochs.unit(owner.share, e);
                let record = claim_record(epochs, unit, *b, thief);
                let (line, won) = hand_one_again(r, sessions, tally, thief, epochs, e, &record);
                lines.push(line);
                if won {
                    handed.push(thief.host.machine.clone());
                }
            }
        }
    }
    (any, handed)
}

/// Starts again, once per watch, the run of each host whose run finished by itself while its
/// disk holds blocks handed to it that it has not run (`handed` this look, or before it and
/// not run: handed as its run ended): only it may run them (the owner's claim names it), so
/// it runs them now instead of at a relaunch. The run started is the one `launch` last started
/// there.
pub(super) fn restart_ended(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    (stealers, looks): (&[Stealer], &[Looks]),
    handed: &[String],
    lines: &mut Vec<String>,
) {
    for (s, look) in stealers.iter().zip(looks) {
        let Some(look) = look.as_ref().filter(|l| !l[0].fenced) else {
            continue;
        };
        let machine = &s.host.machine;
        let just = handed.iter().filter(|m| *m == machine).count();
        let held: u64 = look.iter().map(|l| l.held).sum();
        let unrun = held.saturating_sub(look[0].done);
        if !s.finished || (unrun == 0 && just == 0) || tally.restarted.contains(machine) {
            continue;
        }
        tally.restarted.push(machine.clone());
        let words = [dir_of(s.host), r.out_rel.clone(), machine.clone()];
        let who = crate::text::escape(machine);
        let unrun = match just {
            0 => format!("{unrun} handed jobs not run"),
            n => format!("{n} block{} handed again", if n == 1 { "" } else { "s" }),
        };
        lines.push(match sessions.call(&r.ssh, s.host, "restart", &words, "") {
            Ok(_) => format!("{who}: its run had ended, with {unrun}: started again to run them"),
            Err(e) => format!(
                "{who}: its run had ended, with {unrun}, and was not started again ({}): launch it again",
                crate::text::escape(&e.to_string())
            ),
        });
    }
}

/// Hands `record` of epoch `e` over to `thief` again; what happened, in a line, and whether it
/// was handed.
fn hand_one_again(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    thief: &Stealer,
    epochs: &Epochs,
    e: usize,
    record: &ClaimRecord,
) -> (String, bool) {
    let what = format!(
        "block {} of {} to {}",
        record.block,
        crate::text::escape(&record.owner),
        crate::text::escape(&record.machine)
    );
    match claim_on(r, sessions, tally, thief, epochs, e, &[record]).as_deref() {
        Ok([ClaimAnswer { won: true, .. }]) => (
            format!("handed {what} again (its hand-over had failed)"),
            true,
        ),
        Ok(_) => (
            format!("handed {what} again: its disk holds another claim of it"),
            false,
        ),
        Err(err) => (
            format!("could not hand {what} again ({err}): next look"),
            false,
        ),
    }
}

/// The claim of block `b` of unit `u` for `thief`.
fn claim_record(epochs: &Epochs, u: usize, b: u64, thief: &Stealer) -> ClaimRecord {
    ClaimRecord {
        owner: epochs.blocks.owner(u).to_owned(),
        block: b,
        machine: thief.host.machine.clone(),
        host: thief.hostname.clone(),
        pid: 0,
        run: thief.run.clone(),
        at: crate::output::rfc3339(SystemTime::now()),
        jobs: epochs.blocks.jobs(u, b).to_vec(),
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

/// Makes the claims `records` of epoch `e` on `host`'s disk in one call; an answer per record,
/// in order.
fn claim_on(
    r: &RemoteStudy,
    sessions: &Sessions,
    tally: &mut Tally,
    host: &Stealer,
    epochs: &Epochs,
    e: usize,
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
        epochs.layouts[e].clone(),
        epochs.sizes[e].to_string(),
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
