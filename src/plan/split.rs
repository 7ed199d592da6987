//! Step 5 of split-v1: cut the shuffled list into contiguous shares proportional to
//! weight_micro x cores, in exact 128-bit integer arithmetic.

use crate::error::{Error, Result};

/// Share boundaries: machine j gets positions `bounds[j]..bounds[j + 1]` of a list of `len`
/// entries, where `bounds[j] = floor(len * C_j / T)`, `C_j` the sum of the capacities before j.
///
/// # Errors
/// If the 128-bit products overflow (weights, cores or the list far beyond any real study).
pub(super) fn bounds(capacities: &[u128], len: u64) -> Result<Vec<u64>> {
    let overflow = || Error::usage("the plan is too large for 128-bit share arithmetic");
    let total = capacities
        .iter()
        .try_fold(0u128, |acc, &c| acc.checked_add(c))
        .ok_or_else(overflow)?;
    debug_assert!(total > 0);
    let mut out = Vec::with_capacity(capacities.len() + 1);
    let mut before = 0u128;
    out.push(0);
    for &c in capacities {
        before += c;
        let scaled = u128::from(len).checked_mul(before).ok_or_else(overflow)?;
        out.push((scaled / total) as u64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_cuts() {
        assert_eq!(bounds(&[1, 1], 10).unwrap(), vec![0, 5, 10]);
        assert_eq!(bounds(&[1, 2, 4], 7).unwrap(), vec![0, 1, 3, 7]);
        assert_eq!(bounds(&[3, 1], 0).unwrap(), vec![0, 0, 0]);
        assert_eq!(bounds(&[1, 1, 1], 10).unwrap(), vec![0, 3, 6, 10]);
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(bounds(&[u128::MAX, 1], 1).is_err());
        assert!(bounds(&[u128::MAX / 2], u64::MAX).is_err());
    }
}
