//! One shard of a study: `I/N`, the 0-based index `I` of `N` equal parts.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// The most shards a study may be split into: each is a machine of the plan, and a plan of more
/// shards than this would cost more memory than it is worth (Kubernetes caps an Indexed Job at
/// 100,000 completions; Slurm arrays are usually far smaller).
pub(crate) const MAX_SHARDS: u64 = 1_000_000;

/// One of `count` equal parts of a study, numbered from 0.
///
/// On an engine (a Slurm job array, a Kubernetes Indexed Job, or any scheduler through
/// `--shard I/N`) the plan is made for `count` equal machines named by
/// `shard_machine_name` (`shard-0` .. `shard-{N-1}`, weight 1, cores 1), so every task
/// computes the same plan digest wherever it lands; the task with index `I` runs the share of
/// machine `shard-I` and writes to `OUT/shard-I/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// The 0-based index of this shard, below `count`.
    pub index: u64,
    /// How many shards the study is split into, at least 1.
    pub count: u64,
}

impl Shard {
    /// The shard `index` of `count`.
    ///
    /// # Errors
    ///
    /// A usage error when `count` is 0 or above [`MAX_SHARDS`], or `index >= count`.
    pub fn new(index: u64, count: u64) -> Result<Shard> {
        check(index, count).map_err(|why| Error::usage(format!("shard {index}/{count}: {why}")))?;
        Ok(Shard { index, count })
    }

    /// The name of the machine this shard runs as in the plan: `shard-{index}`.
    #[must_use]
    pub fn machine_name(&self) -> String {
        shard_machine_name(self.index)
    }
}

/// The name of shard `index`'s machine in the plan of a sharded study: `shard-{index}`.
///
/// The plan for `N` shards is `N` equal machines (weight 1, cores 1) named `shard-0` ..
/// `shard-{N-1}`; the shard writes its output to `OUT/shard-{index}/`.
#[must_use]
pub(crate) fn shard_machine_name(index: u64) -> String {
    format!("shard-{index}")
}

/// Why `index/count` is not a shard, or `Ok` when it is one.
pub(crate) fn check(index: u64, count: u64) -> std::result::Result<(), String> {
    if count == 0 {
        return Err("the count must be at least 1".to_owned());
    }
    if count > MAX_SHARDS {
        return Err(format!("the count must be at most {MAX_SHARDS}"));
    }
    if index >= count {
        return Err(format!(
            "the index must be below the count (0..={}); shards are numbered from 0",
            count - 1
        ));
    }
    Ok(())
}

impl FromStr for Shard {
    type Err = Error;

    /// Parses `I/N` as given to `--shard`: two whole numbers, `I` below `N`.
    fn from_str(s: &str) -> Result<Shard> {
        let fail = |why: String| Error::usage(format!("--shard {s}: {why}"));
        let Some((index, count)) = s.split_once('/') else {
            return Err(fail(
                "expected I/N, the 0-based shard index and the shard count, e.g. 0/4".to_owned(),
            ));
        };
        let number = |what: &str, text: &str| {
            let text = text.trim();
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(n) = text.parse::<u64>() {
                    return Ok(n);
                }
            }
            Err(fail(format!(
                "the {what} '{text}' is not a whole number (expected I/N, e.g. 0/4)"
            )))
        };
        let index = number("index", index)?;
        let count = number("count", count)?;
        check(index, count).map_err(fail)?;
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    /// Writes `I/N`, the form [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_shards() {
        for (text, index, count) in [
            ("0/1", 0, 1),
            ("0/4", 0, 4),
            ("3/4", 3, 4),
            (" 2 / 5 ", 2, 5),
            ("007/8", 7, 8),
        ] {
            let shard: Shard = text.parse().unwrap();
            assert_eq!(shard, Shard { index, count }, "{text}");
        }
    }

    #[test]
    fn refuses_invalid_shards_with_a_clear_message() {
        for (text, message) in [
            (
                "4/4",
                "--shard 4/4: the index must be below the count (0..=3); shards are numbered from 0",
            ),
            ("0/0", "--shard 0/0: the count must be at least 1"),
            (
                "3",
                "--shard 3: expected I/N, the 0-based shard index and the shard count, e.g. 0/4",
            ),
            (
                "a/4",
                "--shard a/4: the index 'a' is not a whole number (expected I/N, e.g. 0/4)",
            ),
            (
                "1/",
                "--shard 1/: the count '' is not a whole number (expected I/N, e.g. 0/4)",
            ),
            (
                "-1/4",
                "--shard -1/4: the index '-1' is not a whole number (expected I/N, e.g. 0/4)",
            ),
            (
                "1/+4",
                "--shard 1/+4: the count '+4' is not a whole number (expected I/N, e.g. 0/4)",
            ),
            (
                "1/2/3",
                "--shard 1/2/3: the count '2/3' is not a whole number (expected I/N, e.g. 0/4)",
            ),
            (
                "0/1000001",
                "--shard 0/1000001: the count must be at most 1000000",
            ),
            (
                "1/99999999999999999999",
                "--shard 1/99999999999999999999: the count '99999999999999999999' is not a whole number (expected I/N, e.g. 0/4)",
            ),
        ] {
            let err = text.parse::<Shard>().unwrap_err();
            assert_eq!(err.to_string(), message, "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for count in 1..20 {
            for index in 0..count {
                let shard = Shard::new(index, count).unwrap();
                assert_eq!(shard.to_string().parse::<Shard>().unwrap(), shard);
            }
        }
    }

    #[test]
    fn new_checks_the_range() {
        assert_eq!(
            Shard::new(5, 5).unwrap_err().to_string(),
            "shard 5/5: the index must be below the count (0..=4); shards are numbered from 0"
        );
        assert!(Shard::new(0, 0).is_err());
        assert_eq!(Shard::new(1, 2).unwrap().machine_name(), "shard-1");
    }
}
