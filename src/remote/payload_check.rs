//! Which payload each machine's run was shipped with (manifest.json `payload`), so that
//! `status` shows it and `merge` says loudly when machines ran with different files.

use std::path::{Path, PathBuf};

use crate::output::manifest::Manifest;

/// Each machine directory's manifest found at or just below `dirs`: (machine, payload,
/// started_at), for runs started by `jobsplit launch` (others have no payload).
pub(crate) fn payloads(dirs: &[PathBuf]) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut look = |dir: &Path| {
        if let Ok(m) = Manifest::read(dir) {
            if let Some(p) = m.payload {
                found.push((m.machine, p, m.started_at));
            }
        }
    };
    for dir in dirs {
        if dir.join(Manifest::FILE).is_file() {
            look(dir);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        subdirs.sort();
        for sub in subdirs {
            look(&sub);
        }
    }
    found
}

/// A warning when the machines' runs used more than one payload: the payload most machines
/// used, and each machine (with its run's start) that used another.
pub(crate) fn payload_warning(dirs: &[PathBuf]) -> Option<String> {
    let found = payloads(dirs);
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (_, p, _) in &found {
        match counts.iter_mut().find(|(q, _)| q == p) {
            Some((_, n)) => *n += 1,
            None => counts.push((p, 1)),
        }
    }
    if counts.len() < 2 {
        return None;
    }
    let main = counts.iter().max_by_key(|(_, n)| *n).map(|(p, _)| *p)?;
    let others: Vec<String> = found
        .iter()
        .filter(|(_, p, _)| p != main)
        .map(|(m, p, at)| {
            format!(
                "{m} (run started {at}) used payload {}",
                crate::text::short(p)
            )
        })
        .collect();
    Some(format!(
        "MACHINES RAN WITH DIFFERENT FILES: most used payload {}, but {}: their results may come from another version of the study's files; `jobsplit launch --fresh --machine M` reruns them with the current one",
        crate::text::short(main),
        others.join("; ")
    ))
}
