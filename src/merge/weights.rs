//! Suggested weights: each machine's measured per-core speed turned into a weight on the scale of
//! the given ones, the warnings when a suggestion rests on too little, and `--write-machines`,
//! which writes them as a machines file without ever replacing one.

use std::io::Write as _;
use std::path::Path;

use super::discover::MachineDir;
use super::report::RowFigures;
use super::report::{MachineSummary, Summary};
use crate::error::{Error, Result};

/// Turns ok-row counts (in `jobs_per_core_s`) into per-core speeds and suggested weights.
///
/// Every share is a random sample of the jobs (the plan shuffles them), so ok jobs per busy
/// core-second estimate each machine's per-core speed without bias. Suggested weights are those
/// speeds rescaled to the same total as the given weights.
pub(crate) fn suggest_weights(machines: &mut [MachineSummary]) {
    for m in machines.iter_mut() {
        let ok = m.jobs_per_core_s;
        m.jobs_per_core_s = if m.busy_s > 0.0 { ok / m.busy_s } else { 0.0 };
    }
    // A stealing study's helpers (weight 0, not in the machines file) get no suggestion.
    let measured: Vec<&MachineSummary> = machines
        .iter()
        .filter(|m| m.jobs_per_core_s > 0.0 && m.weight > 0.0)
        .collect();
    let given: f64 = measured.iter().map(|m| m.weight).sum();
    let speed: f64 = measured.iter().map(|m| m.jobs_per_core_s).sum();
    if speed <= 0.0 {
        return;
    }
    for m in machines
        .iter_mut()
        .filter(|m| m.jobs_per_core_s > 0.0 && m.weight > 0.0)
    {
        m.suggested_weight = Some(round3(m.jobs_per_core_s / speed * given));
    }
}

/// Ok jobs below which a suggested weight is a rough estimate: the per-core speed of a random
/// sample of n jobs is uncertain by roughly 1/sqrt(n) of its spread, too much under 30.
const FEW_OK_JOBS: u64 = 30;

/// Warnings for `--write-machines`: each suggested weight that rests on fewer than
/// [`FEW_OK_JOBS`] ok jobs or on timed-out attempts, with the counts per machine.
pub(super) fn thin_weights(
    machines: &[MachineSummary],
    dirs: &[MachineDir],
    stats: &[RowFigures],
) -> Vec<String> {
    let mut warnings = Vec::new();
    for m in machines {
        let Some(weight) = m.suggested_weight else {
            continue;
        };
        let (ok, timeouts) = dirs
            .iter()
            .zip(stats)
            .filter(|(d, _)| d.manifest.machine == m.name)
            .fold((0, 0), |(ok, t), (_, st)| {
                (ok + st.by_status.ok, t + st.by_status.timeout)
            });
        let mut why = Vec::new();
        if ok < FEW_OK_JOBS {
            why.push(format!(
                "{ok} ok job{} (fewer than {FEW_OK_JOBS})",
                if ok == 1 { "" } else { "s" }
            ));
        }
        if timeouts > 0 {
            why.push(format!(
                "{timeouts} timed-out attempt{} (their time is the limit, not the speed)",
                if timeouts == 1 { "" } else { "s" }
            ));
        }
        if !why.is_empty() {
            warnings.push(format!(
                "--write-machines: the weight {weight} suggested for {} rests on {}: a rough estimate; merge more jobs before relying on it",
                crate::text::escape(&m.name),
                why.join(" and ")
            ));
        }
    }
    warnings
}

/// Rounds to 3 significant digits.
fn round3(x: f64) -> f64 {
    if x <= 0.0 {
        return x;
    }
    let scale = 10f64.powi(2 - x.log10().floor() as i32);
    (x * scale).round() / scale
}

pub(super) fn write_machines(path: &Path, summary: &Summary) -> Result<()> {
    let mut map = serde_json::Map::new();
    for m in summary.machines.iter().filter(|m| m.weight > 0.0) {
        let w = m.suggested_weight.unwrap_or(m.weight);
        map.insert(
            m.name.clone(),
            serde_json::json!({"weight": w, "cores": m.cores}),
        );
    }
    let mut text =
        serde_json::to_string_pretty(&serde_json::Value::Object(map)).expect("plain data");
    text.push('\n');
    if path.exists() {
        return Err(already_exists(path));
    }
    // Written whole beside the target, then linked into place: linking fails if the name was
    // taken meanwhile, so an existing file is never replaced and no half file is ever seen.
    let (mut file, tmp) = crate::output::create_temp(path).map_err(|e| Error::io(path, e))?;
    if let Err(e) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => already_exists(path),
        _ => Error::io(path, e),
    })?;
    crate::output::sync_dir(path);
    Ok(())
}

pub(super) fn already_exists(path: &Path) -> Error {
    Error::invalid(
        crate::ErrorKind::Usage,
        Some(path),
        None,
        "already exists: --write-machines never overwrites; name a new file",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(round3(1.23456), 1.23);
        assert_eq!(round3(0.0123456), 0.0123);
        assert_eq!(round3(123456.0), 123000.0);
    }
}
