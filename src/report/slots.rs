//! Slots of the timeline. results.csv records each attempt's start and duration per machine,
//! not the slot (worker) that ran it, so slots are assigned by interval packing: per machine,
//! attempts in start order each take the lowest-numbered slot free at their start. On a
//! machine running N jobs at once this gives at most N slots (more only if clocks overlap
//! rows that did not overlap in fact).

/// Each row's slot on its machine; `m`, `t` (start), `d` (duration) are column-wise rows.
pub(crate) fn pack(m: &[u32], t: &[f64], d: &[f64]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..m.len()).collect();
    order.sort_by(|&a, &b| m[a].cmp(&m[b]).then(t[a].total_cmp(&t[b])));
    let mut slot = vec![0u32; m.len()];
    // Per slot of the current machine, when it is free again.
    let mut free_at: Vec<f64> = Vec::new();
    let mut machine = None;
    for r in order {
        if machine != Some(m[r]) {
            machine = Some(m[r]);
            free_at.clear();
        }
        // A millisecond of slack: starts and durations are rounded to it.
        let s = match free_at.iter().position(|&f| f <= t[r] + 0.001) {
            Some(s) => s,
            None => {
                free_at.push(0.0);
                free_at.len() - 1
            }
        };
        free_at[s] = t[r] + d[r];
        slot[r] = s as u32;
    }
    slot
}

#[cfg(test)]
mod tests {
    use super::pack;

    #[test]
    fn overlapping_jobs_take_separate_slots_and_free_ones_are_reused() {
        // Machine 0: [0,2) [1,3) [2,4) -> slots 0 1 0; machine 1 starts again at slot 0.
        let m = [0, 0, 0, 1];
        let t = [0.0, 1.0, 2.0, 0.5];
        let d = [2.0, 2.0, 2.0, 1.0];
        assert_eq!(pack(&m, &t, &d), [0, 1, 0, 0]);
    }
}
