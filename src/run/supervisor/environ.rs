//! The environment of the processes a run starts, built once: this process's own with the run's
//! variables set, as `NAME=VALUE` C strings; each process adds its few own on top.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::sys::{env_entry, env_entry_cstring as entry};

/// An environment built once.
pub(crate) struct Environ {
    /// Each entry with the length of its name.
    entries: Vec<(usize, CString)>,
    /// The indices of the entries named `JOBSPLIT_*`: the only ones a process's own variables
    /// may replace, so the only ones compared (the build is on every job's path).
    ours: Vec<usize>,
}

impl Environ {
    /// This process's environment with `set` set (replacing variables of the same names).
    pub(crate) fn inherit(set: &[(String, OsString)]) -> Environ {
        let mut entries: Vec<(usize, CString)> = std::env::vars_os()
            .filter(|(name, _)| !set.iter().any(|(n, _)| OsStr::new(n) == name))
            .map(|(name, value)| (name.len(), entry(name.as_bytes(), value.as_bytes())))
            .collect();
        entries.extend(
            set.iter()
                .map(|(name, value)| (name.len(), entry(name.as_bytes(), value.as_bytes()))),
        );
        let ours = (0..entries.len())
            .filter(|&i| entries[i].1.as_bytes().starts_with(PREFIX.as_bytes()))
            .collect();
        Environ { entries, ours }
    }

    /// The entries with `vars` (each named `JOBSPLIT_*`) on top, replacing those of the same
    /// names.
    pub(crate) fn with<'s>(&'s self, vars: &'s Vars) -> Vec<&'s CStr> {
        debug_assert!(vars.names().all(|n| n.starts_with(PREFIX.as_bytes())));
        let name = |i: usize| {
            let (len, entry) = &self.entries[i];
            &entry.as_bytes()[..*len]
        };
        let replaced = |i: &usize| vars.names().any(|n| n == name(*i));
        let mut envp: Vec<&CStr> = Vec::with_capacity(self.entries.len() + vars.ends.len());
        envp.extend(self.entries.iter().map(|(_, e)| e.as_c_str()));
        // Taken out from the back, so the indices before stay right.
        for &i in self.ours.iter().rev().filter(|i| replaced(i)) {
            envp.remove(i);
        }
        envp.extend(vars.entries());
        envp
    }
}

/// The prefix of every variable jobsplit sets.
const PREFIX: &str = "JOBSPLIT_";

/// A process's own variables for [`Environ::with`], each `NAME=VALUE` and its NUL in one
/// buffer (a job's eight cost two allocations, not one per variable and per number).
#[derive(Debug, Default)]
pub(crate) struct Vars {
    bytes: Vec<u8>,
    /// Per variable: the length of its name and where its entry ends (after its NUL).
    ends: Vec<(usize, usize)>,
}

impl Vars {
    /// Room for `n` variables of about `bytes` bytes in all.
    pub(crate) fn with_capacity(n: usize, bytes: usize) -> Vars {
        Vars {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(n),
        }
    }

    /// Adds `name=value` (a NUL in either cuts the entry there, as a C string ends).
    pub(crate) fn push(&mut self, name: &str, value: impl AsRef<OsStr>) {
        self.push_bytes(name, value.as_ref().as_bytes());
    }

    /// Adds `name=value` for a number.
    pub(crate) fn push_number(&mut self, name: &str, value: impl itoa::Integer) {
        self.push_bytes(name, itoa::Buffer::new().format(value).as_bytes());
    }

    /// Adds `name=value` (see [`Vars::push`]).
    pub(crate) fn push_bytes(&mut self, name: &str, value: &[u8]) {
        let start = self.bytes.len();
        env_entry(&mut self.bytes, name.as_bytes(), value);
        self.ends.push((name.len(), self.bytes.len()));
        debug_assert!(self.bytes[start..].ends_with(&[0]));
    }

    fn starts(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(name, end)| {
            let at = start;
            start = end;
            (at, name, end)
        })
    }

    /// The names, as bytes (a name cut by a NUL as its entry is).
    fn names(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.starts().map(|(at, name, end)| {
            let entry = &self.bytes[at..end - 1];
            &entry[..name.min(entry.len())]
        })
    }

    /// The entries, as C strings.
    fn entries(&self) -> impl Iterator<Item = &CStr> + '_ {
        self.starts().map(|(at, _, end)| {
            CStr::from_bytes_until_nul(&self.bytes[at..end]).expect("each entry ends in a NUL")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_on_top_replace_those_below() {
        let env = Environ::inherit(&[
            ("JOBSPLIT_T_A".to_owned(), "1".into()),
            ("JOBSPLIT_T_B".to_owned(), "2".into()),
        ]);
        let mut vars = Vars::default();
        vars.push("JOBSPLIT_T_B", "3");
        vars.push("JOBSPLIT_T_C", "x\0y");
        vars.push_number("JOBSPLIT_T_D", 18_446_744_073_709_551_615u64);
        let envp: Vec<&str> = env
            .with(&vars)
            .iter()
            .filter_map(|e| e.to_str().ok())
            .filter(|e| e.starts_with("JOBSPLIT_T_"))
            .collect();
        assert_eq!(
            envp,
            [
                "JOBSPLIT_T_A=1",
                "JOBSPLIT_T_B=3",
                "JOBSPLIT_T_C=x",
                "JOBSPLIT_T_D=18446744073709551615"
            ]
        );
    }
}
